import type { PayloadOf } from '../../../kernel/catalog.js';
import type { EventEnvelope } from '../../../kernel/envelope.js';
import type { HandlerContext } from '../../../platform/delivery/consumer.js';
import type { OrdersTables } from '../storage/tables.js';
import { handleOrderEvent, type SagaObserver } from './apply-flow.js';

/** Every line is reserved: PENDING → CONFIRMED, OrderConfirmed (payments charges it). After a cancel, the saga records the late reservation and waits for its release. */
export async function onInventoryReserved(event: EventEnvelope<PayloadOf<'InventoryReserved'>>, ctx: HandlerContext<OrdersTables>, observe?: SagaObserver): Promise<void> {
  await handleOrderEvent(event, ctx, event.payload.orderId, { type: 'ConfirmReservation' }, observe);
}
