// The order saga: a record of how far the order's flow got, what was undone and by when it
// must be paid. Pure: no I/O.
//
// States:
//   STARTED       placed; the deadline runs until the order is paid
//   COMPLETED     paid (the deadline no longer applies); shipping steps are still recorded
//   FAILED        the reservation failed: the flow ended with nothing to undo
//   COMPENSATING  cancelled or payment failed: waiting for compensations (stock release, refund)
//   COMPENSATED   cancelled or payment failed, and every compensation awaited has been recorded
//   TIMED_OUT     the deadline passed before payment: the order was cancelled with reason
//                 `timeout`; compensations are recorded as they come (terminal)
// `completedAt` is set once, when the saga first leaves STARTED: placement → paid or failed.
//
// An order short of stock stays STARTED (and PENDING) while it waits: its deadline then is not
// the payment's but the wait's. Held for review (step `stock short`), the deadline is the end
// of the review window; backordered (steps `backordered`, `stock override applied`), it is the
// bound of the wait (BACKORDER_TIMEOUT_MS); once every line is reserved it restarts, a full
// SAGA_TIMEOUT_MS from then until payment.

/** Every state a saga can be in. */
export const SAGA_STATES = ['STARTED', 'COMPLETED', 'FAILED', 'COMPENSATING', 'COMPENSATED', 'TIMED_OUT'] as const;
export type SagaState = (typeof SAGA_STATES)[number];

/** The steps a saga records, in the order they normally happen. */
export type SagaStepName =
  | 'order placed'
  | 'inventory reserved'
  | 'payment processed'
  | 'shipment created'
  | 'shipment dispatched'
  | 'delivered'
  | 'order cancelled'
  | 'stock short'
  | 'stock override applied'
  | 'backordered'
  | 'backorder fulfilled';

/** What undoes a step. */
export type CompensationName = 'stock released' | 'payment refunded';

export interface SagaStep {
  name: SagaStepName;
  /** done, failed, or done and later undone by a compensation. */
  status: 'done' | 'failed' | 'compensated';
  at: number;
  detail?: string;
}

export interface SagaCompensation {
  name: CompensationName;
  at: number;
  detail: string;
}

/** The saga aggregate. Times are epoch milliseconds. */
export interface Saga {
  sagaId: string;
  orderId: string;
  state: SagaState;
  steps: SagaStep[];
  compensations: SagaCompensation[];
  /** Compensations the flow still waits for. */
  pending: CompensationName[];
  deadline: number;
  startedAt: number;
  completedAt: number | null;
  updatedAt: number;
}

/** What the saga hears. `Late*` are steps that happened after the order was cancelled. */
export type SagaFact =
  /** `deadline`: when a reservation that waited for stock completes, the payment's deadline from now. */
  | { type: 'InventoryReserved'; deadline?: number }
  | { type: 'ReservationShort'; detail: string; reviewUntil: number }
  | { type: 'StockOverrideApplied'; detail: string; waitUntil: number }
  | { type: 'Backordered'; detail: string; waitUntil: number }
  | { type: 'BackorderFulfilled'; detail: string }
  | { type: 'ReviewExpired' }
  | { type: 'InventoryReservationFailed'; reason: string }
  | { type: 'PaymentProcessed'; paymentId: string }
  | { type: 'PaymentFailed'; reason: string }
  | { type: 'ShipmentCreated'; trackingNumber: string }
  | { type: 'ShipmentDispatched' }
  | { type: 'ShipmentDelivered' }
  | { type: 'OrderCancelled'; reason: string; undo: CompensationName[] }
  | { type: 'TimedOut'; undo: CompensationName[]; reason?: string }
  | { type: 'LateInventoryReserved' }
  | { type: 'LatePaymentProcessed'; paymentId: string }
  | { type: 'StockReleased'; detail: string }
  | { type: 'PaymentRefunded'; detail: string };

export type SagaOutcome = { ok: true; saga: Saga } | { ok: false; message: string };

/** A saga started at placement, due `timeoutMs` later. */
export function startSaga(ids: { sagaId: string; orderId: string }, at: number, timeoutMs: number): Saga {
  return {
    ...ids,
    state: 'STARTED',
    steps: [{ name: 'order placed', status: 'done', at }],
    compensations: [],
    pending: [],
    deadline: at + timeoutMs,
    startedAt: at,
    completedAt: null,
    updatedAt: at,
  };
}

const AFTER_CANCEL: readonly SagaState[] = ['COMPENSATING', 'COMPENSATED', 'TIMED_OUT'];

/** Which saga states accept each fact. */
const ACCEPTS: Readonly<Record<SagaFact['type'], readonly SagaState[]>> = {
  InventoryReserved: ['STARTED'],
  ReservationShort: ['STARTED'],
  StockOverrideApplied: ['STARTED'],
  Backordered: ['STARTED'],
  BackorderFulfilled: ['STARTED'],
  ReviewExpired: ['STARTED'],
  InventoryReservationFailed: ['STARTED'],
  PaymentProcessed: ['STARTED'],
  PaymentFailed: ['STARTED'],
  ShipmentCreated: ['COMPLETED'],
  ShipmentDispatched: ['COMPLETED'],
  ShipmentDelivered: ['COMPLETED'],
  OrderCancelled: ['STARTED', 'COMPLETED'],
  TimedOut: ['STARTED'],
  LateInventoryReserved: AFTER_CANCEL,
  LatePaymentProcessed: AFTER_CANCEL,
  StockReleased: AFTER_CANCEL,
  PaymentRefunded: AFTER_CANCEL,
};

/** Applies `fact` at `at`, or refuses it when the saga's state does not accept it. Pure. */
export function evolveSaga(saga: Saga, fact: SagaFact, at: number): SagaOutcome {
  if (!ACCEPTS[fact.type].includes(saga.state)) return { ok: false, message: `saga ${saga.sagaId} is ${saga.state}: ${fact.type} does not apply` };
  if (fact.type === 'StockOverrideApplied' && stockPhase(saga) !== 'review') return { ok: false, message: `saga ${saga.sagaId} holds no shortfall for review` };
  if (fact.type === 'ReviewExpired' && stockPhase(saga) !== 'review') return { ok: false, message: `saga ${saga.sagaId} holds no shortfall for review` };
  return { ok: true, saga: { ...apply(saga, fact, at), updatedAt: at } };
}

function apply(saga: Saga, fact: SagaFact, at: number): Saga {
  switch (fact.type) {
    case 'InventoryReserved': {
      // A reservation that waited for stock gives the payment a full deadline from now.
      const deadline = stockPhase(saga) === 'backordered' && fact.deadline !== undefined ? fact.deadline : saga.deadline;
      return { ...step(saga, { name: 'inventory reserved', status: 'done', at }), deadline };
    }
    case 'ReservationShort':
      return { ...step(saga, { name: 'stock short', status: 'done', at, detail: fact.detail }), deadline: fact.reviewUntil };
    case 'StockOverrideApplied':
      return { ...step(saga, { name: 'stock override applied', status: 'done', at, detail: fact.detail }), deadline: fact.waitUntil };
    case 'Backordered': {
      // The first backorder bounds the wait; the order's other backorders (or those an override made) keep that bound.
      const deadline = stockPhase(saga) === 'backordered' ? saga.deadline : fact.waitUntil;
      return { ...step(saga, { name: 'backordered', status: 'done', at, detail: fact.detail }), deadline };
    }
    case 'BackorderFulfilled':
      return step(saga, { name: 'backorder fulfilled', status: 'done', at, detail: fact.detail });
    case 'ReviewExpired':
      // What was available was held during the review: the saga waits for its release.
      return awaitUndo(settle(step(saga, { name: 'inventory reserved', status: 'failed', at, detail: 'stock review window closed' }), 'COMPENSATING', at), ['stock released']);
    case 'InventoryReservationFailed':
      return settle(step(saga, { name: 'inventory reserved', status: 'failed', at, detail: fact.reason }), 'FAILED', at);
    case 'PaymentProcessed':
      return settle(step(saga, { name: 'payment processed', status: 'done', at, detail: fact.paymentId }), 'COMPLETED', at);
    case 'PaymentFailed':
      return awaitUndo(settle(step(saga, { name: 'payment processed', status: 'failed', at, detail: fact.reason }), 'COMPENSATING', at), ['stock released']);
    case 'ShipmentCreated':
      return step(saga, { name: 'shipment created', status: 'done', at, detail: fact.trackingNumber });
    case 'ShipmentDispatched':
      return step(saga, { name: 'shipment dispatched', status: 'done', at });
    case 'ShipmentDelivered':
      return step(saga, { name: 'delivered', status: 'done', at });
    case 'OrderCancelled':
      return awaitUndo(settle(step(saga, { name: 'order cancelled', status: 'done', at, detail: fact.reason }), 'COMPENSATING', at), fact.undo);
    case 'TimedOut':
      return awaitUndo(settle(step(saga, { name: 'order cancelled', status: 'done', at, detail: fact.reason ?? 'timeout' }), 'TIMED_OUT', at), fact.undo);
    case 'LateInventoryReserved':
      return awaitUndo(step(saga, { name: 'inventory reserved', status: 'done', at, detail: 'after cancellation' }), ['stock released']);
    case 'LatePaymentProcessed':
      return awaitUndo(step(saga, { name: 'payment processed', status: 'done', at, detail: `${fact.paymentId} after cancellation` }), ['payment refunded']);
    case 'StockReleased':
      return compensate(saga, { name: 'stock released', at, detail: fact.detail }, 'inventory reserved');
    case 'PaymentRefunded':
      return compensate(saga, { name: 'payment refunded', at, detail: fact.detail }, 'payment processed');
  }
}

function step(saga: Saga, added: SagaStep): Saga {
  return { ...saga, steps: [...saga.steps, added] };
}

function settle(saga: Saga, state: SagaState, at: number): Saga {
  return { ...saga, state, completedAt: saga.completedAt ?? at };
}

// Waits for compensations; a cancelled saga with nothing to wait for is already COMPENSATED.
function awaitUndo(saga: Saga, undo: readonly CompensationName[]): Saga {
  const pending = [...new Set([...saga.pending, ...undo])];
  return { ...saga, pending, state: nextCompensationState(saga.state, pending) };
}

function compensate(saga: Saga, compensation: SagaCompensation, undoes: SagaStepName): Saga {
  const index = saga.steps.findLastIndex((s) => s.name === undoes && s.status === 'done');
  const steps = saga.steps.map((s, i) => (i === index ? { ...s, status: 'compensated' as const } : s));
  const pending = saga.pending.filter((p) => p !== compensation.name);
  return { ...saga, steps, compensations: [...saga.compensations, compensation], pending, state: nextCompensationState(saga.state, pending) };
}

function nextCompensationState(state: SagaState, pending: readonly CompensationName[]): SagaState {
  if (state !== 'COMPENSATING' && state !== 'COMPENSATED') return state;
  return pending.length > 0 ? 'COMPENSATING' : 'COMPENSATED';
}

/**
 * Where an order short of stock stands: `review` while its shortfalls wait for an admin,
 * `backordered` while it waits for stock, null otherwise (never short, or every line reserved).
 */
export function stockPhase(saga: Saga): 'review' | 'backordered' | null {
  if (saga.steps.some((s) => s.name === 'inventory reserved')) return null;
  const last = saga.steps.findLast((s) => s.name === 'stock short' || s.name === 'stock override applied' || s.name === 'backordered');
  if (!last) return null;
  return last.name === 'stock short' ? 'review' : 'backordered';
}
