import type { Logger } from 'pino';
import type { Timer } from '../../../platform/delivery/timers.js';
import type { TxContext } from '../../../platform/log/tx-context.js';
import type { PaymentGateway } from '../gateway/simulated-gateway.js';
import { findPayment } from '../storage/payment-repository.js';
import type { PaymentsDb } from '../storage/tables.js';
import { applyGatewayAnswer } from './settle-payment.js';

/** The gateway-answer timer: the simulated latency is over, apply the answer to the pending payment. */
export function onGatewayAnswer(deps: { gateway: PaymentGateway; logger: Logger }) {
  return async (timer: Timer, tx: TxContext<PaymentsDb>): Promise<void> => {
    const paymentId = String(timer.payload.paymentId);
    const payment = await findPayment(tx.db, paymentId);
    if (!payment) {
      deps.logger.warn({ paymentId, timer: timer.key }, 'gateway answer for an unknown payment ignored');
      return;
    }
    const log = deps.logger.child({ paymentId, orderId: payment.order_id, correlationId: payment.correlation_id });
    await applyGatewayAnswer(tx, deps.gateway, payment, log);
  };
}
