import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dialects } from '../support/databases.js';
import { createHttpHarness, expectProblem, orderBody, orderReaches, seedProducts, type HttpHarness } from './support.js';

interface AuditEntry {
  at: string;
  action: string;
  actor: { sub: string; role: string; ip?: string; userAgent?: string };
  reason?: string;
  eventId: string;
}

describe.each(dialects)('the audit trail of an order on %s', (dialect) => {
  let h: HttpHarness;
  beforeAll(async () => {
    h = await createHttpHarness(dialect);
    await seedProducts(h);
  });
  afterAll(async () => h?.close());

  const reach = (orderId: string, status: string) => orderReaches(h, orderId, status);
  const auditOf = async (orderId: string, token: string) => {
    const response = await h.call('GET', `/orders/${orderId}/audit`, { token });
    expect(response.statusCode, response.body).toBe(200);
    return (response.json() as { entries: AuditEntry[] }).entries;
  };

  it('names who did each step: the customer who placed it, the system for the saga\u2019s steps, the admin who dispatched it, with address and user agent', async () => {
    const placed = await h.call('POST', '/orders', { token: h.tokens.alice, body: orderBody(), headers: { 'user-agent': 'shop-app/2.1' }, remoteAddress: '203.0.113.7' });
    expect(placed.statusCode, placed.body).toBe(201);
    const { orderId } = placed.json() as { orderId: string };
    await reach(orderId, 'SHIPPED');
    const { shipmentId } = (await h.call('GET', `/orders/${orderId}`, { token: h.tokens.admin })).json() as { shipmentId: string };
    const dispatched = await h.call('POST', `/shipments/${shipmentId}/dispatch`, { token: h.tokens.admin, headers: { 'user-agent': 'ops-console' }, remoteAddress: '198.51.100.20' });
    expect(dispatched.statusCode, dispatched.body).toBe(200);
    await h.flow.settle();

    const entries = await auditOf(orderId, h.tokens.alice);
    const byAction = (action: string) => entries.find((e) => e.action === action);
    expect(entries[0]).toEqual({ at: expect.any(String), action: 'OrderPlaced', actor: { sub: 'alice', role: 'customer', ip: '203.0.113.7', userAgent: 'shop-app/2.1' }, eventId: expect.any(String) });
    for (const action of ['InventoryReserved', 'OrderConfirmed', 'PaymentProcessed', 'OrderPaid', 'ShipmentCreated', 'OrderShipped']) {
      expect(byAction(action)?.actor, action).toEqual({ sub: expect.stringMatching(/^system:/), role: 'system' });
    }
    expect(byAction('ShipmentDispatched')?.actor).toEqual({ sub: 'admin-1', role: 'admin', ip: '198.51.100.20', userAgent: 'ops-console' });
    // In log order (the event store's), each entry one of the flow's events. Not necessarily in
    // time order: on PostgreSQL two consumers' transactions append side by side, and one that read
    // the clock a millisecond earlier may commit its event later.
    const events = (await h.call('GET', `/api/events?correlationId=${(placed.json() as { correlationId: string }).correlationId}&limit=100`, { token: h.tokens.admin })).json() as {
      events: { eventId: string; metadata?: { actor?: unknown } }[];
    };
    expect(entries.map((e) => e.eventId)).toEqual(events.events.map((e) => e.eventId));
    // The event store keeps the actor in the envelope's metadata.
    expect(events.events[0]?.metadata?.actor).toEqual({ sub: 'alice', role: 'customer', ip: '203.0.113.7', userAgent: 'shop-app/2.1' });

    // An admin sees every order's trail; another customer gets the same 404 as for a missing order.
    expect((await auditOf(orderId, h.tokens.admin)).map((e) => e.eventId)).toEqual(entries.map((e) => e.eventId));
    expectProblem(await h.call('GET', `/orders/${orderId}/audit`, { token: h.tokens.bob }), 404, 'ORDER_NOT_FOUND');
    expectProblem(await h.call('GET', `/orders/no-such-order/audit`, { token: h.tokens.admin }), 404, 'ORDER_NOT_FOUND');
    expectProblem(await h.call('GET', `/orders/${orderId}/audit`), 401);
  });

  it('records the reason a command gave: a customer\u2019s cancellation with its reason, the release of stock as the system\u2019s', async () => {
    // A payment that never answers holds the order before shipping, whatever the delivery's pace.
    const placed = await h.call('POST', '/orders', { token: h.tokens.bob, body: orderBody({ paymentMethod: { token: 'tok_timeout' } }), headers: { 'user-agent': 'curl/8.5' } });
    const { orderId } = placed.json() as { orderId: string };
    await reach(orderId, 'CONFIRMED');
    // Sent without a user agent (app.inject sends one unless told otherwise).
    const cancelled = await h.call('POST', `/orders/${orderId}/cancel`, { token: h.tokens.bob, body: { reason: 'ordered the wrong size' }, headers: { 'user-agent': '' } });
    expect(cancelled.statusCode, cancelled.body).toBe(202);
    await h.flow.settle();

    const entries = await auditOf(orderId, h.tokens.bob);
    const cancel = entries.find((e) => e.action === 'OrderCancelled');
    // No user agent on the cancel: none is recorded. The address is the socket's (app.inject's).
    expect(cancel).toMatchObject({ actor: { sub: 'bob', role: 'customer', ip: '127.0.0.1' }, reason: 'ordered the wrong size' });
    expect(cancel?.actor).not.toHaveProperty('userAgent');
    expect(entries[0]?.actor).toEqual({ sub: 'bob', role: 'customer', ip: '127.0.0.1', userAgent: 'curl/8.5' });
    const released = entries.filter((e) => e.action === 'InventoryReleased');
    for (const entry of released) expect(entry.actor.role).toBe('system');
  });

  it('believes X-Forwarded-For only from a trusted proxy (TRUST_PROXY)', async () => {
    const forwarded = { 'x-forwarded-for': '192.0.2.44' };
    const untrusting = await h.call('POST', '/orders', { token: h.tokens.alice, body: orderBody(), headers: forwarded, remoteAddress: '10.1.2.3' });
    expect((await auditOf(untrusting.json().orderId, h.tokens.admin))[0]?.actor.ip).toBe('10.1.2.3');

    const behindProxy = await createHttpHarness(dialect, { trustProxy: ['10.0.0.0/8'] });
    try {
      await seedProducts(behindProxy);
      const viaProxy = await behindProxy.call('POST', '/orders', { token: behindProxy.tokens.alice, body: orderBody(), headers: forwarded, remoteAddress: '10.1.2.3' });
      const direct = await behindProxy.call('POST', '/orders', { token: behindProxy.tokens.alice, body: orderBody(), headers: forwarded, remoteAddress: '203.0.113.9' });
      const firstActor = async (orderId: string) => ((await behindProxy.call('GET', `/orders/${orderId}/audit`, { token: behindProxy.tokens.admin })).json() as { entries: AuditEntry[] }).entries[0]?.actor;
      expect((await firstActor(viaProxy.json().orderId))?.ip).toBe('192.0.2.44');
      // A client that is not the trusted proxy cannot choose its address.
      expect((await firstActor(direct.json().orderId))?.ip).toBe('203.0.113.9');
    } finally {
      await behindProxy.close();
    }
  });
});
