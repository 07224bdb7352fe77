import { describe, expect, it } from 'vitest';
import { aSaga, T0 } from './spec-fixtures.js';
import { evolveSaga, SAGA_STATES, startSaga, type SagaFact, type SagaState } from './saga.js';

const AT = T0 + 1_000;

const facts = {
  InventoryReserved: { type: 'InventoryReserved' },
  InventoryReservationFailed: { type: 'InventoryReservationFailed', reason: 'short' },
  PaymentProcessed: { type: 'PaymentProcessed', paymentId: 'pay-1' },
  PaymentFailed: { type: 'PaymentFailed', reason: 'declined' },
  ShipmentCreated: { type: 'ShipmentCreated', trackingNumber: 'TRK-1' },
  ShipmentDispatched: { type: 'ShipmentDispatched' },
  ShipmentDelivered: { type: 'ShipmentDelivered' },
  'OrderCancelled (stock held)': { type: 'OrderCancelled', reason: 'r', undo: ['stock released'] },
  'OrderCancelled (nothing held)': { type: 'OrderCancelled', reason: 'r', undo: [] },
  TimedOut: { type: 'TimedOut', undo: ['stock released'] },
  LateInventoryReserved: { type: 'LateInventoryReserved' },
  LatePaymentProcessed: { type: 'LatePaymentProcessed', paymentId: 'pay-1' },
  StockReleased: { type: 'StockReleased', detail: 'p-1 × 2' },
  PaymentRefunded: { type: 'PaymentRefunded', detail: 'payment pay-1, 100 minor units' },
} satisfies Record<string, SagaFact>;
type FactName = keyof typeof facts;

// Given state (COMPENSATING waits for 'stock released'; the others wait for nothing), the
// state each fact leads to, or '—' when the saga refuses it.
const R = '—';
const row = (overrides: Partial<Record<FactName, SagaState>>): Record<FactName, SagaState | typeof R> =>
  Object.fromEntries(Object.keys(facts).map((f) => [f, overrides[f as FactName] ?? R])) as Record<FactName, SagaState | typeof R>;
const expected: Record<SagaState, Record<FactName, SagaState | typeof R>> = {
  STARTED: row({
    InventoryReserved: 'STARTED',
    InventoryReservationFailed: 'FAILED',
    PaymentProcessed: 'COMPLETED',
    PaymentFailed: 'COMPENSATING',
    'OrderCancelled (stock held)': 'COMPENSATING',
    'OrderCancelled (nothing held)': 'COMPENSATED',
    TimedOut: 'TIMED_OUT',
  }),
  COMPLETED: row({
    ShipmentCreated: 'COMPLETED',
    ShipmentDispatched: 'COMPLETED',
    ShipmentDelivered: 'COMPLETED',
    'OrderCancelled (stock held)': 'COMPENSATING',
    'OrderCancelled (nothing held)': 'COMPENSATED',
  }),
  FAILED: row({}),
  COMPENSATING: row({ LateInventoryReserved: 'COMPENSATING', LatePaymentProcessed: 'COMPENSATING', StockReleased: 'COMPENSATED', PaymentRefunded: 'COMPENSATING' }),
  COMPENSATED: row({ LateInventoryReserved: 'COMPENSATING', LatePaymentProcessed: 'COMPENSATING', StockReleased: 'COMPENSATED', PaymentRefunded: 'COMPENSATED' }),
  TIMED_OUT: row({ LateInventoryReserved: 'TIMED_OUT', LatePaymentProcessed: 'TIMED_OUT', StockReleased: 'TIMED_OUT', PaymentRefunded: 'TIMED_OUT' }),
};

const given = (state: SagaState) => aSaga(state, { pending: state === 'COMPENSATING' ? ['stock released'] : [] });
const cases = SAGA_STATES.flatMap((state) => (Object.keys(facts) as FactName[]).map((fact) => [state, fact, expected[state][fact]] as const));

describe('saga: every fact in every state', () => {
  it.each(cases)('given a %s saga, when %s, then %s', (state, fact, outcome) => {
    const before = given(state);
    const result = evolveSaga(before, facts[fact], AT);
    if (outcome === R) {
      expect(result.ok).toBe(false);
      return;
    }
    if (!result.ok) throw new Error(result.message);
    expect(result.saga.state).toBe(outcome);
    expect(result.saga.updatedAt).toBe(AT);
  });
});

describe('saga: what it records', () => {
  it('given a new saga, then it is STARTED with the placement step and its deadline', () => {
    expect(startSaga({ sagaId: 's', orderId: 'o' }, T0, 300)).toEqual({
      sagaId: 's',
      orderId: 'o',
      state: 'STARTED',
      steps: [{ name: 'order placed', status: 'done', at: T0 }],
      compensations: [],
      pending: [],
      deadline: T0 + 300,
      startedAt: T0,
      completedAt: null,
      updatedAt: T0,
    });
  });

  it('given the happy path, then every step is recorded in order and completedAt is the payment time', () => {
    let saga = startSaga({ sagaId: 's', orderId: 'o' }, T0, 30_000);
    const steps: [SagaFact, number][] = [
      [facts.InventoryReserved, T0 + 10],
      [facts.PaymentProcessed, T0 + 20],
      [facts.ShipmentCreated, T0 + 30],
      [facts.ShipmentDispatched, T0 + 40],
      [facts.ShipmentDelivered, T0 + 50],
    ];
    for (const [fact, at] of steps) {
      const result = evolveSaga(saga, fact, at);
      if (!result.ok) throw new Error(result.message);
      saga = result.saga;
    }
    expect(saga.state).toBe('COMPLETED');
    expect(saga.completedAt).toBe(T0 + 20);
    expect(saga.steps.map((s) => [s.name, s.status])).toEqual([
      ['order placed', 'done'],
      ['inventory reserved', 'done'],
      ['payment processed', 'done'],
      ['shipment created', 'done'],
      ['shipment dispatched', 'done'],
      ['delivered', 'done'],
    ]);
  });

  it('given a paid saga, when cancelled and both compensations arrive, then the steps are marked compensated and it is COMPENSATED', () => {
    let saga = aSaga('COMPLETED', {
      steps: [
        { name: 'order placed', status: 'done', at: T0 },
        { name: 'inventory reserved', status: 'done', at: T0 + 1 },
        { name: 'payment processed', status: 'done', at: T0 + 2 },
      ],
    });
    const apply = (fact: SagaFact, at: number) => {
      const result = evolveSaga(saga, fact, at);
      if (!result.ok) throw new Error(result.message);
      saga = result.saga;
    };
    apply({ type: 'OrderCancelled', reason: 'cancelled by admin', undo: ['stock released', 'payment refunded'] }, T0 + 100);
    expect(saga).toMatchObject({ state: 'COMPENSATING', pending: ['stock released', 'payment refunded'], completedAt: T0 + 10 });
    apply(facts.PaymentRefunded, T0 + 200);
    expect(saga).toMatchObject({ state: 'COMPENSATING', pending: ['stock released'] });
    apply(facts.StockReleased, T0 + 300);
    expect(saga.state).toBe('COMPENSATED');
    expect(saga.compensations).toEqual([
      { name: 'payment refunded', at: T0 + 200, detail: 'payment pay-1, 100 minor units' },
      { name: 'stock released', at: T0 + 300, detail: 'p-1 × 2' },
    ]);
    expect(saga.steps.map((s) => [s.name, s.status])).toEqual([
      ['order placed', 'done'],
      ['inventory reserved', 'compensated'],
      ['payment processed', 'compensated'],
      ['order cancelled', 'done'],
    ]);
  });

  it('given a saga cancelled while pending, when a reservation arrives late, then it waits for the release again', () => {
    const cancelled = evolveSaga(aSaga('STARTED'), facts['OrderCancelled (nothing held)'], AT);
    if (!cancelled.ok) throw new Error(cancelled.message);
    expect(cancelled.saga.state).toBe('COMPENSATED');
    const late = evolveSaga(cancelled.saga, facts.LateInventoryReserved, AT + 1);
    expect(late.ok && late.saga).toMatchObject({ state: 'COMPENSATING', pending: ['stock released'] });
  });

  it('given a timed-out saga, then completedAt is the timeout and it stays TIMED_OUT through its compensations', () => {
    const timedOut = evolveSaga(aSaga('STARTED'), facts.TimedOut, AT);
    if (!timedOut.ok) throw new Error(timedOut.message);
    expect(timedOut.saga).toMatchObject({ state: 'TIMED_OUT', completedAt: AT, pending: ['stock released'] });
    expect(timedOut.saga.steps.at(-1)).toEqual({ name: 'order cancelled', status: 'done', at: AT, detail: 'timeout' });
    const released = evolveSaga(timedOut.saga, facts.StockReleased, AT + 1);
    expect(released.ok && released.saga).toMatchObject({ state: 'TIMED_OUT', pending: [] });
  });

  it('given a saga already settled, when it settles again, then completedAt does not move', () => {
    const cancelled = evolveSaga(aSaga('COMPLETED', { completedAt: T0 + 7 }), facts['OrderCancelled (stock held)'], AT);
    expect(cancelled.ok && cancelled.saga.completedAt).toBe(T0 + 7);
  });
});
