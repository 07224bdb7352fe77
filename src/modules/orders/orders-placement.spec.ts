import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppError } from '../../kernel/errors.js';
import { createScratchDatabase, dialects } from '../../../test/support/databases.js';
import { eventually } from '../../../test/support/kernel-test-module.js';
import { MAX_LINES, type OrderView, type PlaceOrderInput } from './index.js';
import { address, createOrdersHarness, orderInput, type OrdersHarness } from './spec-harness.js';

async function refusal(promise: Promise<unknown>): Promise<AppError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(error instanceof AppError)) throw new Error(`expected an AppError, got ${String(error)}`);
  return error;
}

describe.each(dialects)('placing and listing orders on %s', (dialect) => {
  let h: OrdersHarness;

  beforeAll(async () => {
    h = await createOrdersHarness({ scratch: await createScratchDatabase(dialect), eventually }, 60_000);
  });
  afterAll(async () => h?.close());

  const total = async () => Object.values(await h.api.countByStatus()).reduce((a, b) => a + b, 0);
  const placedEvents = async () => (await h.engine.log.query({ eventType: 'OrderPlaced', limit: 1000 })).events.length;
  const lines = (n: number) => Array.from({ length: n }, (_, i) => ({ productId: `p-${i}`, quantity: 1 }));

  const refused: [string, Partial<PlaceOrderInput> | Record<string, unknown>, string][] = [
    ['a unit price that disagrees', { items: [{ productId: 'p-widget', quantity: 2, unitPrice: 1000 }] }, 'PRICE_MISMATCH'],
    ['a total that disagrees', { totalAmount: 3500 }, 'TOTAL_MISMATCH'],
    ['a currency that disagrees', { currency: 'EUR' }, 'CURRENCY_MISMATCH'],
    ['an unknown product', { items: [{ productId: 'p-nope', quantity: 1 }] }, 'UNKNOWN_PRODUCT'],
    ['products in two currencies', { items: [{ productId: 'p-widget', quantity: 1 }, { productId: 'p-croissant', quantity: 1 }] }, 'MIXED_CURRENCY'],
    ['the same product twice', { items: [{ productId: 'p-widget', quantity: 1 }, { productId: 'p-widget', quantity: 2 }] }, 'DUPLICATE_PRODUCT'],
    ['no lines', { items: [] }, 'INVALID_ORDER'],
    [`more than ${MAX_LINES} lines`, { items: lines(MAX_LINES + 1) }, 'INVALID_ORDER'],
    ['a quantity of 0', { items: [{ productId: 'p-widget', quantity: 0 }] }, 'INVALID_ORDER'],
    ['a quantity over 1000', { items: [{ productId: 'p-widget', quantity: 1001 }] }, 'INVALID_ORDER'],
    ['a fractional quantity', { items: [{ productId: 'p-widget', quantity: 1.5 }] }, 'INVALID_ORDER'],
    ['a negative unit price', { items: [{ productId: 'p-widget', quantity: 1, unitPrice: -1 }] }, 'INVALID_ORDER'],
    ['an incomplete address', { shippingAddress: { ...address, city: '' } }, 'INVALID_ORDER'],
    ['an unknown field', { coupon: 'FREE' }, 'INVALID_ORDER'],
    ['an unknown channel', { sourceChannel: 'fax' }, 'INVALID_ORDER'],
  ];

  it.each(refused)('refuses %s (422-class validation) and writes nothing', async (_what, overrides, code) => {
    const [ordersBefore, eventsBefore] = [await total(), await placedEvents()];
    const error = await refusal(h.api.placeOrder(orderInput(overrides as Partial<PlaceOrderInput>)));
    expect(error).toMatchObject({ kind: 'validation', code });
    expect([await total(), await placedEvents()]).toEqual([ordersBefore, eventsBefore]);
  });

  it('names the catalog figures when it refuses a mismatch', async () => {
    const price = await refusal(h.api.placeOrder(orderInput({ items: [{ productId: 'p-widget', quantity: 2, unitPrice: 1000 }] })));
    expect(price.details).toEqual({ currency: 'USD', mismatches: [{ productId: 'p-widget', expected: 1250, received: 1000 }] });
    const sum = await refusal(h.api.placeOrder(orderInput({ totalAmount: 1 })));
    expect(sum.details).toEqual({ currency: 'USD', expected: 3499, received: 1 });
  });

  it('accepts client prices, total and currency that agree with the catalog', async () => {
    const order = await h.api.placeOrder(
      orderInput({ items: [{ productId: 'p-widget', quantity: 2, unitPrice: 1250 }, { productId: 'p-gadget', quantity: 1, unitPrice: 999 }], totalAmount: 3499, currency: 'USD' }),
    );
    expect(order).toMatchObject({ status: 'PENDING', totalAmount: 3499, currency: 'USD' });
  });

  it('gives 50 concurrent placements 50 distinct, consecutive order numbers', async () => {
    const orders = await Promise.all(Array.from({ length: 50 }, (_, i) => h.api.placeOrder(orderInput({ customerId: `burst-${i}` }))));
    const numbers = orders.map((o) => o.orderNumber);
    expect(new Set(numbers).size).toBe(50);
    for (const o of orders) expect(o.orderNumber).toMatch(new RegExp(`^ORD-${o.createdAt.slice(0, 4)}-\\d{6}$`));
    const counters = numbers.map((n) => Number(n.slice(-6))).sort((a, b) => a - b);
    expect(counters.at(-1)! - counters[0]!).toBe(49);
    expect(new Set(orders.map((o) => o.correlationId)).size).toBe(50);
  });

  it('lists newest first, filtered by customer and status, a page at a time', async () => {
    const placed: OrderView[] = [];
    for (let i = 0; i < 5; i++) placed.push(await h.api.placeOrder(orderInput({ customerId: 'lister', sourceChannel: 'mobile' })));
    await h.api.cancelOrder(placed[1]!.orderId, { by: 'customer' });

    const seen: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await h.api.listOrders({ customerId: 'lister', limit: 2, ...(cursor ? { cursor } : {}) });
      expect(page.orders.length).toBeLessThanOrEqual(2);
      seen.push(...page.orders.map((o) => o.orderId));
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
    expect(seen).toEqual(placed.map((o) => o.orderId).reverse());

    const cancelled = await h.api.listOrders({ customerId: 'lister', status: 'CANCELLED' });
    expect(cancelled).toEqual({ orders: [await h.api.getOrder(placed[1]!.orderId)], nextCursor: null });
    const all = await h.api.listOrders();
    expect(all.orders.length).toBe(50);
    expect(all.orders.map((o) => o.createdAt)).toEqual([...all.orders.map((o) => o.createdAt)].sort().reverse());
  });

  it('refuses a cursor it did not make, an unknown status and a bad limit', async () => {
    expect(await refusal(h.api.listOrders({ cursor: 'not-a-cursor' }))).toMatchObject({ kind: 'validation', code: 'INVALID_CURSOR' });
    expect(await refusal(h.api.listOrders({ status: 'LOST' as never }))).toMatchObject({ kind: 'validation', code: 'INVALID_STATUS' });
    expect(await refusal(h.api.listOrders({ limit: 0 }))).toMatchObject({ kind: 'validation', code: 'INVALID_LIMIT' });
    expect((await h.api.listOrders({ limit: 1000 })).orders.length).toBeLessThanOrEqual(200);
  });

  it('counts orders by status, every status present', async () => {
    const before = await h.api.countByStatus();
    const order = await h.api.placeOrder(orderInput());
    await h.api.cancelOrder(order.orderId, { by: 'admin' });
    const after = await h.api.countByStatus();
    expect(Object.keys(after).sort()).toEqual(['CANCELLED', 'CONFIRMED', 'DELIVERED', 'PAID', 'PAYMENT_FAILED', 'PENDING', 'REJECTED', 'SHIPPED']);
    expect(after.CANCELLED).toBe(before.CANCELLED + 1);
    expect(after.PENDING).toBe(before.PENDING);
  });

  it('answers undefined for an unknown order or saga, and shows no token for an order without one', async () => {
    expect(await h.api.getOrder('nope')).toBeUndefined();
    expect(await h.api.getSaga('nope')).toBeUndefined();
    expect(await h.api.getSagaForOrder('nope')).toBeUndefined();
    const { paymentMethod: _p, ...rest } = orderInput();
    const order = await h.api.placeOrder(rest);
    expect(order).toMatchObject({ paymentMethod: { type: 'none' }, billingAddress: null });
  });
});

describe.each(dialects)('the first placements of a year on %s', (dialect) => {
  it('numbers 20 concurrent first placements on a fresh database, each distinct and consecutive', async () => {
    const h = await createOrdersHarness({ scratch: await createScratchDatabase(dialect), eventually }, 60_000);
    try {
      // On PostgreSQL they race to make the year's number sequence; every one of them must get a number.
      const orders = await Promise.all(Array.from({ length: 20 }, (_, i) => h.api.placeOrder(orderInput({ customerId: `first-${i}` }))));
      const counters = orders.map((o) => Number(o.orderNumber.slice(-6))).sort((a, b) => a - b);
      expect(counters).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    } finally {
      await h.close();
    }
  });
});
