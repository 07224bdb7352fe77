import type { PayloadOf } from '../../../kernel/catalog.js';
import type { EventEnvelope } from '../../../kernel/envelope.js';
import type { IdGenerator } from '../../../kernel/ids.js';
import type { HandlerContext } from '../../../platform/delivery/consumer.js';
import type { InventoryTables } from '../storage/tables.js';
import { releaseReservation } from './release-reservation.js';

/**
 * OrderRejected → an order held for review that no admin approved in time gives back what it
 * held (InventoryReleased). An order refused at placement holds nothing: its failed reservation
 * ignores the event.
 */
export function releaseOnOrderRejected(ids: IdGenerator) {
  return (event: EventEnvelope<PayloadOf<'OrderRejected'>>, ctx: HandlerContext<InventoryTables>): Promise<void> =>
    releaseReservation(ctx, ids, event.payload.orderId, `order rejected: ${event.payload.reason}`);
}
