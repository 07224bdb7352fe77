import { Webhook } from 'standardwebhooks';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { RunningCli } from '../cli/cli.js';
import { createScratchDatabase, dialects, type ScratchDatabase } from '../support/databases.js';
import { eventually } from '../support/kernel-test-module.js';
import {
  admin,
  call,
  createProduct,
  LOCAL_WEBHOOKS,
  ORDER_MILESTONES,
  placeOrder,
  register,
  requestsOf,
  startReceiver,
  startServer,
  type Receiver,
} from './support.js';

describe.each(dialects)('webhooks on %s (a real orderflow process, real receivers)', (dialect) => {
  let scratch: ScratchDatabase;
  let server: RunningCli | undefined;
  const receivers: Receiver[] = [];
  const receiver = async (...args: Parameters<typeof startReceiver>) => {
    const started = await startReceiver(...args);
    receivers.push(started);
    return started;
  };
  beforeEach(async () => {
    scratch = await createScratchDatabase(dialect);
  });
  afterEach(async () => {
    if (server && server.process.exitCode === null && server.process.signalCode === null) await server.stop('SIGKILL');
    server = undefined;
    await Promise.all(receivers.splice(0).map((r) => r.close()));
    await scratch.drop();
  });
  const start = async (env: Record<string, string> = {}) => {
    const started = await startServer(scratch.url, { ...LOCAL_WEBHOOKS, ...env });
    server = started.server;
    return started.url;
  };

  it('1. an order through SHIPPED: one delivery per subscribed event, in order, each verified by standardwebhooks; other types are not sent', async () => {
    const url = await start();
    await createProduct(url, 'p-1');
    const milestones = await receiver();
    const payments = await receiver();
    const a = await register(url, { url: milestones.url, eventTypes: ORDER_MILESTONES, description: 'order milestones' });
    const b = await register(url, { url: payments.url, eventTypes: ['PaymentProcessed'] });
    const order = await placeOrder(url, 'p-1');

    await eventually(async () => requestsOf(milestones, order.orderId).length >= 4 && requestsOf(payments, order.orderId).length >= 1, 'the deliveries of the order');
    const got = requestsOf(milestones, order.orderId);
    expect(got.map((r) => r.event.eventType)).toEqual(ORDER_MILESTONES);
    const verifier = new Webhook(a.secret);
    for (const request of got) {
      expect(verifier.verify(request.body, request.headers as Record<string, string>)).toMatchObject({ eventId: request.event.eventId });
      expect(request.headers['content-type']).toBe('application/json');
    }
    expect(new Set(got.map((r) => r.headers['webhook-id'])).size).toBe(4);
    expect(() => new Webhook(b.secret).verify(got[0]!.body, got[0]!.headers as Record<string, string>)).toThrow();
    const payment = requestsOf(payments, order.orderId);
    expect(payment.map((r) => r.event.eventType)).toEqual(['PaymentProcessed']);
    expect(new Webhook(b.secret).verify(payment[0]!.body, payment[0]!.headers as Record<string, string>)).toBeTruthy();

    // The API shows the deliveries; the secret is never shown again.
    // The receiver has answered; the sender records each answer right after.
    const deliveredRows = async () => ((await call(url, 'GET', `/webhooks/${a.webhookId}/deliveries?status=delivered`, admin)).body.deliveries as unknown[]).length;
    await eventually(async () => (await deliveredRows()) === 4, 'the four answers to be recorded');
    const deliveries = await call(url, 'GET', `/webhooks/${a.webhookId}/deliveries`, admin);
    expect(deliveries.status).toBe(200);
    const rows = deliveries.body.deliveries as { status: string; attempts: number; lastStatusCode: number; eventType: string }[];
    expect(rows.filter((d) => d.status === 'delivered').map((d) => d.eventType).reverse()).toEqual(ORDER_MILESTONES);
    expect(rows.every((d) => d.attempts === 1 && d.lastStatusCode === 200)).toBe(true);
    const read = await call(url, 'GET', `/webhooks/${a.webhookId}`, admin);
    expect(read.body).toMatchObject({ webhookId: a.webhookId, url: milestones.url, eventTypes: ORDER_MILESTONES, enabled: true, description: 'order milestones' });
    expect(JSON.stringify(read.body)).not.toContain(a.secret);
    expect(JSON.stringify((await call(url, 'GET', '/webhooks', admin)).body)).not.toContain('whsec_');
    expect(server!.stdout()).toContain('"msg":"webhook endpoint registered"');
    expect(server!.stdout()).not.toContain(a.secret);
    // And the metrics count them per endpoint.
    const counted = new RegExp(`orderflow_webhook_attempts_total\\{endpoint="${a.webhookId}",outcome="delivered"\\} 4`);
    await eventually(async () => counted.test(await (await fetch(`${url}/metrics`)).text()), 'the metrics to count the four');
    const metrics = await (await fetch(`${url}/metrics`)).text();
    expect(metrics).toMatch(new RegExp(`orderflow_webhook_attempt_duration_seconds_count\\{endpoint="${a.webhookId}"\\} 4`));
  });

  it('2. a receiver answering 500 twice then 200 gets the same webhook-id three times, the order\'s later events only after it; other orders are not held up', async () => {
    const url = await start({ WEBHOOK_TIMEOUT_MS: '30000' });
    await createProduct(url, 'p-2');
    let first: string | undefined;
    // eslint-disable-next-line prefer-const -- the receiver reads it before the order is placed
    let second: string | undefined;
    let placedAttempts = 0;
    const hook = await receiver(async (request) => {
      // The first order is the first one the receiver hears of (its POST may not have returned yet).
      if (request.event.eventType === 'OrderPlaced') first ??= request.event.payload.orderId;
      if (request.event.payload.orderId !== first || request.event.eventType !== 'OrderPlaced') return { status: 200 };
      placedAttempts += 1;
      if (placedAttempts === 1) return { status: 500, body: 'boom' };
      if (placedAttempts === 2) {
        // The second failure is answered only once the other order's deliveries are all in.
        await eventually(async () => second !== undefined && requestsOf(hook, second).length >= 4, 'the other order to be delivered meanwhile');
        return { status: 500, body: 'still down' };
      }
      return { status: 200 };
    });
    const endpoint = await register(url, { url: hook.url, eventTypes: ORDER_MILESTONES });
    const placedFirst = (await placeOrder(url, 'p-2')).orderId;
    await eventually(async () => placedAttempts >= 1, 'the first attempt');
    expect(first).toBe(placedFirst);
    second = (await placeOrder(url, 'p-2')).orderId;
    await eventually(async () => requestsOf(hook, placedFirst).length >= 6, 'the first order\'s deliveries');

    const firstRequests = requestsOf(hook, placedFirst);
    expect(firstRequests.map((r) => r.event.eventType)).toEqual(['OrderPlaced', 'OrderPlaced', 'OrderPlaced', 'OrderConfirmed', 'OrderPaid', 'OrderShipped']);
    expect(new Set(firstRequests.slice(0, 3).map((r) => r.headers['webhook-id'])).size).toBe(1);
    const third = hook.received.indexOf(firstRequests[2]!);
    const secondRequests = requestsOf(hook, second);
    expect(secondRequests.map((r) => r.event.eventType)).toEqual(ORDER_MILESTONES);
    expect(hook.received.indexOf(secondRequests.at(-1)!), 'the other order was delivered before the retry succeeded').toBeLessThan(third);
    const verifier = new Webhook(endpoint.secret);
    for (const request of firstRequests) expect(() => verifier.verify(request.body, request.headers as Record<string, string>)).not.toThrow();

    const deliveries = (await call(url, 'GET', `/webhooks/${endpoint.webhookId}/deliveries`, admin)).body.deliveries as { eventId: string; deliveryId: string; attempts: number; status: string; lastStatusCode: number }[];
    const retried = deliveries.find((d) => d.eventId === firstRequests[0]!.event.eventId)!;
    expect(retried).toMatchObject({ attempts: 3, status: 'delivered', lastStatusCode: 200 });
    const detail = (await call(url, 'GET', `/webhooks/${endpoint.webhookId}/deliveries/${firstRequests[0]!.headers['webhook-id']}`, admin)).body;
    expect((detail.history as { attempt: number; statusCode: number; error: string | null; response: string }[]).map((a) => [a.attempt, a.statusCode, a.error, a.response])).toEqual([
      [1, 500, 'HTTP 500', 'boom'],
      [2, 500, 'HTTP 500', 'still down'],
      [3, 200, null, ''],
    ]);
  });

  it('2. an endpoint that hangs takes at most 4 of the sender\'s slots: another endpoint\'s deliveries go on meanwhile', async () => {
    const url = await start({ WEBHOOK_TIMEOUT_MS: '60000' });
    await createProduct(url, 'p-2b');
    const release: (() => void)[] = [];
    const slow = await receiver(() => new Promise((resolve) => release.push(() => resolve({ status: 200 }))));
    const fast = await receiver();
    await register(url, { url: slow.url, eventTypes: ORDER_MILESTONES });
    await register(url, { url: fast.url, eventTypes: ORDER_MILESTONES });
    const orders = await Promise.all(Array.from({ length: 6 }, () => placeOrder(url, 'p-2b')));
    await eventually(async () => orders.every((o) => requestsOf(fast, o.orderId).length === 4), 'the fast endpoint to get every order\'s events');
    expect(slow.received.length, 'requests open at the hanging endpoint').toBeLessThanOrEqual(4);
    expect(slow.received.every((r) => r.event.eventType === 'OrderPlaced')).toBe(true);
    // Once it answers, it gets the rest, in order.
    const answerAll = setInterval(() => release.splice(0).forEach((answer) => answer()), 20);
    try {
      await eventually(async () => orders.every((o) => requestsOf(slow, o.orderId).length === 4), 'the slow endpoint to catch up');
    } finally {
      clearInterval(answerAll);
    }
    for (const order of orders) expect(requestsOf(slow, order.orderId).map((r) => r.event.eventType)).toEqual(ORDER_MILESTONES);
  });

  it('3. a receiver down for good: the delivery goes dead after its attempts, the endpoint is disabled with the reason; a re-drive delivers the held events in order', async () => {
    const url = await start({ WEBHOOK_RETRY_SCHEDULE: '50ms,100ms', WEBHOOK_DISABLE_AFTER: '3' });
    await createProduct(url, 'p-3');
    let down = true;
    const hook = await receiver(() => (down ? { status: 503, body: 'maintenance' } : { status: 204 }));
    const endpoint = await register(url, { url: hook.url, eventTypes: ORDER_MILESTONES });
    const first = await placeOrder(url, 'p-3');

    const deliveriesOf = async (query = '') => (await call(url, 'GET', `/webhooks/${endpoint.webhookId}/deliveries${query}`, admin)).body.deliveries as { deliveryId: string; eventType: string; status: string; attempts: number; lastError: string | null; lastResponse: string | null }[];
    await eventually(async () => (await deliveriesOf('?status=dead')).length === 1, 'a dead delivery');
    const [dead] = await deliveriesOf('?status=dead');
    expect(dead).toMatchObject({ eventType: 'OrderPlaced', attempts: 3, lastError: 'HTTP 503', lastResponse: 'maintenance' });
    const disabled = (await call(url, 'GET', `/webhooks/${endpoint.webhookId}`, admin)).body;
    expect(disabled).toMatchObject({ enabled: false, consecutiveFailures: 3 });
    expect(disabled.disabledReason).toMatch(/after 3 failed attempts in a row.*HTTP 503/);
    expect(hook.received.map((r) => r.event.eventType)).toEqual(['OrderPlaced', 'OrderPlaced', 'OrderPlaced']);
    // Both are events of the log too, the dead delivery in the order's flow.
    const failed = (await call(url, 'GET', '/api/events?eventType=WebhookDeliveryFailed', admin)).body.events as { correlationId: string; payload: Record<string, unknown> }[];
    expect(failed).toHaveLength(1);
    expect(failed[0]).toMatchObject({ correlationId: first.correlationId, payload: { endpointId: endpoint.webhookId, deliveryId: dead!.deliveryId, eventType: 'OrderPlaced', attempts: 3, reason: 'HTTP 503' } });
    const disabledEvents = (await call(url, 'GET', '/api/events?eventType=WebhookEndpointDisabled', admin)).body.events as { aggregateId: string; payload: Record<string, unknown> }[];
    expect(disabledEvents).toMatchObject([{ aggregateId: endpoint.webhookId, payload: { endpointId: endpoint.webhookId, reason: disabled.disabledReason } }]);

    // While disabled, events are kept, not sent: a second order's wait too.
    const second = await placeOrder(url, 'p-3');
    await eventually(async () => (await deliveriesOf()).length === 8, 'both orders\' deliveries to be written');
    expect(requestsOf(hook, second.orderId)).toHaveLength(0);
    expect((await deliveriesOf('?status=pending')).length).toBe(7);
    expect(await (await fetch(`${url}/metrics`)).text()).toContain(`orderflow_webhook_backlog_deliveries{endpoint="${endpoint.webhookId}"} 7`);

    // The receiver is back: enable the endpoint and re-drive its dead delivery.
    down = false;
    expect((await call(url, 'PATCH', `/webhooks/${endpoint.webhookId}`, admin, { enabled: true })).body).toMatchObject({ enabled: true, disabledReason: null, consecutiveFailures: 0 });
    expect((await call(url, 'POST', `/webhooks/${endpoint.webhookId}/redrive`, admin)).body).toEqual({ redriven: 1 });
    await eventually(async () => (await deliveriesOf('?status=delivered')).length === 8, 'every delivery');
    expect(requestsOf(hook, first.orderId).map((r) => r.event.eventType)).toEqual(['OrderPlaced', 'OrderPlaced', 'OrderPlaced', ...ORDER_MILESTONES]);
    expect(requestsOf(hook, second.orderId).map((r) => r.event.eventType)).toEqual(ORDER_MILESTONES);
    expect(new Set(requestsOf(hook, first.orderId).slice(0, 4).map((r) => r.headers['webhook-id'])).size).toBe(1);
  });

  it('4. secret rotation: during the overlap deliveries verify with either secret, after it only with the new one', async () => {
    const url = await start();
    await createProduct(url, 'p-4');
    const hook = await receiver();
    const endpoint = await register(url, { url: hook.url, eventTypes: ORDER_MILESTONES });
    const verifies = (secret: string, orderId: string) =>
      requestsOf(hook, orderId).every((r) => {
        try {
          new Webhook(secret).verify(r.body, r.headers as Record<string, string>);
          return true;
        } catch {
          return false;
        }
      });
    const delivered = async (orderId: string) => eventually(async () => requestsOf(hook, orderId).length >= 4, 'the order\'s deliveries');

    const before = await placeOrder(url, 'p-4');
    await delivered(before.orderId);
    expect(verifies(endpoint.secret, before.orderId)).toBe(true);

    const rotated = await call(url, 'POST', `/webhooks/${endpoint.webhookId}/rotate-secret`, admin, { overlapSeconds: 3600 });
    expect(rotated.status).toBe(200);
    const second = rotated.body.secret as string;
    expect(second).toMatch(/^whsec_/);
    expect(second).not.toBe(endpoint.secret);
    expect(rotated.body.previousSecretExpiresAt).not.toBeNull();
    const during = await placeOrder(url, 'p-4');
    await delivered(during.orderId);
    expect(verifies(endpoint.secret, during.orderId), 'the old secret verifies during the overlap').toBe(true);
    expect(verifies(second, during.orderId), 'the new secret verifies during the overlap').toBe(true);

    // A rotation with a one-second overlap: once it has run out, only the newest secret signs.
    const third = (await call(url, 'POST', `/webhooks/${endpoint.webhookId}/rotate-secret`, admin, { overlapSeconds: 1 })).body.secret as string;
    await eventually(async () => (await call(url, 'GET', `/webhooks/${endpoint.webhookId}`, admin)).body.previousSecretExpiresAt === null, 'the overlap to end');
    const after = await placeOrder(url, 'p-4');
    await delivered(after.orderId);
    expect(verifies(third, after.orderId)).toBe(true);
    expect(verifies(second, after.orderId)).toBe(false);
    expect(verifies(endpoint.secret, after.orderId)).toBe(false);
    expect(requestsOf(hook, after.orderId).every((r) => String(r.headers['webhook-signature']).split(' ').length === 1)).toBe(true);
    for (const secret of [endpoint.secret, second, third]) expect(server!.stdout() + server!.stderr()).not.toContain(secret.slice('whsec_'.length));
  });

  it('manages endpoints: list, change, disable by hand, delete; unknown ids are problem details', async () => {
    const url = await start();
    const hook = await receiver();
    expect((await call(url, 'GET', '/webhooks/event-types', admin)).body.eventTypes).toEqual(expect.arrayContaining(['OrderPlaced', 'ShipmentDelivered', 'StockAdjusted']));
    expect((await call(url, 'GET', '/webhooks/event-types', admin)).body.eventTypes).not.toContain('WebhookDeliveryFailed');
    const endpoint = await register(url, { url: hook.url, eventTypes: ['OrderPlaced'] });
    const changed = await call(url, 'PATCH', `/webhooks/${endpoint.webhookId}`, admin, { description: 'analytics', eventTypes: ['OrderPaid', 'OrderShipped', 'OrderPaid'] });
    expect(changed.body).toMatchObject({ description: 'analytics', eventTypes: ['OrderPaid', 'OrderShipped'], enabled: true });
    expect((await call(url, 'PATCH', `/webhooks/${endpoint.webhookId}`, admin, { enabled: false })).body).toMatchObject({ enabled: false, disabledReason: 'disabled by an admin' });
    expect((await call(url, 'PATCH', `/webhooks/${endpoint.webhookId}`, admin, { url: 'ftp://example.com/' })).body).toMatchObject({ status: 422, code: 'WEBHOOK_URL_REFUSED' });
    expect((await call(url, 'PATCH', `/webhooks/${endpoint.webhookId}`, admin, { secret: 'whsec_mine' })).body).toMatchObject({ status: 400, code: 'VALIDATION_FAILED' });
    expect((await call(url, 'GET', '/webhooks', admin)).body.webhooks).toMatchObject([{ webhookId: endpoint.webhookId, enabled: false }]);
    expect((await call(url, 'POST', `/webhooks/${endpoint.webhookId}/deliveries/msg_nope/resend`, admin)).body).toMatchObject({ status: 404, code: 'WEBHOOK_DELIVERY_NOT_FOUND' });
    expect((await call(url, 'GET', `/webhooks/${endpoint.webhookId}/deliveries/msg_nope`, admin)).body).toMatchObject({ status: 404, code: 'WEBHOOK_DELIVERY_NOT_FOUND' });
    expect((await call(url, 'DELETE', `/webhooks/${endpoint.webhookId}`, admin)).status).toBe(204);
    for (const path of [`/webhooks/${endpoint.webhookId}`, `/webhooks/${endpoint.webhookId}/deliveries`]) {
      expect((await call(url, 'GET', path, admin)).body, path).toMatchObject({ status: 404, code: 'WEBHOOK_NOT_FOUND' });
    }
    expect((await call(url, 'GET', '/webhooks', admin)).body).toEqual({ webhooks: [] });
  });

  it('5. registration of loopback, metadata, private addresses and a name resolving to loopback is refused with a problem detail', async () => {
    const refused = ['http://127.0.0.1:8080/hooks', 'http://169.254.169.254/latest/meta-data/', 'http://10.0.0.8/hooks', 'http://192.168.1.20/hooks', 'http://localhost:8080/hooks', 'http://[::1]:8080/hooks'];
    // Without either allow setting: refused (http://, and the addresses).
    let url = await start({ WEBHOOK_ALLOW_HTTP: '', WEBHOOK_ALLOW_PRIVATE: '' });
    for (const target of [...refused, 'https://127.0.0.1/hooks', 'https://localhost/hooks']) {
      const answer = await fetch(`${url}/webhooks`, { method: 'POST', headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' }, body: JSON.stringify({ url: target, eventTypes: ['OrderPlaced'] }) });
      expect(answer.status, target).toBe(422);
      expect(answer.headers.get('content-type')).toMatch(/application\/problem\+json/);
      expect(await answer.json()).toMatchObject({ code: 'WEBHOOK_URL_REFUSED', status: 422, type: expect.stringContaining('/problems/WEBHOOK_URL_REFUSED') });
    }
    expect((await call(url, 'GET', '/webhooks', admin)).body).toEqual({ webhooks: [] });
    await server!.stop('SIGTERM');
    // With http:// allowed, the addresses alone are reason enough, after DNS resolution for localhost.
    url = await start({ WEBHOOK_ALLOW_HTTP: 'true', WEBHOOK_ALLOW_PRIVATE: '' });
    for (const target of refused) {
      const answer = await call(url, 'POST', '/webhooks', admin, { url: target, eventTypes: ['OrderPlaced'] });
      expect(answer.status, target).toBe(422);
      expect(answer.body.detail, target).toMatch(/loopback, private, link-local, metadata or reserved address/);
    }
    expect((await call(url, 'POST', '/webhooks', admin, { url: 'http://localhost:8080/', eventTypes: ['OrderPlaced'] })).body.detail).toMatch(/localhost resolves to (127\.0\.0\.1|::1), a loopback, private/);
    expect((await call(url, 'POST', '/webhooks', admin, { url: 'http://93.184.216.34/', eventTypes: ['NoSuchEvent'] })).body).toMatchObject({ status: 422, code: 'WEBHOOK_EVENT_TYPE_UNKNOWN' });
  });

  it('5. a redirect is not followed: the attempt fails with the 3xx and the target gets nothing', async () => {
    const url = await start({ WEBHOOK_RETRY_SCHEDULE: 'none' });
    await createProduct(url, 'p-5');
    const target = await receiver();
    const redirecting = await receiver(() => ({ status: 302, headers: { location: target.url } }));
    const endpoint = await register(url, { url: redirecting.url, eventTypes: ['OrderPlaced'] });
    await placeOrder(url, 'p-5');
    await eventually(async () => ((await call(url, 'GET', `/webhooks/${endpoint.webhookId}/deliveries?status=dead`, admin)).body.deliveries as unknown[]).length === 1, 'the delivery to fail');
    const [delivery] = (await call(url, 'GET', `/webhooks/${endpoint.webhookId}/deliveries`, admin)).body.deliveries as { lastStatusCode: number; lastError: string }[];
    expect(delivery).toMatchObject({ lastStatusCode: 302, lastError: `redirect to ${target.url} not followed` });
    expect(redirecting.received).toHaveLength(1);
    expect(target.received).toHaveLength(0);
  });
});
