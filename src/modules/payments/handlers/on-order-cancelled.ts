import type { PayloadOf } from '../../../kernel/catalog.js';
import type { EventEnvelope } from '../../../kernel/envelope.js';
import type { HandlerContext } from '../../../platform/delivery/consumer.js';
import { cancelPayment } from '../domain/payment.js';
import type { PaymentGateway } from '../gateway/simulated-gateway.js';
import { findPaymentByOrder, recordCancelledOrder, savePayment, stateOf } from '../storage/payment-repository.js';
import type { PaymentsDb } from '../storage/tables.js';
import { refundSucceededPayment } from './settle-payment.js';

/**
 * OrderCancelled → refund a succeeded payment; mark a pending one so that a late success is
 * refunded at once. Decided from the payment's own state, not from `refundRequired`: an order
 * cancelled by its saga timeout may have been charged after Orders last looked.
 */
export function onOrderCancelled(deps: { gateway: PaymentGateway }) {
  return async (event: EventEnvelope<PayloadOf<'OrderCancelled'>>, ctx: HandlerContext<PaymentsDb>): Promise<void> => {
    const { orderId, reason } = event.payload;
    await recordCancelledOrder(ctx.db, orderId, reason, ctx.now);
    const payment = await findPaymentByOrder(ctx.db, orderId);
    if (!payment) {
      ctx.log.info({ orderId }, 'OrderCancelled before any payment: a later OrderConfirmed charges nothing');
      return;
    }
    const decision = cancelPayment(stateOf(payment));
    if (decision.refused) {
      ctx.log.info({ orderId, paymentId: payment.payment_id, code: decision.code }, `OrderCancelled needs no refund: ${decision.message}`);
      return;
    }
    if (decision.action === 'refund') {
      await refundSucceededPayment(ctx, deps.gateway, payment, ctx.log);
      return;
    }
    await savePayment(ctx.db, payment, decision.state, ctx.now);
    ctx.log.info({ orderId, paymentId: payment.payment_id }, 'the payment is still pending; it will be refunded if it succeeds');
  };
}
