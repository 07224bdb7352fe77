import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SAGA_TIMEOUT_TIMER } from '../../src/modules/orders/index.js';
import { dialects } from '../support/databases.js';
import { address, createHttpHarness, eventually, expectProblem, orderBody, orderReaches, seedProducts, type HttpHarness } from './support.js';

const moved = { street: '9 Elm Rd', city: 'Shelbyville', postalCode: '54321', country: 'US' };
const other = { street: '3 Oak Ave', city: 'Capital City', postalCode: '99999', country: 'US' };

describe.each(dialects)('order edits over HTTP on %s', (dialect) => {
  let h: HttpHarness;
  beforeAll(async () => {
    h = await createHttpHarness(dialect);
    await seedProducts(h);
  });
  afterAll(async () => h?.close());

  const read = async (orderId: string, token = h.tokens.admin) => {
    const response = await h.call('GET', `/orders/${orderId}`, { token });
    expect(response.statusCode, response.body).toBe(200);
    return { order: response.json() as { status: string; shippingAddress: unknown; shipmentId: string | null; correlationId: string }, etag: response.headers.etag as string };
  };
  const reach = (orderId: string, status: string) => orderReaches(h, orderId, status);
  const place = async (card = 'tok_visa', token = h.tokens.alice) => {
    const placed = await h.call('POST', '/orders', { token, body: orderBody({ paymentMethod: { token: card } }) });
    expect(placed.statusCode, placed.body).toBe(201);
    return placed.json() as { orderId: string; correlationId: string };
  };
  const edit = (orderId: string, etag: string | undefined, body: unknown, token = h.tokens.alice, headers: Record<string, string> = {}) =>
    h.call('PATCH', `/orders/${orderId}`, { token, body, headers: { ...(etag === undefined ? {} : { 'if-match': etag }), ...headers } });
  const eventsOf = async (correlationId: string) =>
    ((await h.call('GET', `/api/events?correlationId=${correlationId}&limit=100`, { token: h.tokens.admin })).json() as { events: { eventType: string; payload: Record<string, unknown> }[] }).events;

  it('changes the address of a shipped order before dispatch: a new ETag, OrderUpdated with the old and new address, the shipment readdressed', async () => {
    const { orderId, correlationId } = await place();
    await reach(orderId, 'SHIPPED');
    await h.flow.settle();
    const { etag, order } = await read(orderId, h.tokens.alice);
    expect(etag).toMatch(/^"[\w-]+"$/);

    const edited = await edit(orderId, etag, { shippingAddress: moved, reason: 'moved house' });
    expect(edited.statusCode, edited.body).toBe(200);
    expect(edited.json()).toMatchObject({ orderId, status: 'SHIPPED', shippingAddress: moved });
    expect(edited.headers.etag).not.toBe(etag);
    expect((await read(orderId)).etag).toBe(edited.headers.etag);

    const updated = (await eventsOf(correlationId)).filter((e) => e.eventType === 'OrderUpdated');
    expect(updated.map((e) => e.payload)).toEqual([
      { orderId, changes: { items: { added: [], removed: [], modified: [] }, shippingAddress: { old: address, new: moved }, totalAmount: { old: 19998, new: 19998 } }, reason: 'moved house' },
    ]);
    await eventually(async () => (await h.call('GET', `/shipments/${order.shipmentId}`, { token: h.tokens.admin })).json().shippingAddress?.city === 'Shelbyville', 'the shipment readdressed');
    // The saga went on as it was: an edit is no step of it.
    expect((await read(orderId)).order.status).toBe('SHIPPED');
  });

  it('refuses an address change after the shipment was dispatched, and the order stays as it was', async () => {
    const { orderId } = await place();
    await reach(orderId, 'SHIPPED');
    const { order } = await read(orderId);
    expect((await h.call('POST', `/shipments/${order.shipmentId}/dispatch`, { token: h.tokens.admin })).statusCode).toBe(200);
    await eventually(async () => (await h.flow.apis.orders.getOrder(orderId))?.dispatchedAt !== null, 'the dispatch recorded on the order');
    const { etag } = await read(orderId);
    expectProblem(await edit(orderId, etag, { shippingAddress: moved }), 409, 'ORDER_NOT_EDITABLE');
    expect((await read(orderId)).order.shippingAddress).toEqual(address);
    expect((await read(orderId)).etag).toBe(etag);
  });

  it('two concurrent edits from one ETag: one 200, the other 409 ORDER_CHANGED; the winner\u2019s address stays', async () => {
    // tok_timeout: the gateway never answers, so nothing else changes the order meanwhile.
    const { orderId, correlationId } = await place('tok_timeout');
    await reach(orderId, 'CONFIRMED');
    const { etag } = await read(orderId);
    const answers = await Promise.all([edit(orderId, etag, { shippingAddress: moved }), edit(orderId, etag, { shippingAddress: other }, h.tokens.admin)]);
    expect(answers.map((a) => a.statusCode).sort()).toEqual([200, 409]);
    const lost = answers.find((a) => a.statusCode === 409)!;
    expectProblem(lost, 409, 'ORDER_CHANGED');
    const won = answers.find((a) => a.statusCode === 200)!.json() as { shippingAddress: unknown };
    expect((await read(orderId)).order.shippingAddress).toEqual(won.shippingAddress);
    expect((await eventsOf(correlationId)).filter((e) => e.eventType === 'OrderUpdated')).toHaveLength(1);
  });

  it('answers bad edits with problem details and changes nothing', async () => {
    const { orderId } = await place('tok_timeout');
    await reach(orderId, 'CONFIRMED');
    const { etag } = await read(orderId);
    expectProblem(await edit(orderId, undefined, { shippingAddress: moved }), 428, 'ORDER_VERSION_REQUIRED');
    expectProblem(await edit(orderId, '*', { shippingAddress: moved }), 428, 'ORDER_VERSION_REQUIRED');
    expectProblem(await edit(orderId, '"not-the-version"', { shippingAddress: moved }), 409, 'ORDER_CHANGED');
    expectProblem(await edit(orderId, etag, { reason: 'nothing else' }), 422, 'INVALID_EDIT');
    // Items change only once the order is paid.
    expectProblem(await edit(orderId, etag, { items: [{ productId: 'widget', quantity: 1 }] }), 409, 'ORDER_NOT_EDITABLE');
    expectProblem(await edit(orderId, etag, { items: [{ productId: 'widget', quantity: 0 }] }), 400);
    expectProblem(await edit(orderId, etag, { items: [{ productId: 'widget', quantity: 1 }, { productId: 'widget', quantity: 2 }] }), 422, 'DUPLICATE_PRODUCT');
    expectProblem(await edit(orderId, etag, { items: [{ productId: 'no-such-product', quantity: 1 }] }), 422, 'UNKNOWN_PRODUCT');
    expectProblem(await edit(orderId, etag, { shippingAddress: { ...moved, city: '' } }), 400);
    expectProblem(await edit(orderId, etag, { shippingAddress: moved }, h.tokens.bob), 404, 'ORDER_NOT_FOUND');
    expectProblem(await h.call('PATCH', `/orders/${orderId}`, { body: { shippingAddress: moved }, headers: { 'if-match': etag } }), 401);
    expectProblem(await edit('no-such-order', etag, { shippingAddress: moved }), 404, 'ORDER_NOT_FOUND');
    // An address equal to the one it has: accepted, no event, the same ETag.
    const same = await edit(orderId, etag, { shippingAddress: address });
    expect(same.statusCode, same.body).toBe(200);
    expect(same.headers.etag).toBe(etag);
    expect((await read(orderId)).etag).toBe(etag);

    // A final order is no longer editable.
    await h.call('POST', `/orders/${orderId}/cancel`, { token: h.tokens.alice });
    const final = await read(orderId);
    expectProblem(await edit(orderId, final.etag, { shippingAddress: moved }), 409, 'ORDER_NOT_EDITABLE');
  });

  it('an order placed by a customer, edited by an admin and cancelled by the saga\u2019s timeout shows the three actors in its audit trail', async () => {
    const placed = await h.call('POST', '/orders', { token: h.tokens.alice, body: orderBody({ paymentMethod: { token: 'tok_timeout' } }), headers: { 'user-agent': 'shop-app/2.1' }, remoteAddress: '203.0.113.7' });
    const { orderId } = placed.json() as { orderId: string };
    await reach(orderId, 'CONFIRMED');
    const { etag } = await read(orderId);
    const edited = await edit(orderId, etag, { shippingAddress: moved, reason: 'customer called support' }, h.tokens.admin, { 'user-agent': 'ops-console' });
    expect(edited.statusCode, edited.body).toBe(200);
    await h.flow.fireTimer(`${SAGA_TIMEOUT_TIMER}:${orderId}`);
    await reach(orderId, 'CANCELLED');
    await h.flow.settle();

    const audit = (await h.call('GET', `/orders/${orderId}/audit`, { token: h.tokens.alice })).json() as {
      entries: { action: string; actor: { sub: string; role: string; ip?: string; userAgent?: string }; reason?: string }[];
    };
    const entry = (action: string) => audit.entries.find((e) => e.action === action);
    expect(entry('OrderPlaced')?.actor).toEqual({ sub: 'alice', role: 'customer', ip: '203.0.113.7', userAgent: 'shop-app/2.1' });
    expect(entry('OrderUpdated')).toMatchObject({ actor: { sub: 'admin-1', role: 'admin', ip: '127.0.0.1', userAgent: 'ops-console' }, reason: 'customer called support' });
    // The system has no address and no user agent.
    expect(entry('OrderCancelled')).toMatchObject({ actor: { sub: 'system:orders', role: 'system' }, reason: 'timeout' });
    expect(entry('OrderCancelled')?.actor).toEqual({ sub: 'system:orders', role: 'system' });
    expect(new Set(audit.entries.map((e) => e.actor.role))).toEqual(new Set(['customer', 'admin', 'system']));
  });
});
