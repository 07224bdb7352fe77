import { describe, expect, it } from 'vitest';
import { BACKORDER_TIMEOUT_REASON, REVIEW_EXPIRED_REASON } from './order.js';
import { compensationsOnCancel, runOrderFlow, timeoutCommand, type OrderFlow } from './order-flow.js';
import { evolveSaga, stockPhase, type Saga } from './saga.js';
import { aSaga, anOrder, T0 } from './spec-fixtures.js';
import { decideStockOverride, type StockReview } from './stock-override.js';

const AT = T0 + 2_000;
const HOUR = 3_600_000;
const WEEK = 7 * 24 * HOUR;

const pending = (saga: Saga = aSaga('STARTED')): OrderFlow => ({ order: anOrder('PENDING'), saga });
const run = (flow: OrderFlow, ...commands: Parameters<typeof runOrderFlow>[1][]) => commands.reduce((f, c) => runOrderFlow(f, c, AT), { ...flow, events: [], sagaSettled: false } as ReturnType<typeof runOrderFlow>);
const backordered = () => run(pending(), { type: 'RecordBackorder', detail: 'p-1 × 3', waitUntil: AT + WEEK }).saga;
const heldForReview = () => run(pending(), { type: 'RecordShortage', detail: 'p-1: 5 requested, 2 available', reviewUntil: AT + HOUR }).saga;
const review: StockReview = { orderId: 'order-1', shortages: [{ productId: 'p-1', requested: 5, available: 2 }], override: null, createdAt: T0 };
const request = { reason: 'supplier confirmed', expectedRestockAt: '2026-03-10', approvedBy: 'admin-1' };

describe('an order waiting for backordered stock', () => {
  it('given a PENDING order, when a line is backordered, then it stays PENDING and its deadline becomes the bound of the wait', () => {
    const outcome = runOrderFlow(pending(), { type: 'RecordBackorder', detail: 'p-1 × 3', waitUntil: AT + WEEK }, AT);
    expect(outcome.refused).toBeUndefined();
    expect(outcome.order.status).toBe('PENDING');
    expect(outcome.events).toEqual([]);
    expect(outcome.saga).toMatchObject({ state: 'STARTED', deadline: AT + WEEK });
    expect(outcome.saga.steps.at(-1)).toEqual({ name: 'backordered', status: 'done', at: AT, detail: 'p-1 × 3' });
    expect(stockPhase(outcome.saga)).toBe('backordered');
  });

  it('given an order already backordered, when a second line is, then the first backorder\u2019s bound stays', () => {
    const outcome = run(pending(backordered()), { type: 'RecordBackorder', detail: 'p-2 × 1', waitUntil: AT + 2 * WEEK });
    expect(outcome.saga.deadline).toBe(AT + WEEK);
  });

  it('given a waiting order, when a backorder is fulfilled, then the saga records it and the order still waits', () => {
    const outcome = run(pending(backordered()), { type: 'RecordBackorderFulfilled', detail: 'p-1 × 3' });
    expect(outcome.order.status).toBe('PENDING');
    expect(outcome.saga.steps.at(-1)).toMatchObject({ name: 'backorder fulfilled', detail: 'p-1 × 3' });
    expect(stockPhase(outcome.saga)).toBe('backordered');
  });

  it('given a waiting order, when every line is reserved, then CONFIRMED and the payment\u2019s deadline restarts from now', () => {
    const outcome = runOrderFlow(pending(backordered()), { type: 'ConfirmReservation', restartDeadline: AT + 30_000 }, AT);
    expect(outcome.order.status).toBe('CONFIRMED');
    expect(outcome.saga).toMatchObject({ state: 'STARTED', deadline: AT + 30_000 });
    expect(stockPhase(outcome.saga)).toBeNull();
  });

  it('given an order that never waited, when reserved, then its deadline from placement stays', () => {
    const saga = aSaga('STARTED');
    const outcome = runOrderFlow(pending(saga), { type: 'ConfirmReservation', restartDeadline: AT + 30_000 }, AT);
    expect(outcome.saga.deadline).toBe(saga.deadline);
  });

  it('given a waiting order, when its deadline passes, then it is cancelled with reason `backorder timeout` and the stock it holds is released', () => {
    const flow = pending(backordered());
    const command = timeoutCommand(flow.saga);
    expect(command).toEqual({ type: 'TimeOut', reason: BACKORDER_TIMEOUT_REASON });
    const outcome = runOrderFlow(flow, command, AT);
    expect(outcome.order).toMatchObject({ status: 'CANCELLED', cancellationReason: 'backorder timeout', cancelledBy: 'system' });
    expect(outcome.saga).toMatchObject({ state: 'TIMED_OUT', pending: ['stock released'] });
    expect(outcome.saga.steps.at(-1)).toMatchObject({ name: 'order cancelled', detail: 'backorder timeout' });
    expect(outcome.events.map((e) => e.type)).toEqual(['OrderCancelled']);
  });

  it('given a waiting order, when the customer cancels, then the saga waits for the release of what it held', () => {
    expect(compensationsOnCancel('PENDING', backordered())).toEqual(['stock released']);
    expect(compensationsOnCancel('PENDING', aSaga('STARTED'))).toEqual([]);
  });

  it('given a cancelled order, when a late backorder report arrives, then it is refused and nothing changes', () => {
    const cancelled = run(pending(), { type: 'Cancel', reason: 'changed my mind', by: 'customer' });
    const outcome = runOrderFlow(cancelled, { type: 'RecordBackorder', detail: 'p-1 × 3', waitUntil: AT + WEEK }, AT);
    expect(outcome.refused).toMatchObject({ code: 'TRANSITION_REFUSED' });
    expect(outcome.saga).toBe(cancelled.saga);
  });

  it('given an order that never waited, when its deadline passes, then it times out as before', () => {
    expect(timeoutCommand(aSaga('STARTED'))).toEqual({ type: 'TimeOut' });
  });
});

describe('an order held for a stock review', () => {
  it('given a PENDING order, when inventory reports it short, then it stays PENDING until the end of the review window', () => {
    const outcome = runOrderFlow(pending(), { type: 'RecordShortage', detail: 'p-1: 5 requested, 2 available', reviewUntil: AT + HOUR }, AT);
    expect(outcome.order.status).toBe('PENDING');
    expect(outcome.saga).toMatchObject({ state: 'STARTED', deadline: AT + HOUR });
    expect(stockPhase(outcome.saga)).toBe('review');
  });

  it('given an order held for review, when the window closes, then it is REJECTED and the saga waits for the release of what was held', () => {
    const flow = pending(heldForReview());
    expect(timeoutCommand(flow.saga)).toEqual({ type: 'ExpireReview' });
    const outcome = runOrderFlow(flow, { type: 'ExpireReview' }, AT);
    expect(outcome.order).toMatchObject({ status: 'REJECTED', rejectionReason: REVIEW_EXPIRED_REASON });
    expect(outcome.events).toEqual([{ type: 'OrderRejected', payload: { orderId: 'order-1', reason: REVIEW_EXPIRED_REASON } }]);
    expect(outcome.saga).toMatchObject({ state: 'COMPENSATING', pending: ['stock released'] });
    expect(outcome.sagaSettled).toBe(true);
  });

  it('given an order not held for review, when a review expiry arrives, then it is refused', () => {
    expect(runOrderFlow(pending(backordered()), { type: 'ExpireReview' }, AT).refused).toMatchObject({ code: 'TRANSITION_REFUSED' });
  });

  it('given an order held for review, when an admin overrides, then OrderStockOverrideApplied with the quantities over stock, and the order waits as a backorder', () => {
    const decision = decideStockOverride(pending(heldForReview()), review, request, AT, AT + WEEK);
    expect(decision.ok).toBe(true);
    if (!decision.ok) return;
    expect(decision.outcome.order.status).toBe('PENDING');
    expect(decision.outcome.events).toEqual([
      {
        type: 'OrderStockOverrideApplied',
        payload: {
          orderId: 'order-1',
          items: [{ productId: 'p-1', requested: 5, available: 2, overridden: 3 }],
          reason: 'supplier confirmed',
          expectedRestockAt: '2026-03-10',
          approvedBy: 'admin-1',
        },
      },
    ]);
    expect(decision.outcome.saga).toMatchObject({ state: 'STARTED', deadline: AT + WEEK });
    expect(stockPhase(decision.outcome.saga)).toBe('backordered');
    expect(decision.override).toMatchObject({ approvedBy: 'admin-1', at: AT });
  });

  it('given an order that is not short, when an admin overrides, then it is refused ORDER_NOT_SHORT', () => {
    expect(decideStockOverride(pending(), undefined, request, AT, AT + WEEK)).toMatchObject({ ok: false, code: 'ORDER_NOT_SHORT' });
  });

  it('given an order waiting for backorders of its own products, when an admin overrides, then it is refused ORDER_NOT_SHORT', () => {
    expect(decideStockOverride(pending(backordered()), undefined, request, AT, AT + WEEK)).toMatchObject({ ok: false, code: 'ORDER_NOT_SHORT' });
  });

  it('given an order overridden already, when an admin overrides again, then it is refused ORDER_NOT_SHORT', () => {
    const overridden = { ...review, override: { items: [], reason: 'r', expectedRestockAt: null, approvedBy: 'a', at: AT } };
    expect(decideStockOverride(pending(heldForReview()), overridden, request, AT, AT + WEEK)).toMatchObject({ ok: false, code: 'ORDER_NOT_SHORT' });
  });

  it.each(['REJECTED', 'CANCELLED', 'CONFIRMED'] as const)('given a %s order (no longer waiting), when an admin overrides, then it is refused ORDER_NOT_WAITING', (status) => {
    const flow = { order: anOrder(status), saga: heldForReview() };
    expect(decideStockOverride(flow, review, request, AT, AT + WEEK)).toMatchObject({ ok: false, code: 'ORDER_NOT_WAITING' });
  });

  it('given a saga not held for review, when the override fact reaches it, then the saga refuses it', () => {
    expect(evolveSaga(aSaga('STARTED'), { type: 'StockOverrideApplied', detail: 'x', waitUntil: AT }, AT)).toMatchObject({ ok: false });
  });
});
