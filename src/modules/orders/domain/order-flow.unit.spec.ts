import { describe, expect, it } from 'vitest';
import { compensationsOnCancel, runOrderFlow } from './order-flow.js';
import { ORDER_STATUSES } from './order-status.js';
import { aSaga, anOrder, T0 } from './spec-fixtures.js';

const AT = T0 + 2_000;

describe('runOrderFlow: the order and its saga move together', () => {
  it('given a PENDING order, when the reservation is confirmed, then the order is CONFIRMED, the saga records the step and stays STARTED', () => {
    const outcome = runOrderFlow({ order: anOrder('PENDING'), saga: aSaga('STARTED') }, { type: 'ConfirmReservation' }, AT);
    expect(outcome.refused).toBeUndefined();
    expect(outcome.order.status).toBe('CONFIRMED');
    expect(outcome.saga.state).toBe('STARTED');
    expect(outcome.saga.steps.at(-1)).toEqual({ name: 'inventory reserved', status: 'done', at: AT });
    expect(outcome.events.map((e) => e.type)).toEqual(['OrderConfirmed']);
    expect(outcome.sagaSettled).toBe(false);
  });

  it('given a CONFIRMED order, when paid, then the saga is COMPLETED and settled (its deadline timer goes)', () => {
    const outcome = runOrderFlow({ order: anOrder('CONFIRMED'), saga: aSaga('STARTED') }, { type: 'RecordPayment', paymentId: 'pay-1' }, AT);
    expect(outcome.order.status).toBe('PAID');
    expect(outcome.saga).toMatchObject({ state: 'COMPLETED', completedAt: AT });
    expect(outcome.sagaSettled).toBe(true);
  });

  it('given a PENDING order, when the reservation fails, then REJECTED and the saga FAILED with nothing to undo', () => {
    const outcome = runOrderFlow({ order: anOrder('PENDING'), saga: aSaga('STARTED') }, { type: 'RejectReservation', reason: 'short' }, AT);
    expect(outcome.order.status).toBe('REJECTED');
    expect(outcome.saga).toMatchObject({ state: 'FAILED', pending: [] });
    expect(outcome.saga.steps.at(-1)).toEqual({ name: 'inventory reserved', status: 'failed', at: AT, detail: 'short' });
    expect(outcome.sagaSettled).toBe(true);
  });

  it('given a CONFIRMED order, when the payment fails, then PAYMENT_FAILED and the saga waits for the stock release', () => {
    const outcome = runOrderFlow({ order: anOrder('CONFIRMED'), saga: aSaga('STARTED') }, { type: 'FailPayment', reason: 'declined' }, AT);
    expect(outcome.order.status).toBe('PAYMENT_FAILED');
    expect(outcome.saga).toMatchObject({ state: 'COMPENSATING', pending: ['stock released'] });
  });

  it('given a PAID order, when cancelled, then a refund is required and the saga waits for release and refund', () => {
    const outcome = runOrderFlow({ order: anOrder('PAID'), saga: aSaga('COMPLETED') }, { type: 'Cancel', reason: 'cancelled by admin', by: 'admin' }, AT);
    expect(outcome.events).toEqual([
      { type: 'OrderCancelled', payload: { orderId: 'order-1', reason: 'cancelled by admin', refundRequired: true, cancelledBy: 'admin' } },
    ]);
    expect(outcome.saga).toMatchObject({ state: 'COMPENSATING', pending: ['stock released', 'payment refunded'] });
    expect(outcome.sagaSettled).toBe(false);
  });

  it('given a CONFIRMED order, when the saga times out, then CANCELLED (timeout) and the saga TIMED_OUT waiting for the release', () => {
    const outcome = runOrderFlow({ order: anOrder('CONFIRMED'), saga: aSaga('STARTED') }, { type: 'TimeOut' }, AT);
    expect(outcome.order).toMatchObject({ status: 'CANCELLED', cancellationReason: 'timeout' });
    expect(outcome.saga).toMatchObject({ state: 'TIMED_OUT', pending: ['stock released'] });
  });

  it.each(['PAID', 'SHIPPED', 'DELIVERED', 'REJECTED', 'PAYMENT_FAILED', 'CANCELLED'] as const)(
    'given a %s order, when the saga times out, then nothing changes',
    (status) => {
      const flow = { order: anOrder(status), saga: aSaga(status === 'PAID' ? 'COMPLETED' : 'FAILED') };
      const outcome = runOrderFlow(flow, { type: 'TimeOut' }, AT);
      expect(outcome.refused?.code).toBe('TRANSITION_REFUSED');
      expect(outcome.order).toBe(flow.order);
      expect(outcome.saga).toBe(flow.saga);
      expect(outcome.events).toEqual([]);
    },
  );

  it('given a PENDING order, when a shipment is reported, then it is refused and nothing changes', () => {
    const flow = { order: anOrder('PENDING'), saga: aSaga('STARTED') };
    const outcome = runOrderFlow(flow, { type: 'RecordShipment', shipmentId: 's', trackingNumber: 't' }, AT);
    expect(outcome.refused).toBeDefined();
    expect(outcome.order).toBe(flow.order);
    expect(outcome.saga).toBe(flow.saga);
    expect(outcome.events).toEqual([]);
  });

  it('given a CANCELLED order, when a reservation arrives late, then the order refuses it but the saga awaits its release', () => {
    const flow = { order: anOrder('CANCELLED'), saga: aSaga('COMPENSATED') };
    const outcome = runOrderFlow(flow, { type: 'ConfirmReservation' }, AT);
    expect(outcome.refused?.code).toBe('TRANSITION_REFUSED');
    expect(outcome.order).toBe(flow.order);
    expect(outcome.events).toEqual([]);
    expect(outcome.saga).toMatchObject({ state: 'COMPENSATING', pending: ['stock released'] });
  });

  it('given a CANCELLED order, when a payment arrives late, then the order refuses it but the saga awaits the refund', () => {
    const flow = { order: anOrder('CANCELLED'), saga: aSaga('TIMED_OUT') };
    const outcome = runOrderFlow(flow, { type: 'RecordPayment', paymentId: 'pay-late' }, AT);
    expect(outcome.refused).toBeDefined();
    expect(outcome.order.status).toBe('CANCELLED');
    expect(outcome.saga).toMatchObject({ state: 'TIMED_OUT', pending: ['payment refunded'] });
    expect(outcome.saga.steps.at(-1)).toMatchObject({ name: 'payment processed', status: 'done', detail: 'pay-late after cancellation' });
  });

  it('given a compensating saga, when the stock release is reported, then only the saga changes', () => {
    const flow = { order: anOrder('PAYMENT_FAILED'), saga: aSaga('COMPENSATING', { pending: ['stock released'] }) };
    const outcome = runOrderFlow(flow, { type: 'RecordStockRelease', detail: 'p-1 × 2' }, AT);
    expect(outcome.refused).toBeUndefined();
    expect(outcome.order).toBe(flow.order);
    expect(outcome.saga).toMatchObject({ state: 'COMPENSATED', pending: [], compensations: [{ name: 'stock released', at: AT, detail: 'p-1 × 2' }] });
  });

  it('given a saga that is not compensating, when a refund is reported, then it is refused', () => {
    const flow = { order: anOrder('PAID'), saga: aSaga('COMPLETED') };
    const outcome = runOrderFlow(flow, { type: 'RecordRefund', detail: 'x' }, AT);
    expect(outcome.refused).toBeDefined();
    expect(outcome.saga).toBe(flow.saga);
  });

  it('given a saga out of step with its order, when the order moves, then the order wins and a note says so', () => {
    const flow = { order: anOrder('PENDING'), saga: aSaga('FAILED') };
    const outcome = runOrderFlow(flow, { type: 'ConfirmReservation' }, AT);
    expect(outcome.order.status).toBe('CONFIRMED');
    expect(outcome.saga).toBe(flow.saga);
    expect(outcome.sagaNote).toMatch(/FAILED/);
  });
});

describe('compensationsOnCancel', () => {
  const expected = { PENDING: [], CONFIRMED: ['stock released'], PAID: ['stock released', 'payment refunded'] } as Record<string, string[]>;
  it.each(ORDER_STATUSES.map((s) => [s, expected[s] ?? []] as const))('given a %s order, then cancelling undoes %j', (status, undo) => {
    expect(compensationsOnCancel(status)).toEqual(undo);
  });
});
