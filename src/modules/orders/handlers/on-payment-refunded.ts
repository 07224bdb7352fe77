import type { PayloadOf } from '../../../kernel/catalog.js';
import type { EventEnvelope } from '../../../kernel/envelope.js';
import type { HandlerContext } from '../../../platform/delivery/consumer.js';
import type { OrdersTables } from '../storage/tables.js';
import { handleOrderEvent, type SagaObserver } from './apply-flow.js';

/** The payment was refunded: recorded as the saga compensation `payment refunded`. */
export async function onPaymentRefunded(event: EventEnvelope<PayloadOf<'PaymentRefunded'>>, ctx: HandlerContext<OrdersTables>, observe?: SagaObserver): Promise<void> {
  const { paymentId, amount } = event.payload;
  await handleOrderEvent(event, ctx, event.payload.orderId, { type: 'RecordRefund', detail: `payment ${paymentId}, ${amount} minor units` }, observe);
}
