import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { RunningCli } from '../cli/cli.js';
import { createScratchDatabase, dialects, type ScratchDatabase } from '../support/databases.js';
import { eventually } from '../support/kernel-test-module.js';
import { admin, call, createProduct, LOCAL_WEBHOOKS, ORDER_MILESTONES, placeOrder, register, requestsOf, startReceiver, startServer, type Receiver } from './support.js';

describe.each(dialects)('webhooks through a SIGKILL on %s', (dialect) => {
  let scratch: ScratchDatabase;
  let server: RunningCli | undefined;
  let hook: Receiver | undefined;
  beforeEach(async () => {
    scratch = await createScratchDatabase(dialect);
  });
  afterEach(async () => {
    if (server && server.process.exitCode === null && server.process.signalCode === null) await server.stop('SIGKILL');
    await hook?.close();
    await scratch.drop();
  });

  it('6. deliveries in flight at the kill are all made after the restart, none lost; duplicates carry the same webhook-id', async () => {
    // A short timeout: a killed process's leases run out after 2 × 2 s + 5 s.
    const env = { ...LOCAL_WEBHOOKS, WEBHOOK_TIMEOUT_MS: '2000' };
    let url: string;
    ({ server, url } = await startServer(scratch.url, env));
    await createProduct(url, 'p-6');
    // The receiver answers the first five requests, then holds every request open: those are in flight when the process dies.
    let holding = true;
    const held: number[] = [];
    hook = await startReceiver((_, index) => {
      if (!holding || index < 5) return { status: 200 };
      held.push(index);
      return new Promise(() => undefined);
    });
    const endpoint = await register(url, { url: hook.url, eventTypes: ORDER_MILESTONES });
    const orders = await Promise.all(Array.from({ length: 5 }, () => placeOrder(url, 'p-6')));
    await eventually(async () => held.length >= 1, 'a delivery in flight');
    await server.stop('SIGKILL');
    holding = false;

    ({ server, url } = await startServer(scratch.url, env));
    const deliveredCount = async () => ((await call(url, 'GET', `/webhooks/${endpoint.webhookId}/deliveries?status=delivered&limit=1000`, admin)).body.deliveries as unknown[]).length;
    await eventually(async () => (await deliveredCount()) === orders.length * ORDER_MILESTONES.length, 'every delivery after the restart', 60_000);

    const byEvent = new Map<string, Set<string>>();
    for (const request of hook.received) {
      const ids = byEvent.get(request.event.eventId) ?? new Set();
      ids.add(String(request.headers['webhook-id']));
      byEvent.set(request.event.eventId, ids);
    }
    expect(byEvent.size, 'every event reached the receiver').toBe(orders.length * ORDER_MILESTONES.length);
    expect([...byEvent.values()].every((ids) => ids.size === 1), 'one webhook-id per event, however often sent').toBe(true);
    expect(new Set([...byEvent.values()].map((ids) => [...ids][0])).size).toBe(byEvent.size);
    expect(hook.received.length - byEvent.size, 'the request in flight at the kill was sent again').toBeGreaterThanOrEqual(1);
    for (const order of orders) {
      const firstSeen = [...new Map(requestsOf(hook, order.orderId).map((r) => [r.event.eventId, r.event.eventType])).values()];
      expect(firstSeen, `the order of ${order.orderId}`).toEqual(ORDER_MILESTONES);
    }
  });
});
