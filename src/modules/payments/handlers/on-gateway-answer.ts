import type { Logger } from 'pino';
import type { EventEnvelope } from '../../../kernel/envelope.js';
import type { Timer } from '../../../platform/delivery/timers.js';
import type { TxContext } from '../../../platform/log/tx-context.js';
import type { PaymentGateway } from '../gateway/simulated-gateway.js';
import { findPayment } from '../storage/payment-repository.js';
import type { PaymentsDb } from '../storage/tables.js';
import { applyGatewayAnswer } from './settle-payment.js';

/** What the gateway-answer timer carries: the payment, and the event that asked for the charge. */
export interface GatewayAnswerPayload {
  paymentId: string;
  orderId: string;
  /** The OrderConfirmed that started the charge: the cause of the answer's events (absent in timers scheduled before it was kept). */
  causationId?: string;
}

export function gatewayAnswerPayload(paymentId: string, orderId: string, cause: EventEnvelope): GatewayAnswerPayload {
  return { paymentId, orderId, causationId: cause.eventId };
}

/**
 * The gateway-answer timer: the simulated latency is over, apply the answer to the pending
 * payment. Its events name the OrderConfirmed that started the charge as their cause, so the
 * order's causal chain does not break at the delay.
 */
export function onGatewayAnswer(deps: { gateway: PaymentGateway }) {
  return async (timer: Timer, tx: TxContext<PaymentsDb>, logger: Logger): Promise<void> => {
    const payload = timer.payload as Partial<GatewayAnswerPayload>;
    const paymentId = String(payload.paymentId);
    const payment = await findPayment(tx.db, paymentId);
    if (!payment) {
      logger.warn({ paymentId }, 'gateway answer for an unknown payment ignored');
      return;
    }
    const log = logger.child({ paymentId, orderId: payment.order_id, correlationId: payment.correlation_id, causationId: payload.causationId });
    await applyGatewayAnswer(tx, deps.gateway, payment, log, typeof payload.causationId === 'string' ? payload.causationId : undefined);
  };
}
