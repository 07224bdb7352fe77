import { createHmac } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mintToken, verifyToken } from '../../src/http/index.js';
import { dialects } from '../support/databases.js';
import { createHttpHarness, eventually, expectProblem, orderBody, registeredRoutes, secret, seedProducts, type HttpHarness } from './support.js';

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

/** A correctly signed HS256 token with whatever header and claims. */
function signed(header: unknown, claims: unknown): string {
  const input = `${b64(header)}.${b64(claims)}`;
  return `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`;
}

/** Tokens that must all be refused with 401. */
function badTokens(): Record<string, string> {
  const valid = mintToken(secret, { sub: 'alice', role: 'customer' });
  const [, payload, signature] = valid.split('.');
  const future = Math.floor(Date.now() / 1000) + 3600;
  return {
    expired: mintToken(secret, { sub: 'alice', role: 'customer', expiresInSeconds: -5 }),
    'bad signature': mintToken('another-secret-that-is-also-32-characters-long', { sub: 'alice', role: 'customer' }),
    'alg none': `${b64({ alg: 'none', typ: 'JWT' })}.${b64({ sub: 'alice', role: 'admin', exp: future })}.`,
    'alg none, valid signature kept': `${b64({ alg: 'none', typ: 'JWT' })}.${payload}.${signature}`,
    'alg HS512': `${b64({ alg: 'HS512', typ: 'JWT' })}.${payload}.${signature}`,
    'tampered claims': `${valid.split('.')[0]}.${b64({ sub: 'alice', role: 'admin', exp: future })}.${signature}`,
    // Signed with the right secret, but without exp: refused all the same.
    'no exp': signed({ alg: 'HS256', typ: 'JWT' }, { sub: 'alice', role: 'customer' }),
    'unknown role': signed({ alg: 'HS256', typ: 'JWT' }, { sub: 'alice', role: 'root', exp: future }),
    garbage: 'not-a-jwt',
  };
}

interface RouteCase {
  method: 'GET' | 'POST' | 'PATCH' | 'DELETE';
  url: string;
  /** who may call: any authenticated caller, the order's owner (or admin), or admins only. */
  access: 'authenticated' | 'owner' | 'admin';
  body?: unknown;
}

describe.each(dialects)('authorization on %s', (dialect) => {
  let h: HttpHarness;
  let routes: RouteCase[];
  let aliceOrder: string;

  beforeAll(async () => {
    h = await createHttpHarness(dialect);
    await seedProducts(h);
    const placed = await h.call('POST', '/orders', { token: h.tokens.alice, body: orderBody() });
    expect(placed.statusCode, placed.body).toBe(201);
    aliceOrder = placed.json().orderId;
    await eventually(async () => (await h.flow.apis.orders.getOrder(aliceOrder))?.status === 'SHIPPED', 'the order to ship');
    const order = (await h.flow.apis.orders.getOrder(aliceOrder))!;
    const event = (await h.flow.engine.log.query({ correlationId: order.correlationId, limit: 1 })).events[0]!;
    routes = [
      { method: 'POST', url: '/products', access: 'admin', body: { productId: 'p-x', name: 'X', price: 1, stock: 1 } },
      { method: 'GET', url: '/products', access: 'authenticated' },
      { method: 'GET', url: '/products/widget', access: 'authenticated' },
      { method: 'GET', url: '/products/widget/inventory', access: 'authenticated' },
      { method: 'POST', url: '/products/widget/stock', access: 'admin', body: { delta: 1, reason: 'restock' } },
      { method: 'PATCH', url: '/products/widget', access: 'admin', body: { allowBackorders: false } },
      { method: 'GET', url: '/inventory/alerts', access: 'admin' },
      { method: 'POST', url: '/orders', access: 'authenticated', body: orderBody() },
      { method: 'GET', url: '/orders', access: 'authenticated' },
      { method: 'GET', url: `/orders/${aliceOrder}`, access: 'owner' },
      { method: 'POST', url: `/orders/${aliceOrder}/cancel`, access: 'owner', body: { reason: 'changed my mind' } },
      { method: 'GET', url: `/orders/${aliceOrder}/timeline`, access: 'owner' },
      { method: 'GET', url: `/orders/${aliceOrder}/audit`, access: 'owner' },
      { method: 'POST', url: `/orders/${aliceOrder}/returns`, access: 'owner', body: { lines: [{ productId: 'widget', quantity: 1 }] } },
      { method: 'GET', url: `/orders/${aliceOrder}/returns`, access: 'owner' },
      { method: 'GET', url: '/returns/some-id', access: 'authenticated' },
      { method: 'POST', url: '/returns/some-id/approve', access: 'admin' },
      { method: 'POST', url: '/returns/some-id/reject', access: 'admin', body: {} },
      { method: 'POST', url: '/returns/some-id/receive', access: 'admin', body: {} },
      { method: 'POST', url: `/orders/${aliceOrder}/override`, access: 'admin', body: { reason: 'approved over stock' } },
      { method: 'PATCH', url: `/orders/${aliceOrder}`, access: 'owner', body: { shippingAddress: { street: '9 Elm Rd', city: 'Shelbyville', postalCode: '54321', country: 'US' } } },
      { method: 'GET', url: `/sagas/${order.sagaId}`, access: 'admin' },
      { method: 'GET', url: `/shipments/${order.shipmentId}`, access: 'admin' },
      { method: 'POST', url: `/shipments/${order.shipmentId}/dispatch`, access: 'admin' },
      { method: 'POST', url: `/shipments/${order.shipmentId}/deliver`, access: 'admin' },
      { method: 'GET', url: '/api/events', access: 'admin' },
      { method: 'GET', url: `/api/events/${event.eventId}`, access: 'admin' },
      { method: 'GET', url: '/api/dead-letters', access: 'admin' },
      { method: 'GET', url: '/api/dead-letters/some-id', access: 'admin' },
      { method: 'POST', url: '/api/dead-letters/some-id/retry', access: 'admin' },
      { method: 'POST', url: '/api/dead-letters/some-id/discard', access: 'admin' },
      { method: 'GET', url: '/api/stats', access: 'admin' },
      // follow=false: the stream sends what the log holds and ends, so inject returns.
      { method: 'GET', url: '/api/stream?follow=false', access: 'admin' },
      { method: 'GET', url: '/api/throughput', access: 'admin' },
      // Webhook endpoints: unknown ids are fine, the checks come before the lookup.
      { method: 'POST', url: '/webhooks', access: 'admin', body: { url: 'https://93.184.216.34/hooks', eventTypes: ['OrderPlaced'] } },
      { method: 'GET', url: '/webhooks', access: 'admin' },
      { method: 'GET', url: '/webhooks/event-types', access: 'admin' },
      { method: 'GET', url: '/webhooks/some-id', access: 'admin' },
      { method: 'PATCH', url: '/webhooks/some-id', access: 'admin', body: { enabled: false } },
      { method: 'DELETE', url: '/webhooks/some-id', access: 'admin' },
      { method: 'POST', url: '/webhooks/some-id/rotate-secret', access: 'admin', body: {} },
      { method: 'GET', url: '/webhooks/some-id/deliveries', access: 'admin' },
      { method: 'GET', url: '/webhooks/some-id/deliveries/some-id', access: 'admin' },
      { method: 'POST', url: '/webhooks/some-id/deliveries/some-id/resend', access: 'admin' },
      { method: 'POST', url: '/webhooks/some-id/redrive', access: 'admin' },
    ];
  });
  afterAll(async () => h?.close());

  it('covers every protected route the app registers', () => {
    const covered = routes.map((r) => `${r.method} ${templateOf(r.url, aliceOrder)}`).sort();
    // The console's page and assets are public: the page signs in with a token (test/http/console.spec.ts).
    const publicRoutes = ['GET /health', 'GET /health/ready', 'GET /metrics', 'GET /openapi.json', 'GET /asyncapi.json', 'GET /', 'GET /assets/:file', 'GET /problems', 'GET /problems/:code'];
    const registered = registeredRoutes(h.app)
      .filter((r) => r.method !== 'HEAD' && !r.url.startsWith('/docs'))
      .map((r) => `${r.method} ${r.url}`)
      .filter((r) => !publicRoutes.includes(r))
      .sort();
    expect(covered).toEqual(registered);
  });

  it('refuses a missing, expired, forged, alg-none or malformed token with 401 on every protected route', async () => {
    const tokens = badTokens();
    for (const route of routes) {
      const missing = await h.call(route.method, route.url, { body: route.body });
      expect(expectProblem(missing, 401, 'UNAUTHENTICATED'), `${route.method} ${route.url} without a token`).toBeTruthy();
      expect(missing.headers['www-authenticate']).toMatch(/^Bearer/);
      for (const [name, token] of Object.entries(tokens)) {
        const response = await h.call(route.method, route.url, { token, body: route.body });
        expect(response.statusCode, `${route.method} ${route.url} with ${name} token`).toBe(401);
        expectProblem(response, 401, name === 'expired' ? 'TOKEN_EXPIRED' : 'TOKEN_INVALID');
      }
      const notBearer = await h.call(route.method, route.url, { body: route.body, headers: { authorization: `Basic ${Buffer.from('a:b').toString('base64')}` } });
      expectProblem(notBearer, 401, 'TOKEN_INVALID');
    }
  });

  it('gives a customer 403 on every admin route', async () => {
    for (const route of routes.filter((r) => r.access === 'admin')) {
      const response = await h.call(route.method, route.url, { token: h.tokens.bob, body: route.body });
      expect(response.statusCode, `${route.method} ${route.url}`).toBe(403);
      expectProblem(response, 403, 'ADMIN_ONLY');
    }
  });

  it('hides an order from another customer: 404 for read, edit, timeline, audit and cancel, and nothing changes', async () => {
    for (const route of routes.filter((r) => r.access === 'owner')) {
      const response = await h.call(route.method, route.url, { token: h.tokens.bob, body: route.body });
      expect(response.statusCode, `${route.method} ${route.url}`).toBe(404);
      expectProblem(response, 404, 'ORDER_NOT_FOUND');
    }
    expect((await h.flow.apis.orders.getOrder(aliceOrder))!.status).toBe('SHIPPED');
  });

  it('lets the right callers through', async () => {
    for (const route of routes.filter((r) => r.method === 'GET' && !r.url.includes('some-id'))) {
      const token = route.access === 'admin' ? h.tokens.admin : h.tokens.alice;
      const response = await h.call(route.method, route.url, { token });
      expect(response.statusCode, `${route.method} ${route.url}: ${response.body}`).toBe(200);
    }
    for (const route of routes.filter((r) => r.access === 'owner' && r.method === 'GET')) {
      expect((await h.call('GET', route.url, { token: h.tokens.admin })).statusCode, `admin ${route.url}`).toBe(200);
    }
  });

  it('filters GET /orders to the caller\u2019s own orders, whatever customerId it asks for', async () => {
    const mine = await h.call('GET', '/orders?customerId=alice', { token: h.tokens.bob });
    expect(mine.statusCode).toBe(200);
    expect(mine.json().orders).toEqual([]);
    const alices = await h.call('GET', '/orders', { token: h.tokens.alice });
    expect(alices.json().orders.map((o: { customerId: string }) => o.customerId)).toEqual(['alice']);
    const admin = await h.call('GET', '/orders?customerId=alice', { token: h.tokens.admin });
    expect(admin.json().orders).toHaveLength(1);
  });

  it('needs no token for health, readiness, metrics and the docs', async () => {
    for (const url of ['/health', '/health/ready', '/metrics', '/openapi.json', '/asyncapi.json', '/docs']) {
      const response = await h.call('GET', url);
      expect(response.statusCode, url).toBe(200);
    }
  });

  it('verifies tokens it mints and refuses one used after exp', () => {
    const token = mintToken(secret, { sub: 'carol', role: 'admin', expiresInSeconds: 60 }, 1_000_000);
    expect(verifyToken(secret, token, 1_000_000 + 59_000)).toEqual({ sub: 'carol', role: 'admin' });
    expect(() => verifyToken(secret, token, 1_000_000 + 60_000)).toThrow(/expired/);
  });
});

/** The registered route a concrete URL belongs to (ids replaced by the route's parameters). */
function templateOf(url: string, orderId: string): string {
  return url
    .replace(/\?.*$/, '')
    .replace(orderId, ':id')
    .replace(/^\/sagas\/[^/]+/, '/sagas/:sagaId')
    .replace(/^\/shipments\/[^/]+/, '/shipments/:id')
    .replace(/^\/api\/events\/[^/]+/, '/api/events/:eventId')
    .replace(/^\/api\/dead-letters\/[^/]+/, '/api/dead-letters/:id')
    .replace(/^\/products\/[^/]+/, '/products/:id')
    .replace(/^\/webhooks\/some-id/, '/webhooks/:id')
    .replace(/^\/returns\/some-id/, '/returns/:id')
    .replace(/\/deliveries\/some-id(\/|$)/, '/deliveries/:deliveryId$1');
}
