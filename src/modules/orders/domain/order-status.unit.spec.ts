import { describe, expect, it } from 'vitest';
import { canTransition, isTerminal, nextStatus, ORDER_STATUSES, ORDER_TRIGGERS, type OrderStatus, type OrderTrigger } from './order-status.js';

// Every (status, trigger) pair: where it leads, or '—' when the machine refuses it.
const R = '—';
const expected: Record<OrderStatus, Record<OrderTrigger, OrderStatus | typeof R>> = {
  PENDING: { confirm: 'CONFIRMED', reject: 'REJECTED', pay: R, failPayment: R, ship: R, deliver: R, cancel: 'CANCELLED', timeOut: 'CANCELLED' },
  CONFIRMED: { confirm: R, reject: R, pay: 'PAID', failPayment: 'PAYMENT_FAILED', ship: R, deliver: R, cancel: 'CANCELLED', timeOut: 'CANCELLED' },
  PAID: { confirm: R, reject: R, pay: R, failPayment: R, ship: 'SHIPPED', deliver: R, cancel: 'CANCELLED', timeOut: R },
  SHIPPED: { confirm: R, reject: R, pay: R, failPayment: R, ship: R, deliver: 'DELIVERED', cancel: R, timeOut: R },
  DELIVERED: { confirm: R, reject: R, pay: R, failPayment: R, ship: R, deliver: R, cancel: R, timeOut: R },
  REJECTED: { confirm: R, reject: R, pay: R, failPayment: R, ship: R, deliver: R, cancel: R, timeOut: R },
  PAYMENT_FAILED: { confirm: R, reject: R, pay: R, failPayment: R, ship: R, deliver: R, cancel: R, timeOut: R },
  CANCELLED: { confirm: R, reject: R, pay: R, failPayment: R, ship: R, deliver: R, cancel: R, timeOut: R },
};

const cases = ORDER_STATUSES.flatMap((status) => ORDER_TRIGGERS.map((trigger) => [status, trigger, expected[status][trigger]] as const));

describe('order status machine (SPEC §2)', () => {
  it.each(cases)('given %s, when %s, then %s', (status, trigger, outcome) => {
    expect(nextStatus(status, trigger)).toBe(outcome === R ? undefined : outcome);
  });

  // The SPEC graph, pair by pair: exactly these nine moves exist.
  const allowed = new Set([
    'PENDING>CONFIRMED',
    'CONFIRMED>PAID',
    'PAID>SHIPPED',
    'SHIPPED>DELIVERED',
    'PENDING>REJECTED',
    'CONFIRMED>PAYMENT_FAILED',
    'PENDING>CANCELLED',
    'CONFIRMED>CANCELLED',
    'PAID>CANCELLED',
  ]);
  const pairs = ORDER_STATUSES.flatMap((from) => ORDER_STATUSES.map((to) => [from, to, allowed.has(`${from}>${to}`)] as const));
  it.each(pairs)('given %s, moving to %s is allowed: %s', (from, to, ok) => {
    expect(canTransition(from, to)).toBe(ok);
  });

  it('has exactly the terminal statuses of the SPEC, and nothing leaves them', () => {
    expect(ORDER_STATUSES.filter(isTerminal)).toEqual(['DELIVERED', 'REJECTED', 'PAYMENT_FAILED', 'CANCELLED']);
    for (const status of ORDER_STATUSES.filter(isTerminal)) {
      expect(ORDER_STATUSES.filter((to) => canTransition(status, to))).toEqual([]);
    }
  });
});
