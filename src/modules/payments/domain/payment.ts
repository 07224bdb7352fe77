/**
 * The payment of one order as a status machine: pure functions that decide whether a
 * transition is allowed and what it leads to. No I/O; the handlers load, decide, persist.
 *
 * ```
 * (none) ──start──▶ pending ──answer: succeeded──▶ succeeded ──refund──▶ refunded
 *                    │  └──answer: declined──▶ failed
 *                    └──order cancelled──▶ pending + refundOnSuccess (refunded as soon as it succeeds)
 * ```
 */

/** Where a payment is. */
export type PaymentStatus = 'pending' | 'succeeded' | 'failed' | 'refunded';

/** What the decisions need to know about a payment. */
export interface PaymentState {
  readonly status: PaymentStatus;
  /** The order was cancelled while the gateway had not answered: a late success is refunded at once. */
  readonly refundOnSuccess: boolean;
}

/** What the gateway said about a charge. */
export type GatewayAnswer =
  | { readonly outcome: 'succeeded' }
  | { readonly outcome: 'declined'; readonly reason: string }
  /** The gateway has not answered (or never will): the payment stays pending. */
  | { readonly outcome: 'no_answer' };

/** A transition the machine does not allow; handlers log it and change nothing. */
export interface Refusal {
  readonly refused: true;
  /** Stable code, e.g. `PAYMENT_ALREADY_EXISTS`. */
  readonly code: string;
  readonly message: string;
}

/** Either the allowed outcome or a refusal. */
export type Decision<T> = ({ readonly refused: false } & T) | Refusal;

function refuse(code: string, message: string): Refusal {
  return { refused: true, code, message };
}

/** OrderConfirmed: an order gets one payment, never a second, and none once it was cancelled. */
export function startPayment(existing: PaymentState | undefined, orderCancelled: boolean): Decision<{ state: PaymentState }> {
  if (existing) return refuse('PAYMENT_ALREADY_EXISTS', `the order already has a payment (${existing.status}); it is charged once`);
  if (orderCancelled) return refuse('ORDER_ALREADY_CANCELLED', 'the order was cancelled before it was confirmed; nothing is charged');
  return { refused: false, state: { status: 'pending', refundOnSuccess: false } };
}

/** The outcome of applying a gateway answer. */
export interface AnswerOutcome {
  readonly state: PaymentState;
  /** The event the answer produces, if any. */
  readonly emit: 'PaymentProcessed' | 'PaymentFailed' | null;
  /** True when the payment succeeded after its order was cancelled: refund it now. */
  readonly refundNow: boolean;
}

/** The gateway answered: a pending payment succeeds or fails; a settled one is not changed again. */
export function recordAnswer(state: PaymentState, answer: GatewayAnswer): Decision<AnswerOutcome> {
  if (state.status !== 'pending') return refuse('PAYMENT_ALREADY_SETTLED', `the payment is already ${state.status}`);
  switch (answer.outcome) {
    case 'no_answer':
      return { refused: false, state, emit: null, refundNow: false };
    case 'declined':
      return { refused: false, state: { ...state, status: 'failed' }, emit: 'PaymentFailed', refundNow: false };
    case 'succeeded':
      return { refused: false, state: { ...state, status: 'succeeded' }, emit: 'PaymentProcessed', refundNow: state.refundOnSuccess };
  }
}

/** The outcome of an order cancellation for its payment. */
export interface CancelOutcome {
  readonly state: PaymentState;
  /** `refund`: refund now; `refund-on-success`: the answer is still to come, refund it if it succeeds. */
  readonly action: 'refund' | 'refund-on-success';
}

/** OrderCancelled: a succeeded payment is refunded; a pending one is refunded as soon as it succeeds. */
export function cancelPayment(state: PaymentState): Decision<CancelOutcome> {
  switch (state.status) {
    case 'succeeded':
      return { refused: false, state, action: 'refund' };
    case 'pending':
      if (state.refundOnSuccess) return refuse('PAYMENT_ALREADY_VOIDED', 'the cancellation is already recorded on the pending payment');
      return { refused: false, state: { ...state, refundOnSuccess: true }, action: 'refund-on-success' };
    case 'failed':
      return refuse('PAYMENT_NOT_CHARGED', 'the payment failed; there is nothing to refund');
    case 'refunded':
      return refuse('PAYMENT_ALREADY_REFUNDED', 'the payment is already refunded');
  }
}

/** Refund: only a succeeded payment, and only once. */
export function refundPayment(state: PaymentState): Decision<{ state: PaymentState }> {
  if (state.status === 'succeeded') return { refused: false, state: { ...state, status: 'refunded' } };
  if (state.status === 'refunded') return refuse('PAYMENT_ALREADY_REFUNDED', 'the payment is already refunded');
  return refuse('PAYMENT_NOT_REFUNDABLE', `a ${state.status} payment cannot be refunded`);
}
