import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dialects } from '../support/databases.js';
import { createHttpHarness, expectProblem, orderBody, orderReaches, type HttpHarness } from './support.js';

describe.each(dialects)('backorders and stock overrides over HTTP on %s', (dialect) => {
  let h: HttpHarness;
  beforeAll(async () => {
    h = await createHttpHarness(dialect, { settings: { shortOrderReviewMs: 3_600_000 } });
    for (const product of [
      { productId: 'bolt', name: 'Bolt', price: 1.5, stock: 2, allowBackorders: true },
      { productId: 'gear', name: 'Gear', price: 2.5, stock: 1 },
    ]) {
      const response = await h.call('POST', '/products', { token: h.tokens.admin, body: product });
      expect(response.statusCode, response.body).toBe(201);
    }
  });
  afterAll(async () => h?.close());

  const place = async (productId: string, quantity: number) => {
    const response = await h.call('POST', '/orders', { token: h.tokens.alice, body: orderBody({ items: [{ productId, quantity }] }) });
    expect(response.statusCode, response.body).toBe(201);
    return (response.json() as { orderId: string }).orderId;
  };
  const override = (orderId: string, token: string, body: unknown) => h.call('POST', `/orders/${orderId}/override`, { token, body });

  it('products show and change allowBackorders; the inventory view shows backordered units apart from available', async () => {
    expect((await h.call('GET', '/products/gear', { token: h.tokens.alice })).json()).toMatchObject({ allowBackorders: false, backordered: 0 });
    expectProblem(await h.call('PATCH', '/products/gear', { token: h.tokens.alice, body: { allowBackorders: true } }), 403, 'ADMIN_ONLY');
    expectProblem(await h.call('PATCH', '/products/nope', { token: h.tokens.admin, body: { allowBackorders: true } }), 404, 'PRODUCT_NOT_FOUND');
    expectProblem(await h.call('PATCH', '/products/gear', { token: h.tokens.admin, body: { allowBackorders: 'yes' } }), 400);
    const patched = await h.call('PATCH', '/products/gear', { token: h.tokens.admin, body: { allowBackorders: true } });
    expect(patched.statusCode, patched.body).toBe(200);
    expect(patched.json()).toMatchObject({ productId: 'gear', allowBackorders: true });
    expect((await h.call('PATCH', '/products/gear', { token: h.tokens.admin, body: { allowBackorders: false } })).json()).toMatchObject({ allowBackorders: false });
  });

  it('an order waiting for backordered stock shows what it waits for; a restock ships it', async () => {
    const orderId = await place('bolt', 5);
    await h.flow.settle();
    const order = (await h.call('GET', `/orders/${orderId}`, { token: h.tokens.alice })).json();
    expect(order).toMatchObject({ status: 'PENDING', backorders: [{ productId: 'bolt', quantity: 3, allocated: 0, status: 'WAITING' }], stockReview: null });
    expect((await h.call('GET', '/products/bolt/inventory', { token: h.tokens.alice })).json()).toEqual({ productId: 'bolt', onHand: 2, reserved: 2, available: 0, backordered: 3, reorderPoint: 0 });
    // Not held for review: an override is refused.
    expectProblem(await override(orderId, h.tokens.admin, { reason: 'r' }), 409, 'ORDER_NOT_SHORT');

    const restocked = await h.call('POST', '/products/bolt/stock', { token: h.tokens.admin, body: { delta: 10, reason: 'restock' } });
    expect(restocked.json()).toMatchObject({ onHand: 12, reserved: 5, available: 7, backordered: 0 });
    await orderReaches(h, orderId, 'SHIPPED');
    expect((await h.call('GET', `/orders/${orderId}`, { token: h.tokens.alice })).json()).toMatchObject({ backorders: [{ status: 'FULFILLED', allocated: 3 }] });
  });

  it('POST /orders/:id/override: 403 for a customer, 400 without a reason, 404 for an unknown order; an admin\u2019s is applied once, then 409', async () => {
    const orderId = await place('gear', 3);
    await h.flow.settle();
    expect((await h.call('GET', `/orders/${orderId}`, { token: h.tokens.alice })).json()).toMatchObject({
      status: 'PENDING',
      stockReview: { shortages: [{ productId: 'gear', requested: 3, available: 1 }], override: null },
      backorders: [{ productId: 'gear', quantity: 2, status: 'REVIEW' }],
    });

    expectProblem(await override(orderId, h.tokens.alice, { reason: 'please' }), 403, 'ADMIN_ONLY');
    expectProblem(await override(orderId, h.tokens.admin, {}), 400, 'VALIDATION_FAILED');
    expectProblem(await override(orderId, h.tokens.admin, { reason: 'r', expectedRestockAt: 'next week' }), 422, 'INVALID_OVERRIDE');
    expectProblem(await override('no-such-order', h.tokens.admin, { reason: 'r' }), 404, 'ORDER_NOT_FOUND');

    const applied = await override(orderId, h.tokens.admin, { reason: 'supplier confirmed', expectedRestockAt: '2026-12-24' });
    expect(applied.statusCode, applied.body).toBe(200);
    expect(applied.json()).toMatchObject({ orderId, status: 'PENDING' });
    expectProblem(await override(orderId, h.tokens.admin, { reason: 'again' }), 409, 'ORDER_NOT_SHORT');
    await h.flow.settle();
    expect((await h.call('GET', `/orders/${orderId}`, { token: h.tokens.alice })).json()).toMatchObject({
      stockReview: { override: { reason: 'supplier confirmed', approvedBy: 'admin-1', expectedRestockAt: '2026-12-24', items: [{ productId: 'gear', requested: 3, available: 1, overridden: 2 }] } },
      backorders: [{ productId: 'gear', quantity: 2, status: 'WAITING' }],
    });

    await h.call('POST', '/products/gear/stock', { token: h.tokens.admin, body: { delta: 2, reason: 'restock' } });
    await orderReaches(h, orderId, 'SHIPPED');
    expectProblem(await override(orderId, h.tokens.admin, { reason: 'late' }), 409, 'ORDER_NOT_WAITING');
  });
});
