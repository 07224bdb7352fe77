import { describe, expect, it } from 'vitest';
import { evolveOrderStats, foldOrderStats, type CounterDelta, type OrderFacts, type ProjectedEvent } from './order-stats.js';

const at = '2024-05-06T10:00:00.000Z';

function placed(orderId: string, options: { total?: number; currency?: string; quantities?: number[]; occurredAt?: string } = {}): ProjectedEvent {
  const quantities = options.quantities ?? [2, 1];
  return {
    eventType: 'OrderPlaced',
    occurredAt: options.occurredAt ?? at,
    payload: {
      orderId,
      orderNumber: `ORD-${orderId}`,
      customerId: 'customer-1',
      items: quantities.map((quantity, i) => ({ productId: `p${i}`, quantity, unitPrice: 100 })),
      itemCount: quantities.reduce((units, quantity) => units + quantity, 0),
      totalAmount: options.total ?? 300,
      currency: options.currency ?? 'USD',
      shippingAddress: {},
    },
  };
}

const event = (eventType: string, payload: Record<string, unknown>): ProjectedEvent => ({ eventType, occurredAt: at, payload });
const paid = (orderId: string) => event('OrderPaid', { orderId, paymentId: `pay-${orderId}` });
const refund = (orderId: string, amount: number) => event('PaymentRefunded', { orderId, paymentId: `pay-${orderId}`, amount });

/** Folds events from nothing and returns the counters as a plain object `metric/dimension → value`. */
function counters(events: ProjectedEvent[]): Record<string, number> {
  const { deltas } = foldOrderStats(new Map(), events);
  return Object.fromEntries(deltas.map((d: CounterDelta) => [d.dimension ? `${d.metric}/${d.dimension}` : d.metric, d.delta]));
}

describe('evolveOrderStats', () => {
  it('counts a placed order: placed, units, lines, PENDING and its day, and keeps its total', () => {
    const { order, deltas } = evolveOrderStats(undefined, placed('o1', { quantities: [2, 3], total: 500 }));
    expect(order).toEqual({ orderId: 'o1', status: 'PENDING', currency: 'USD', totalAmount: 500, paidAmount: 0, refundedAmount: 0 });
    expect(deltas).toEqual([
      { metric: 'placed', dimension: '', delta: 1 },
      { metric: 'units', dimension: '', delta: 5 },
      { metric: 'lines', dimension: '', delta: 2 },
      { metric: 'status', dimension: 'PENDING', delta: 1 },
      { metric: 'placed_day', dimension: '2024-05-06', delta: 1 },
    ]);
  });

  it('moves the status count from the old status to the new one', () => {
    const pending = evolveOrderStats(undefined, placed('o1')).order!;
    const { order, deltas } = evolveOrderStats(pending, event('OrderConfirmed', { orderId: 'o1', totalAmount: 300, currency: 'USD' }));
    expect(order!.status).toBe('CONFIRMED');
    expect(deltas).toEqual([
      { metric: 'status', dimension: 'PENDING', delta: -1 },
      { metric: 'status', dimension: 'CONFIRMED', delta: 1 },
    ]);
  });

  it('adds the total kept from OrderPlaced to the revenue of its currency when the order is paid', () => {
    const confirmed: OrderFacts = { orderId: 'o1', status: 'CONFIRMED', currency: 'EUR', totalAmount: 1999, paidAmount: 0, refundedAmount: 0 };
    const { order, deltas } = evolveOrderStats(confirmed, paid('o1'));
    expect(order).toMatchObject({ status: 'PAID', paidAmount: 1999 });
    expect(deltas).toContainEqual({ metric: 'paid', dimension: 'EUR', delta: 1999 });
  });

  it('ignores a second OrderPlaced of the same order and events of orders it never saw placed', () => {
    const known = evolveOrderStats(undefined, placed('o1')).order!;
    expect(evolveOrderStats(known, placed('o1'))).toEqual({ order: known, deltas: [] });
    expect(evolveOrderStats(undefined, paid('ghost'))).toEqual({ order: undefined, deltas: [] });
    expect(evolveOrderStats(undefined, refund('ghost', 100))).toEqual({ order: undefined, deltas: [] });
  });

  it('ignores a status event that repeats the current status', () => {
    const pending = evolveOrderStats(undefined, placed('o1')).order!;
    const confirmed = evolveOrderStats(pending, event('OrderConfirmed', { orderId: 'o1' })).order!;
    expect(evolveOrderStats(confirmed, event('OrderConfirmed', { orderId: 'o1' })).deltas).toEqual([]);
  });

  it('takes a refund off the revenue of a paid order, never more than was paid', () => {
    const paidOrder: OrderFacts = { orderId: 'o1', status: 'CANCELLED', currency: 'USD', totalAmount: 300, paidAmount: 300, refundedAmount: 0 };
    const first = evolveOrderStats(paidOrder, refund('o1', 200));
    expect(first.deltas).toEqual([{ metric: 'refunded', dimension: 'USD', delta: 200 }]);
    const second = evolveOrderStats(first.order, refund('o1', 500));
    expect(second.deltas).toEqual([{ metric: 'refunded', dimension: 'USD', delta: 100 }]);
    expect(evolveOrderStats(second.order, refund('o1', 1)).deltas).toEqual([]);
  });

  it('does not count the refund of a payment that was never revenue (paid after a timeout cancelled the order)', () => {
    const cancelled: OrderFacts = { orderId: 'o1', status: 'CANCELLED', currency: 'USD', totalAmount: 300, paidAmount: 0, refundedAmount: 0 };
    expect(evolveOrderStats(cancelled, refund('o1', 300)).deltas).toEqual([]);
  });
});

describe('foldOrderStats', () => {
  it('sums the deltas of a whole flow per counter', () => {
    expect(
      counters([
        placed('o1', { total: 300, quantities: [1, 2] }),
        placed('o2', { total: 1000, quantities: [4], occurredAt: '2024-05-07T00:00:01Z' }),
        event('OrderConfirmed', { orderId: 'o1' }),
        paid('o1'),
        event('OrderShipped', { orderId: 'o1' }),
        event('OrderRejected', { orderId: 'o2', reason: 'insufficient_stock' }),
      ]),
    ).toEqual({
      placed: 2,
      units: 7,
      lines: 3,
      'status/SHIPPED': 1,
      'status/REJECTED': 1,
      'placed_day/2024-05-06': 1,
      'placed_day/2024-05-07': 1,
      'paid/USD': 300,
    });
  });

  it('nets a paid-then-cancelled-and-refunded order to zero revenue and counts it CANCELLED', () => {
    const result = counters([placed('o1', { total: 300 }), event('OrderConfirmed', { orderId: 'o1' }), paid('o1'), event('OrderCancelled', { orderId: 'o1', reason: 'changed my mind', refundRequired: true }), refund('o1', 300)]);
    expect(result).toMatchObject({ 'status/CANCELLED': 1, 'paid/USD': 300, 'refunded/USD': 300 });
    expect(result['status/PENDING']).toBeUndefined();
  });

  it('starts from the orders it is given and returns only those that changed', () => {
    const o1: OrderFacts = { orderId: 'o1', status: 'CONFIRMED', currency: 'USD', totalAmount: 300, paidAmount: 0, refundedAmount: 0 };
    const o2: OrderFacts = { ...o1, orderId: 'o2' };
    const { changed, deltas } = foldOrderStats(new Map([['o1', o1], ['o2', o2]]), [paid('o1'), event('StockAdjusted', { productId: 'p' })]);
    expect([...changed.keys()]).toEqual(['o1']);
    expect(deltas).toContainEqual({ metric: 'paid', dimension: 'USD', delta: 300 });
  });

  it('converges when a tail of the log is applied a second time, in order (a redelivery past the inbox)', () => {
    const events = [placed('o1'), event('OrderConfirmed', { orderId: 'o1' }), paid('o1'), placed('o2'), event('OrderShipped', { orderId: 'o1' }), event('OrderCancelled', { orderId: 'o2', reason: 'x', refundRequired: false })];
    const once = counters(events);
    for (let from = 0; from < events.length; from++) expect(counters([...events, ...events.slice(from)]), `again from event ${from}`).toEqual(once);
  });

  it('gives the same counters folded in one go or page by page', () => {
    const events = [placed('o1'), event('OrderConfirmed', { orderId: 'o1' }), paid('o1'), placed('o2'), event('OrderCancelled', { orderId: 'o1', reason: 'x', refundRequired: true }), refund('o1', 300)];
    const whole = counters(events);
    const known = new Map<string, OrderFacts>();
    const sums: Record<string, number> = {};
    for (const page of [events.slice(0, 2), events.slice(2, 5), events.slice(5)]) {
      const { changed, deltas } = foldOrderStats(known, page);
      for (const [id, order] of changed) known.set(id, order);
      for (const d of deltas) {
        const key = d.dimension ? `${d.metric}/${d.dimension}` : d.metric;
        sums[key] = (sums[key] ?? 0) + d.delta;
      }
    }
    expect(Object.fromEntries(Object.entries(sums).filter(([, v]) => v !== 0))).toEqual(whole);
  });
});
