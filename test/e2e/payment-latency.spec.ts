import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mintToken } from '../../src/http/auth.js';
import { spawnCli, type RunningCli } from '../cli/cli.js';
import { createScratchDatabase, type ScratchDatabase } from '../support/databases.js';
import { call } from './server.js';

const secret = 'payment-latency-secret-of-at-least-32-chars';
const address = { street: '1 Main St', city: 'Springfield', postalCode: '12345', country: 'US' };

interface Event {
  sequence: number;
  eventId: string;
  eventType: string;
  causationId: string | null;
  payload: { orderId?: string };
}

/**
 * PAYMENT_LATENCY_MS > 0: the gateway's answer comes from a durable timer, not from the
 * OrderConfirmed handler. Its events must still name their cause, and its log lines must reach
 * the process's log.
 */
describe('orderflow start with PAYMENT_LATENCY_MS=20 on PostgreSQL', () => {
  let scratch: ScratchDatabase;
  let server: RunningCli;
  let url: string;
  const admin = mintToken(secret, { sub: 'admin', role: 'admin' });
  const customer = mintToken(secret, { sub: 'customer-001', role: 'customer' });

  beforeAll(async () => {
    scratch = await createScratchDatabase('postgres');
    server = spawnCli(['start'], { DATABASE_URL: scratch.url, JWT_SECRET: secret, PORT: '0', LOG_LEVEL: 'debug', PAYMENT_LATENCY_MS: '20', SAGA_TIMEOUT_MS: '600000', ORDER_RATE_LIMIT: '0' });
    [, url] = (await server.waitFor(/"address":"(http:\/\/[^"]+)"/)) as [string, string];
    expect((await call(url, 'POST', '/products', admin, { productId: 'widget', name: 'Widget', price: 9.99, stock: 100 })).status).toBe(201);
  });
  afterAll(async () => {
    expect(await server?.stop('SIGTERM')).toBe(0);
    await scratch?.drop();
  });

  it('an order’s events form one causal chain, and the payments module logs through the process logger', async () => {
    const placed = await call(url, 'POST', '/orders', customer, { items: [{ productId: 'widget', quantity: 1 }], shippingAddress: address, paymentMethod: { token: 'tok_visa' } });
    expect(placed.status, JSON.stringify(placed.body)).toBe(201);
    const orderId = String(placed.body.orderId);
    await expect.poll(async () => (await call(url, 'GET', `/orders/${orderId}`, customer)).body.status).toBe('SHIPPED');

    const events = (await call(url, 'GET', `/api/events?correlationId=${String(placed.body.correlationId)}&limit=100`, admin)).body.events as Event[];
    const types = events.map((e) => e.eventType);
    expect(types).toEqual(expect.arrayContaining(['OrderPlaced', 'OrderConfirmed', 'PaymentProcessed', 'OrderPaid', 'ShipmentCreated', 'OrderShipped']));
    const earlier = new Set<string>();
    for (const event of [...events].sort((a, b) => a.sequence - b.sequence)) {
      expect(event.payload.orderId, event.eventType).toBe(orderId);
      if (event.eventType === 'OrderPlaced') expect(event.causationId).toBeNull();
      else expect(earlier.has(event.causationId ?? ''), `${event.eventType} names an earlier event of the order as its cause`).toBe(true);
      earlier.add(event.eventId);
    }
    const confirmed = events.find((e) => e.eventType === 'OrderConfirmed')!;
    expect(events.find((e) => e.eventType === 'PaymentProcessed')!.causationId).toBe(confirmed.eventId);

    // The answer's line, from the timer, with the process logger's bindings.
    const lines = server
      .stdout()
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.find((l) => l.module === 'payments' && l.orderId === orderId && l.outcome === 'succeeded')).toMatchObject({
      timerKind: 'payments.gateway-answer',
      causationId: confirmed.eventId,
      msg: 'the gateway answered: succeeded',
    });
  });
});
