import type { PayloadOf } from '../../../kernel/catalog.js';
import type { EventEnvelope } from '../../../kernel/envelope.js';
import type { HandlerContext } from '../../../platform/delivery/consumer.js';
import type { OrdersTables } from '../storage/tables.js';
import { handleOrderEvent, type SagaObserver } from './apply-flow.js';

/** Stock was short: PENDING → REJECTED, OrderRejected; the saga FAILED with nothing to undo. */
export async function onInventoryReservationFailed(event: EventEnvelope<PayloadOf<'InventoryReservationFailed'>>, ctx: HandlerContext<OrdersTables>, observe?: SagaObserver): Promise<void> {
  await handleOrderEvent(event, ctx, event.payload.orderId, { type: 'RejectReservation', reason: event.payload.reason }, observe);
}
