import type { PayloadOf } from '../../../kernel/catalog.js';
import type { EventEnvelope } from '../../../kernel/envelope.js';
import type { HandlerContext } from '../../../platform/delivery/consumer.js';
import { paymentEvent } from '../events.js';
import type { PaymentGateway } from '../gateway/simulated-gateway.js';
import { addToPaymentAmount, findPaymentByOrder } from '../storage/payment-repository.js';
import type { PaymentsDb } from '../storage/tables.js';
import { gatewayCall, refundAcrossCharges } from './settle-payment.js';

type Ctx = HandlerContext<PaymentsDb>;

/** The idempotency key of an item edit's charge: one charge per edit, whatever is redelivered. */
export const editChargeKey = (editId: string): string => `edit:${editId}`;

/**
 * OrderEditPaymentRequested → the rise of the order's total is charged as a charge of its own
 * (the edit's id as idempotency key; the card the edit gave, else the order's) →
 * PaymentEditCharged (the payment's amount grows) | PaymentEditChargeFailed. A payment no longer
 * in force (refunded: the order was cancelled) charges nothing.
 */
export function onEditPaymentRequested(deps: { gateway: PaymentGateway }) {
  return async (event: EventEnvelope<PayloadOf<'OrderEditPaymentRequested'>>, ctx: Ctx): Promise<void> => {
    const { orderId, editId, amount, currency } = event.payload;
    const payment = await findPaymentByOrder(ctx.db, orderId);
    if (!payment) throw new Error(`item edit ${editId}: order ${orderId} has no payment to add to`);
    const failed = (reason: string) =>
      ctx.emit(paymentEvent('PaymentEditChargeFailed', { orderId, paymentId: payment.payment_id, editId, reason }, payment.correlation_id));
    if (payment.status !== 'succeeded') {
      failed(`payment_${payment.status}`);
      return;
    }
    if (currency !== payment.currency) {
      failed(`currency_mismatch (${currency}, the payment is in ${payment.currency})`);
      return;
    }
    const result = await deps.gateway.charge(gatewayCall(ctx), { idempotencyKey: editChargeKey(editId), amount, currency, token: event.payload.paymentToken, reference: orderId });
    if (result.status !== 'succeeded') {
      failed(result.status === 'declined' ? result.reason : 'no_answer');
      return;
    }
    const updated = await addToPaymentAmount(ctx.db, payment, amount, ctx.now);
    ctx.emit(paymentEvent('PaymentEditCharged', { orderId, paymentId: payment.payment_id, editId, amount, currency, chargedTotal: updated.amount }, payment.correlation_id));
  };
}

/** OrderUpdated of an item edit that lowered the total → the difference is refunded (PaymentPartiallyRefunded with the edit's id). */
export function onEditApplied(deps: { gateway: PaymentGateway }) {
  return async (event: EventEnvelope<PayloadOf<'OrderUpdated'>>, ctx: Ctx): Promise<void> => {
    const { orderId, editId, changes } = event.payload;
    const fall = changes.totalAmount.old - changes.totalAmount.new;
    if (editId === undefined || fall <= 0) return;
    await refundPart(ctx, deps.gateway, orderId, fall, `edit-refund:${editId}`, editId);
  };
}

/** OrderEditRejected after the edit was charged (the shipment left meanwhile) → the edit's own charge is refunded. */
export function onEditRejected(deps: { gateway: PaymentGateway }) {
  return async (event: EventEnvelope<PayloadOf<'OrderEditRejected'>>, ctx: Ctx): Promise<void> => {
    const { orderId, editId, refundCharge } = event.payload;
    if (!refundCharge) return;
    await refundPart(ctx, deps.gateway, orderId, Infinity, `edit-void:${editId}`, editId, editChargeKey(editId));
  };
}

/** Refunds up to `amount` of the order's charges (or of the charge `onlyCharge` names) → PaymentPartiallyRefunded with the edit's id. */
async function refundPart(ctx: Ctx, gateway: PaymentGateway, orderId: string, amount: number, key: string, editId: string, onlyCharge?: string): Promise<void> {
  const payment = await findPaymentByOrder(ctx.db, orderId);
  if (!payment || payment.status !== 'succeeded') {
    ctx.log.info({ orderId, editId, status: payment?.status ?? 'none' }, 'item edit refund: the payment is not in force (refunded in full with its order); nothing to refund');
    return;
  }
  const { refunded, refundedTotal } = await refundAcrossCharges(ctx, gateway, payment, amount, key, onlyCharge);
  if (refunded === 0) {
    ctx.log.info({ orderId, editId }, 'item edit refund: nothing left to refund');
    return;
  }
  ctx.emit(paymentEvent('PaymentPartiallyRefunded', { orderId, paymentId: payment.payment_id, amount: refunded, refundedTotal, currency: payment.currency, editId }, payment.correlation_id));
}
