import type { Kysely } from 'kysely';
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
 * its own (the gateway-answer timer). `insertedHere`: this transaction inserted the payment, so
 * its version cannot have moved (`savePayment`).
 */
export async function applyGatewayAnswer(tx: PaymentTx, gateway: PaymentGateway, payment: PaymentRow, log: Logger, causationId?: string, options: { insertedHere?: boolean } = {}): Promise<void> {
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
    await savePayment(tx.db, payment, decision.state, tx.now, { reason: answer.reason }, options);
    tx.emit(paymentEvent('PaymentFailed', { ...base, reason: answer.reason }, payment.correlation_id, causationId));
    return;
  }
  const succeeded = await savePayment(tx.db, payment, decision.state, tx.now, {}, options);
  const processed = tx.emit(paymentEvent('PaymentProcessed', { ...base, amount: payment.amount, currency: payment.currency }, payment.correlation_id, causationId));
  if (decision.refundNow) {
    log.info({ paymentId: payment.payment_id }, 'the payment succeeded after its order was cancelled; refunding it');
    await refundSucceededPayment(tx, gateway, succeeded, log, processed.eventId);
  }
}

/** What a refund across an order's charges did: refunded now, and every refund of the order's charges so far. */
export interface ChargesRefund {
  refunded: number;
  refundedTotal: number;
}

/**
 * Refunds up to `amount` (`Infinity`: everything left) of what the order's succeeded charges
 * (the placement's, then those of item edits; or only the charge `onlyCharge` names) have left,
 * charge by charge. The refund of the placement's charge carries `key` as idempotency key, the
 * refund of another charge `key:chargeKey`; the transaction decides them the same way on every
 * retry (the gateway records in it too), so none is made twice.
 */
export async function refundAcrossCharges(tx: PaymentTx, gateway: PaymentGateway, payment: PaymentRow, amount: number, key: string, onlyCharge?: string): Promise<ChargesRefund> {
  const charges = await gateway.chargesOf(tx.db as unknown as Kysely<PaymentsDb>, payment.order_id);
  let refunded = 0;
  for (const charge of charges) {
    if (onlyCharge !== undefined && charge.idempotencyKey !== onlyCharge) continue;
    const part = Math.min(amount - refunded, charge.amount - charge.refunded);
    if (part <= 0) continue;
    const idempotencyKey = charge.idempotencyKey === chargeRequestOf(payment).idempotencyKey ? key : `${key}:${charge.idempotencyKey}`;
    const result = await gateway.refund(gatewayCall(tx), { idempotencyKey, chargeKey: charge.idempotencyKey, amount: part, reference: payment.order_id });
    if (result.status !== 'succeeded') {
      // A succeeded charge that cannot be refunded is a fault to look at, not an outcome: retry, then dead-letter.
      throw new AppError('internal', 'REFUND_DECLINED', `the gateway declined refund ${idempotencyKey} of payment ${payment.payment_id}: ${result.reason}`);
    }
    refunded += part;
    if (refunded >= amount) break;
  }
  return { refunded, refundedTotal: charges.reduce((n, c) => n + c.refunded, 0) + refunded };
}

/**
 * Refunds a succeeded payment in full — every charge of the order, an item edit's included —
 * (idempotent at the gateway) and emits PaymentRefunded with what was refunded (caused by
 * `causationId` when given, else by the event handled).
 */
export async function refundSucceededPayment(tx: PaymentTx, gateway: PaymentGateway, payment: PaymentRow, log: Logger, causationId?: string): Promise<void> {
  const decision = refundPayment(stateOf(payment));
  if (decision.refused) {
    log.info({ paymentId: payment.payment_id, code: decision.code }, `refund skipped: ${decision.message}`);
    return;
  }
  const { refunded } = await refundAcrossCharges(tx, gateway, payment, Infinity, `refund:${payment.payment_id}`);
  await savePayment(tx.db, payment, decision.state, tx.now, { refunded_at: tx.now });
  tx.emit(paymentEvent('PaymentRefunded', { orderId: payment.order_id, paymentId: payment.payment_id, amount: refunded, currency: payment.currency }, payment.correlation_id, causationId));
}
