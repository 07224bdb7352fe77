import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dialects } from '../support/databases.js';
import { createHttpHarness, eventually, expectProblem, orderBody, orderReaches, seedProducts, type HttpHarness } from './support.js';

interface Return {
  returnId: string;
  orderId: string;
  status: string;
  amount: number;
  refundedAmount: number | null;
  restocked: boolean | null;
}

describe.each(dialects)('returns and refunds over HTTP on %s', (dialect) => {
  let h: HttpHarness;
  beforeAll(async () => {
    h = await createHttpHarness(dialect);
    await seedProducts(h);
  });
  afterAll(async () => h?.close());

  const admin = () => h.tokens.admin;
  const getOrder = async (orderId: string) => (await h.call('GET', `/orders/${orderId}`, { token: admin() })).json();
  const reach = (orderId: string, status: string) => orderReaches(h, orderId, status);
  const onHand = async (productId: string) => ((await h.call('GET', `/products/${productId}/inventory`, { token: admin() })).json() as { onHand: number }).onHand;
  const revenue = async () => ((await h.call('GET', '/api/stats', { token: admin() })).json() as { revenue: { USD: { paid: number; refunded: number; net: number } } }).revenue.USD;
  const step = async (returnId: string, name: 'approve' | 'reject' | 'receive', body?: unknown) => {
    const response = await h.call('POST', `/returns/${returnId}/${name}`, { token: admin(), body });
    expect(response.statusCode, response.body).toBe(200);
    return response.json() as Return;
  };

  /** An order of 2 widgets (99.99) and 1 gadget (49.99), delivered. */
  async function deliveredOrder(): Promise<string> {
    const placed = await h.call('POST', '/orders', { token: h.tokens.alice, body: orderBody({ items: [{ productId: 'widget', quantity: 2 }, { productId: 'gadget', quantity: 1 }] }) });
    expect(placed.statusCode, placed.body).toBe(201);
    const { orderId } = placed.json() as { orderId: string };
    await reach(orderId, 'SHIPPED');
    const { shipmentId } = await getOrder(orderId);
    await h.call('POST', `/shipments/${shipmentId}/dispatch`, { token: admin() });
    await h.call('POST', `/shipments/${shipmentId}/deliver`, { token: admin() });
    await reach(orderId, 'DELIVERED');
    await h.flow.settle();
    return orderId;
  }

  it('a return of one of two delivered lines: approved, received, restocked and refunded the line\u2019s amount; the refunded total and the revenue show it', async () => {
    const orderId = await deliveredOrder();
    const gadgetsBefore = await onHand('gadget');
    const revenueBefore = await revenue();

    const requested = await h.call('POST', `/orders/${orderId}/returns`, { token: h.tokens.alice, body: { lines: [{ productId: 'gadget', quantity: 1 }], reason: 'too small' } });
    expect(requested.statusCode, requested.body).toBe(201);
    const created = requested.json() as Return;
    expect(created).toMatchObject({ orderId, status: 'REQUESTED', lines: [{ productId: 'gadget', quantity: 1 }], amount: 49.99, currency: 'USD', reason: 'too small', refundedAmount: null });
    expect(requested.headers.location).toBe(`/returns/${created.returnId}`);

    expect(await step(created.returnId, 'approve')).toMatchObject({ status: 'APPROVED' });
    expect(await step(created.returnId, 'receive', { restock: true })).toMatchObject({ status: 'RECEIVED', restocked: true });
    await eventually(async () => ((await h.call('GET', `/returns/${created.returnId}`, { token: h.tokens.alice })).json() as Return).status === 'REFUNDED', 'the return refunded');
    await h.flow.settle();

    expect((await h.call('GET', `/returns/${created.returnId}`, { token: h.tokens.alice })).json()).toMatchObject({ status: 'REFUNDED', refundedAmount: 49.99 });
    expect(await onHand('gadget')).toBe(gadgetsBefore + 1);
    const order = await getOrder(orderId);
    expect(order).toMatchObject({ status: 'DELIVERED', payment: { status: 'succeeded', amount: 249.97, refundedAmount: 49.99 } });
    const after = await revenue();
    expect(after.refunded).toBeCloseTo(revenueBefore.refunded + 49.99, 2);
    expect(after.net).toBeCloseTo(revenueBefore.net - 49.99, 2);
    expect((await h.call('GET', `/orders/${orderId}/returns`, { token: h.tokens.alice })).json()).toMatchObject({ returns: [{ returnId: created.returnId, status: 'REFUNDED' }] });

    // Every step is in the order's audit trail with its actor.
    const audit = (await h.call('GET', `/orders/${orderId}/audit`, { token: h.tokens.alice })).json() as { entries: { action: string; actor: { role: string } }[] };
    const roles = Object.fromEntries(audit.entries.filter((e) => e.action.startsWith('Return')).map((e) => [e.action, e.actor.role]));
    expect(roles).toEqual({ ReturnRequested: 'customer', ReturnApproved: 'admin', ReturnReceived: 'admin' });
  });

  it('damaged goods are refunded without going back into stock; refunds never add up to more than the charge', async () => {
    const orderId = await deliveredOrder();
    const widgetsBefore = await onHand('widget');
    const first = (await h.call('POST', `/orders/${orderId}/returns`, { token: h.tokens.alice, body: { lines: [{ productId: 'widget', quantity: 2 }, { productId: 'gadget', quantity: 1 }] } })).json() as Return;
    expect(first.amount).toBe(249.97);
    await step(first.returnId, 'approve');
    expect(await step(first.returnId, 'receive', { restock: false })).toMatchObject({ status: 'RECEIVED', restocked: false });
    await eventually(async () => ((await h.call('GET', `/returns/${first.returnId}`, { token: admin() })).json() as Return).status === 'REFUNDED', 'the return refunded');
    await h.flow.settle();
    expect(await onHand('widget')).toBe(widgetsBefore);
    expect((await getOrder(orderId)).payment).toMatchObject({ amount: 249.97, refundedAmount: 249.97 });
    // Everything is returned: a further return asks for units that are not left.
    expectProblem(await h.call('POST', `/orders/${orderId}/returns`, { token: h.tokens.alice, body: { lines: [{ productId: 'gadget', quantity: 1 }] } }), 422, 'RETURN_TOO_LARGE');
    expect(await h.flow.apis.payments.refundedAmountForOrder(orderId)).toBe(24_997);
  });

  it('refuses what a return may not do, with problem details', async () => {
    const orderId = await deliveredOrder();
    const returns = `/orders/${orderId}/returns`;
    expectProblem(await h.call('POST', returns, { token: h.tokens.alice, body: { lines: [{ productId: 'widget', quantity: 3 }] } }), 422, 'RETURN_TOO_LARGE');
    expectProblem(await h.call('POST', returns, { token: h.tokens.alice, body: { lines: [{ productId: 'not-ordered', quantity: 1 }] } }), 422, 'RETURN_TOO_LARGE');
    expectProblem(await h.call('POST', returns, { token: h.tokens.alice, body: { lines: [] } }), 400);
    expectProblem(await h.call('POST', returns, { token: h.tokens.bob, body: { lines: [{ productId: 'widget', quantity: 1 }] } }), 404, 'ORDER_NOT_FOUND');

    const pending = await h.call('POST', '/orders', { token: h.tokens.alice, body: orderBody({ paymentMethod: { token: 'tok_timeout' } }) });
    expectProblem(await h.call('POST', `/orders/${pending.json().orderId}/returns`, { token: h.tokens.alice, body: { lines: [{ productId: 'widget', quantity: 1 }] } }), 409, 'RETURN_NOT_ALLOWED');

    const created = (await h.call('POST', returns, { token: h.tokens.alice, body: { lines: [{ productId: 'widget', quantity: 1 }] } })).json() as Return;
    expectProblem(await h.call('POST', `/returns/${created.returnId}/approve`, { token: h.tokens.alice }), 403);
    expectProblem(await h.call('GET', `/returns/${created.returnId}`, { token: h.tokens.bob }), 404, 'RETURN_NOT_FOUND');
    expectProblem(await h.call('POST', `/returns/${created.returnId}/receive`, { token: admin(), body: {} }), 409, 'RETURN_NOT_PENDING');
    expect(await step(created.returnId, 'reject', { reason: 'worn' })).toMatchObject({ status: 'REJECTED', rejectionReason: 'worn' });
    expectProblem(await h.call('POST', `/returns/${created.returnId}/approve`, { token: admin() }), 409, 'RETURN_NOT_PENDING');
    expectProblem(await h.call('POST', '/returns/no-such-return/approve', { token: admin() }), 404, 'RETURN_NOT_FOUND');
    // A rejected return gives its units back: they can be asked for again.
    expect((await h.call('POST', returns, { token: h.tokens.alice, body: { lines: [{ productId: 'widget', quantity: 2 }] } })).statusCode).toBe(201);
  });

  it('refuses a return once the window has closed (RETURN_WINDOW_DAYS=0: no returns at all)', async () => {
    const closed = await createHttpHarness(dialect, { settings: { returnWindowMs: 0 } });
    try {
      await seedProducts(closed);
      const placed = (await closed.call('POST', '/orders', { token: closed.tokens.alice, body: orderBody() })).json() as { orderId: string };
      await eventually(async () => (await closed.flow.apis.orders.getOrder(placed.orderId))?.status === 'SHIPPED', 'shipped');
      const { shipmentId } = (await closed.flow.apis.orders.getOrder(placed.orderId))!;
      await closed.call('POST', `/shipments/${shipmentId}/dispatch`, { token: closed.tokens.admin });
      await closed.call('POST', `/shipments/${shipmentId}/deliver`, { token: closed.tokens.admin });
      await eventually(async () => (await closed.flow.apis.orders.getOrder(placed.orderId))?.status === 'DELIVERED', 'delivered');
      const refused = await closed.call('POST', `/orders/${placed.orderId}/returns`, { token: closed.tokens.alice, body: { lines: [{ productId: 'widget', quantity: 1 }] } });
      expect(expectProblem(refused, 409, 'RETURN_WINDOW_CLOSED')).toMatchObject({ closedAt: expect.any(String) });
    } finally {
      await closed.close();
    }
  });
});
