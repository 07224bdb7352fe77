/** The payments module: a simulated card gateway, one payment per order, refunds on cancellation. */
export {
  /** Builds the payments module (consumer `payments`, its tables and its gateway-answer timer). */
  createPaymentsModule,
  /** Options, API and module types of the payments module. */
  type PaymentsOptions,
  type PaymentsApi,
  type PaymentsModule,
} from './module.js';
export {
  /** A payment as the API shows it. */
  type PaymentView,
} from './storage/payment-repository.js';
export {
  /** The payment statuses: pending, succeeded, failed, refunded. */
  type PaymentStatus,
} from './domain/payment.js';
export {
  /** Payloads of PaymentProcessed, PaymentFailed and PaymentRefunded. */
  type PaymentProcessedPayload,
  type PaymentFailedPayload,
  type PaymentRefundedPayload,
  type PaymentEvents,
} from './events.js';
export {
  /** The kind of the timer that applies the gateway's answer after PAYMENT_LATENCY_MS. */
  GATEWAY_ANSWER_TIMER,
  /** OrderConfirmed as the payments module reads it (the catalog's fields plus `paymentToken`). */
  type OrderConfirmedPayload,
} from './handlers/on-order-confirmed.js';
