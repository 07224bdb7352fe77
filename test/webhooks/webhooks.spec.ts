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
    const deliveries = await call(url, 'GET', `/webhooks/${a.webhookId}/deliveries`, admin);
    expect(deliveries.status).toBe(200);
    const rows = deliveries.body.deliveries as { status: string; attempts: number; lastStatusCode: number; eventType: string }[];
    expect(rows.filter((d) => d.status === 'delivered').map((d) => d.eventType).reverse()).toEqual(ORDER_MILESTONES);
    expect(rows.every((d) => d.attempts === 1 && d.lastStatusCode === 200)).toBe(true);
    const read = await call(url, 'GET', `/webhooks/${a.webhookId}`, admin);
    expect(read.body).toMatchObject({ webhookId: a.webhookId, url: milestones.url, eventTypes: ORDER_MILESTONES, enabled: true, description: 'order milestones' });
    expect(JSON.stringify(read.body)).not.toContain(a.secret);
    expect(JSON.stringify((await call(url, 'GET', '/webhooks', admin)).body)).not.toContain('whsec_');
    expect(server!.stdout()).not.toContain(a.secret);
    // And the metrics count them per endpoint.
    const metrics = await (await fetch(`${url}/metrics`)).text();
    expect(metrics).toMatch(new RegExp(`orderflow_webhook_attempts_total\\{endpoint="${a.webhookId}",outcome="delivered"\\} 4`));
  });
});
