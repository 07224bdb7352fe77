import type { PayloadOf } from '../../../kernel/catalog.js';
import type { EventEnvelope } from '../../../kernel/envelope.js';
import { AppError } from '../../../kernel/errors.js';
import type { HandlerContext } from '../../../platform/delivery/consumer.js';
import { paymentEvent } from '../events.js';
import type { PaymentGateway } from '../gateway/simulated-gateway.js';
import { findPaymentByOrder } from '../storage/payment-repository.js';
import type { PaymentsDb } from '../storage/tables.js';
import { refundAcrossCharges } from './settle-payment.js';

/**
 * ReturnReceived → refund the returned lines' amount (PaymentPartiallyRefunded), once: the
 * gateway call carries the return's id as idempotency key, so a redelivery refunds nothing
 * twice. Refunds of a payment add up to its charge at most: a refund that would go over is cut
 * to what is left, and none is made when nothing is.
 */
export function onReturnReceived(deps: { gateway: PaymentGateway }) {
  return async (event: EventEnvelope<PayloadOf<'ReturnReceived'>>, ctx: HandlerContext<PaymentsDb>): Promise<void> => {
    const { orderId, returnId, amount } = event.payload;
    const payment = await findPaymentByOrder(ctx.db, orderId);
    if (!payment || payment.status !== 'succeeded') {
      // A delivered order was paid: anything else is a fault to look at (retried, then dead-lettered).
      throw new AppError('internal', 'REFUND_DECLINED', `return ${returnId}: order ${orderId} has no succeeded payment to refund (${payment?.status ?? 'none'})`);
    }
    const { refunded: refund, refundedTotal } = await refundAcrossCharges(ctx, deps.gateway, payment, amount, `return:${returnId}`);
    if (refund === 0) {
      ctx.log.warn({ orderId, returnId, refundedTotal, charged: payment.amount }, 'ReturnReceived: the payment is refunded in full already; nothing refunded');
      return;
    }
    ctx.emit(
      paymentEvent(
        'PaymentPartiallyRefunded',
        { orderId, paymentId: payment.payment_id, amount: refund, refundedTotal, currency: payment.currency, returnId },
        payment.correlation_id,
      ),
    );
  };
}
