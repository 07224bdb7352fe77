import type { PayloadOf } from '../../../kernel/catalog.js';
import type { EventEnvelope } from '../../../kernel/envelope.js';
import type { HandlerContext } from '../../../platform/delivery/consumer.js';
import type { OrdersTables } from '../storage/tables.js';
import { handleOrderEvent, type SagaObserver } from './apply-flow.js';

/**
 * Every line is reserved: PENDING → CONFIRMED, OrderConfirmed (payments charges it); an order that
 * waited for stock gets a full saga deadline from now (`sagaTimeoutMs`). After a cancel, the saga
 * records the late reservation and waits for its release.
 */
export async function onInventoryReserved(event: EventEnvelope<PayloadOf<'InventoryReserved'>>, ctx: HandlerContext<OrdersTables>, observe?: SagaObserver, sagaTimeoutMs?: number): Promise<void> {
  const restart = sagaTimeoutMs === undefined ? {} : { restartDeadline: ctx.now + sagaTimeoutMs };
  await handleOrderEvent(event, ctx, event.payload.orderId, { type: 'ConfirmReservation', ...restart }, observe);
}
