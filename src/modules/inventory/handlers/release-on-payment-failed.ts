import type { PayloadOf } from '../../../kernel/catalog.js';
import type { EventEnvelope } from '../../../kernel/envelope.js';
import type { IdGenerator } from '../../../kernel/ids.js';
import type { HandlerContext } from '../../../platform/delivery/consumer.js';
import type { InventoryTables } from '../storage/tables.js';
import { releaseReservation } from './release-reservation.js';

/** OrderPaymentFailed → the order's held stock is released → InventoryReleased. */
export function releaseOnPaymentFailed(ids: IdGenerator) {
  return (event: EventEnvelope<PayloadOf<'OrderPaymentFailed'>>, ctx: HandlerContext<InventoryTables>): Promise<void> =>
    releaseReservation(ctx, ids, event.payload.orderId, 'payment failed');
}
