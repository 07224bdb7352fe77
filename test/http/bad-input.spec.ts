import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dialects } from '../support/databases.js';
import { address, createHttpHarness, expectProblem, orderBody, seedProducts, type HttpHarness } from './support.js';

const line = (productId: string, quantity: unknown, extra: Record<string, unknown> = {}) => ({ productId, quantity, ...extra });

describe.each(dialects)('bad input on %s', (dialect) => {
  let h: HttpHarness;
  beforeAll(async () => {
    h = await createHttpHarness(dialect);
    await seedProducts(h);
  });
  afterAll(async () => h?.close());

  const post = (body: unknown) => h.call('POST', '/orders', { token: h.tokens.alice, body });
  const raw = (payload: string, contentType = 'application/json') =>
    h.app.inject({ method: 'POST', url: '/orders', headers: { authorization: `Bearer ${h.tokens.alice}`, 'content-type': contentType }, payload });
  const orderCount = async () => (await h.flow.db.selectFrom('orders').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).n;

  it('answers each kind of bad order with a 4xx problem and writes nothing', async () => {
    const before = Number(await orderCount());
    expectProblem(await raw('{"items": ['), 400, 'MALFORMED_JSON');
    expectProblem(await raw(''), 400, 'MALFORMED_JSON');
    expectProblem(await raw('{"__proto__": {"admin": true}}'), 400, 'MALFORMED_JSON');
    expectProblem(await raw('items=1', 'application/x-www-form-urlencoded'), 415, 'UNSUPPORTED_MEDIA_TYPE');
    expectProblem(await post(orderBody({ coupon: 'FREE' })), 400, 'VALIDATION_FAILED');
    const nested = expectProblem(await post(orderBody({ items: [line('widget', 1, { discount: 5 })] })), 400, 'VALIDATION_FAILED');
    expect(nested.errors).toEqual(expect.arrayContaining([expect.objectContaining({ in: 'body', field: '/items/0/discount' })]));
    for (const quantity of [0, -1, 1001, 1.5, '2', null]) {
      const problem = expectProblem(await post(orderBody({ items: [line('widget', quantity)] })), 400, 'VALIDATION_FAILED');
      expect(problem.errors, `quantity ${String(quantity)}`).toEqual(expect.arrayContaining([expect.objectContaining({ field: '/items/0/quantity' })]));
    }
    const lines = Array.from({ length: 101 }, (_, i) => line(`p-${i}`, 1));
    expectProblem(await post(orderBody({ items: lines })), 400, 'VALIDATION_FAILED');
    expectProblem(await post(orderBody({ items: [] })), 400, 'VALIDATION_FAILED');
    expectProblem(await post(orderBody({ shippingAddress: { ...address, city: '' } })), 400, 'VALIDATION_FAILED');
    expectProblem(await post(orderBody({ items: [line('wid\u0000get', 1)] })), 400, 'VALIDATION_FAILED');
    expectProblem(await post(orderBody({ sourceChannel: 'fax' })), 400, 'VALIDATION_FAILED');
    expectProblem(await post(orderBody({ items: [line('nope', 1)] })), 422, 'UNKNOWN_PRODUCT');
    expectProblem(await post(orderBody({ items: [line('widget', 1), line('widget', 2)] })), 422, 'DUPLICATE_PRODUCT');

    const tampered = expectProblem(await post(orderBody({ items: [line('widget', 2, { unitPrice: 9.99 })] })), 422, 'PRICE_MISMATCH');
    expect(tampered.mismatches).toEqual([{ productId: 'widget', expected: 99.99, received: 9.99 }]);
    expectProblem(await post(orderBody({ items: [line('widget', 2)], totalAmount: 19.99 })), 422, 'TOTAL_MISMATCH');
    expectProblem(await post(orderBody({ items: [line('widget', 2, { unitPrice: 99.989 })] })), 422, 'BAD_AMOUNT');
    expectProblem(await post(orderBody({ currency: 'EUR' })), 422, 'CURRENCY_MISMATCH');

    const big = orderBody({ shippingAddress: { ...address, street: 'x'.repeat(65 * 1024) } });
    expectProblem(await post(big), 413, 'BODY_TOO_LARGE');
    expect(Number(await orderCount())).toBe(before);
  });

  it('refuses bad products and stock changes with problems', async () => {
    const admin = (url: string, body: unknown) => h.call('POST', url, { token: h.tokens.admin, body });
    expectProblem(await admin('/products', { productId: 'p', name: 'P', price: 1.234, stock: 1 }), 422, 'BAD_AMOUNT');
    expectProblem(await admin('/products', { productId: 'p', name: 'P', price: -1, stock: 1 }), 400, 'VALIDATION_FAILED');
    expectProblem(await admin('/products', { productId: 'p', name: 'P', price: 1, stock: 1, colour: 'red' }), 400, 'VALIDATION_FAILED');
    expectProblem(await admin('/products', { productId: 'widget', name: 'W', price: 1, stock: 1 }), 409, 'PRODUCT_EXISTS');
    const yen = await admin('/products', { productId: 'yen-thing', name: 'Yen', price: 1500, currency: 'JPY', stock: 3 });
    expect(yen.json()).toMatchObject({ price: 1500, currency: 'JPY' });
    expectProblem(await admin('/products/widget/stock', { delta: 0, reason: 'nothing' }), 422, 'BAD_DELTA');
    expectProblem(await admin('/products/widget/stock', { delta: -1_000_000, reason: 'loss' }), 409, 'INSUFFICIENT_STOCK');
    expectProblem(await admin('/products/nope/stock', { delta: 1, reason: 'restock' }), 404, 'PRODUCT_NOT_FOUND');
    expectProblem(await h.call('GET', '/products/nope', { token: h.tokens.alice }), 404, 'PRODUCT_NOT_FOUND');
  });

  it('never answers a generated order body with a 5xx nor leaves a partial order (property)', async () => {
    const productId = fc.oneof(fc.constantFrom('widget', 'gadget', 'nope', ''), fc.string({ maxLength: 8 }), fc.constant('g\u0000'));
    const quantity = fc.oneof(fc.integer({ min: -3, max: 1003 }), fc.integer({ min: 1, max: 3 }), fc.double({ noNaN: true }), fc.constant('1'), fc.constant(null));
    const amount = fc.oneof(fc.constantFrom(99.99, 49.99, 199.98, 0, 1e21, -1, 0.1 + 0.2), fc.double({ min: 0, max: 1e6, noNaN: true }), fc.constant('99.99'));
    const item = fc.record({ productId, quantity, unitPrice: amount, extra: fc.anything() }, { requiredKeys: ['productId', 'quantity'] });
    const shippingAddress = fc.oneof(
      fc.constant(address),
      fc.record({ street: fc.string(), city: fc.string(), postalCode: fc.string(), country: fc.string() }, { requiredKeys: [] }),
      fc.anything(),
    );
    const prices: Record<string, number> = { widget: 99.99, gadget: 49.99 };
    const validLine = fc
      .record({ productId: fc.constantFrom('widget', 'gadget'), quantity: fc.integer({ min: 1, max: 3 }), sayPrice: fc.boolean() })
      .map(({ productId, quantity, sayPrice }) => ({ productId, quantity, ...(sayPrice ? { unitPrice: prices[productId] } : {}) }));
    const valid = fc.record(
      {
        items: fc.uniqueArray(validLine, { selector: (l) => l.productId, minLength: 1, maxLength: 2 }),
        shippingAddress: fc.constant(address),
        currency: fc.constant('USD'),
        paymentMethod: fc.constantFrom({ token: 'tok_visa' }, { token: 'tok_chargeDeclined' }, {}),
        sourceChannel: fc.constantFrom('web', 'mobile', 'chat'),
      },
      { requiredKeys: ['items', 'shippingAddress'] },
    );
    const body = fc.oneof(
      { weight: 3, arbitrary: valid },
      { weight: 4, arbitrary: fc.record(
        {
          customerId: fc.constantFrom('alice', 'bob'),
          items: fc.array(item, { minLength: 0, maxLength: 4 }),
          currency: fc.constantFrom('USD', 'EUR', 'usd', 'JPY'),
          totalAmount: amount,
          shippingAddress,
          billingAddress: shippingAddress,
          paymentMethod: fc.oneof(fc.constant({ token: 'tok_visa' }), fc.constant({ token: 'tok_chargeDeclined' }), fc.anything()),
          sourceChannel: fc.constantFrom('web', 'mobile', 'fax'),
        },
        { requiredKeys: ['items', 'shippingAddress'] },
      ) },
      { weight: 1, arbitrary: fc.anything() },
    );

    let created = 0;
    await fc.assert(
      fc.asyncProperty(body, async (candidate) => {
        const response = await post(candidate);
        expect(response.statusCode, `${JSON.stringify(candidate)} → ${response.body}`).toBeLessThan(500);
        if (response.statusCode === 201) created += 1;
        else expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
      }),
      { numRuns: 120 },
    );

    // Every order in the database is whole: it has its lines and its OrderPlaced.
    const orders = await h.flow.db.selectFrom('orders').select(['order_id']).execute();
    const withItems = new Set((await h.flow.db.selectFrom('order_items').select('order_id').distinct().execute()).map((r: { order_id: string }) => r.order_id));
    const placed = new Set((await h.flow.engine.log.query({ eventType: 'OrderPlaced', limit: 1000 })).events.map((e) => e.aggregateId));
    for (const { order_id } of orders as { order_id: string }[]) {
      expect(withItems.has(order_id), `order ${order_id} has lines`).toBe(true);
      expect(placed.has(order_id), `order ${order_id} has OrderPlaced`).toBe(true);
    }
    expect(created).toBeGreaterThan(0);
    expect(orders.length).toBe(placed.size);
  });
});
