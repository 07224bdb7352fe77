import type { Logger } from 'pino';
import { AppError } from '../../../kernel/errors.js';
import type { TxContext } from '../../../platform/log/tx-context.js';
import { recordAnswer, refundPayment, type GatewayAnswer } from '../domain/payment.js';
import { paymentEvent } from '../events.js';
import type { ChargeRequest, ChargeResult, GatewayCall, PaymentGateway } from '../gateway/simulated-gateway.js';
import { savePayment, stateOf } from '../storage/payment-repository.js';
import type { PaymentRow, PaymentsDb } from '../storage/tables.js';

/** The transaction a payment step runs in: a consumer's or a timer's. */
export type PaymentTx = Pick<TxContext<PaymentsDb>, 'db' | 'now' | 'emit'>;

export function gatewayCall(tx: PaymentTx): GatewayCall<PaymentsDb> {
  return { db: tx.db, now: tx.now };
}

/** The charge of a payment; the order id is the idempotency key, so an order is charged at most once. */
export function chargeRequestOf(payment: PaymentRow): ChargeRequest {
  return { idempotencyKey: payment.order_id, amount: payment.amount, currency: payment.currency, token: payment.token, reference: payment.order_id };
}

function toAnswer(result: ChargeResult): GatewayAnswer {
  if (result.status === 'succeeded') return { outcome: 'succeeded' };
  if (result.status === 'declined') return { outcome: 'declined', reason: result.reason };
  return { outcome: 'no_answer' };
}

/**
 * Asks the gateway for the answer to the payment's charge (a repeat of its idempotency key
 * returns the first answer) and applies it: PaymentProcessed, then a refund at once if the
 * order was cancelled meanwhile; or PaymentFailed; or, without an answer, nothing yet.
 * `causationId` names the event that asked for the charge when the transaction has none of
 * its own (the gateway-answer timer).
 */
export async function applyGatewayAnswer(tx: PaymentTx, gateway: PaymentGateway, payment: PaymentRow, log: Logger, causationId?: string): Promise<void> {
  const answer = toAnswer(await gateway.charge(gatewayCall(tx), chargeRequestOf(payment)));
  const decision = recordAnswer(stateOf(payment), answer);
  if (decision.refused) {
    log.info({ paymentId: payment.payment_id, code: decision.code }, `gateway answer ignored: ${decision.message}`);
    return;
  }
  if (decision.emit === null) {
    log.info({ paymentId: payment.payment_id }, 'the gateway did not answer; the payment stays pending');
    return;
  }
  const base = { orderId: payment.order_id, paymentId: payment.payment_id };
  log.debug({ ...base, outcome: answer.outcome }, `the gateway answered: ${answer.outcome}`);
  if (answer.outcome === 'declined') {
    await savePayment(tx.db, payment, decision.state, tx.now, { reason: answer.reason });
    tx.emit(paymentEvent('PaymentFailed', { ...base, reason: answer.reason }, payment.correlation_id, causationId));
    return;
  }
  const succeeded = await savePayment(tx.db, payment, decision.state, tx.now);
  const processed = tx.emit(paymentEvent('PaymentProcessed', { ...base, amount: payment.amount, currency: payment.currency }, payment.correlation_id, causationId));
  if (decision.refundNow) {
    log.info({ paymentId: payment.payment_id }, 'the payment succeeded after its order was cancelled; refunding it');
    await refundSucceededPayment(tx, gateway, succeeded, log, processed.eventId);
  }
}

/** Refunds a succeeded payment in full (idempotent at the gateway) and emits PaymentRefunded (caused by `causationId` when given, else by the event handled). */
export async function refundSucceededPayment(tx: PaymentTx, gateway: PaymentGateway, payment: PaymentRow, log: Logger, causationId?: string): Promise<void> {
  const decision = refundPayment(stateOf(payment));
  if (decision.refused) {
    log.info({ paymentId: payment.payment_id, code: decision.code }, `refund skipped: ${decision.message}`);
    return;
  }
  const result = await gateway.refund(gatewayCall(tx), {
    idempotencyKey: `refund:${payment.payment_id}`,
    chargeKey: chargeRequestOf(payment).idempotencyKey,
    amount: payment.amount,
    reference: payment.order_id,
  });
  if (result.status !== 'succeeded') {
    // A succeeded charge that cannot be refunded is a fault to look at, not an outcome: retry, then dead-letter.
    throw new AppError('internal', 'REFUND_DECLINED', `the gateway declined the refund of payment ${payment.payment_id}: ${result.reason}`);
  }
  await savePayment(tx.db, payment, decision.state, tx.now, { refunded_at: tx.now });
  tx.emit(paymentEvent('PaymentRefunded', { orderId: payment.order_id, paymentId: payment.payment_id, amount: payment.amount, currency: payment.currency }, payment.correlation_id, causationId));
}
