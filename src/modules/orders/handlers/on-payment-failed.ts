import type { PayloadOf } from '../../../kernel/catalog.js';
import type { EventEnvelope } from '../../../kernel/envelope.js';
import type { HandlerContext } from '../../../platform/delivery/consumer.js';
import type { OrdersTables } from '../storage/tables.js';
import { handleOrderEvent, type SagaObserver } from './apply-flow.js';

/** The charge failed: CONFIRMED → PAYMENT_FAILED, OrderPaymentFailed (inventory releases the stock); saga COMPENSATING. */
export async function onPaymentFailed(event: EventEnvelope<PayloadOf<'PaymentFailed'>>, ctx: HandlerContext<OrdersTables>, observe?: SagaObserver): Promise<void> {
  await handleOrderEvent(event, ctx, event.payload.orderId, { type: 'FailPayment', reason: event.payload.reason }, observe);
}
