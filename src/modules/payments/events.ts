import type { EventDraft } from '../../kernel/envelope.js';

/** PaymentProcessed: the gateway charged the order. */
export type PaymentProcessedPayload = {
  /** The order paid for. */
  orderId: string;
  /** The payment record. */
  paymentId: string;
  /** Charged amount in integer minor units of `currency`. */
  amount: number;
  /** ISO 4217 code. */
  currency: string;
};

/** PaymentFailed: the gateway declined the charge. */
export type PaymentFailedPayload = {
  orderId: string;
  /** The gateway's decline reason, e.g. `card_declined`, `insufficient_funds`. */
  reason: string;
  /** The payment record (extra field; the envelope's aggregateId too). */
  paymentId: string;
};

/** PaymentRefunded: a charged payment was refunded in full (the order was cancelled). */
export type PaymentRefundedPayload = {
  orderId: string;
  paymentId: string;
  /** Refunded amount in integer minor units of `currency`. */
  amount: number;
  /** ISO 4217 code (extra field). */
  currency: string;
};

/** PaymentPartiallyRefunded: part of a charge refunded, for a return of delivered goods. */
export type PaymentPartiallyRefundedPayload = {
  orderId: string;
  paymentId: string;
  /** This refund, in integer minor units of `currency`. */
  amount: number;
  /** Every refund of the payment so far, this one included: never more than the charge. */
  refundedTotal: number;
  currency: string;
  /** The return refunded, when a return was. */
  returnId?: string;
  /** The item edit refunded (a lower total, or an edit that could not apply after its charge), when an edit was. */
  editId?: string;
};

/** PaymentEditCharged: the rise of an edited order's total was charged. */
export type PaymentEditChargedPayload = {
  orderId: string;
  paymentId: string;
  editId: string;
  amount: number;
  currency: string;
  /** Every charge of the order so far, this one included. */
  chargedTotal: number;
};

/** PaymentEditChargeFailed: the rise of an edited order's total could not be charged. */
export type PaymentEditChargeFailedPayload = {
  orderId: string;
  paymentId: string;
  editId: string;
  /** The gateway's decline reason, or why nothing was asked of it. */
  reason: string;
};

/** The events the payments module publishes, by type. */
export type PaymentEvents = {
  PaymentProcessed: PaymentProcessedPayload;
  PaymentFailed: PaymentFailedPayload;
  PaymentRefunded: PaymentRefundedPayload;
  PaymentPartiallyRefunded: PaymentPartiallyRefundedPayload;
  PaymentEditCharged: PaymentEditChargedPayload;
  PaymentEditChargeFailed: PaymentEditChargeFailedPayload;
};

/**
 * A draft of a payments event on the Payment aggregate. The correlation id is passed
 * explicitly, because events caused by a gateway-answer timer have no causing event.
 */
export function paymentEvent<T extends keyof PaymentEvents>(eventType: T, payload: PaymentEvents[T], correlationId: string, causationId?: string): EventDraft<PaymentEvents[T]> {
  return { eventType, aggregateType: 'Payment', aggregateId: payload.paymentId, payload, correlationId, ...(causationId === undefined ? {} : { causationId }) };
}
