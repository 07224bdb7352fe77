import type { PayloadOf } from '../../../kernel/catalog.js';
import type { EventEnvelope } from '../../../kernel/envelope.js';
import type { HandlerContext } from '../../../platform/delivery/consumer.js';
import type { OrdersTables } from '../storage/tables.js';
import { handleOrderEvent, type SagaObserver } from './apply-flow.js';

/** The charge succeeded: CONFIRMED → PAID, OrderPaid (shipments ships it), saga COMPLETED and its deadline timer cancelled. A payment for an order cancelled meanwhile is recorded on the saga (payments refunds it). */
export async function onPaymentProcessed(event: EventEnvelope<PayloadOf<'PaymentProcessed'>>, ctx: HandlerContext<OrdersTables>, observe?: SagaObserver): Promise<void> {
  await handleOrderEvent(event, ctx, event.payload.orderId, { type: 'RecordPayment', paymentId: event.payload.paymentId }, observe);
}
