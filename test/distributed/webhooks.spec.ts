import { Webhook } from 'standardwebhooks';
import { describe, expect, it } from 'vitest';
import { natsAvailable } from '../support/transports.js';
import { admin, call, createProduct, LOCAL_WEBHOOKS, placeOrder, register, requestsOf, startReceiver } from '../webhooks/support.js';
import { until } from './support.js';
import { splitDeploymentSuite } from './suite.js';

// Events of different aggregates (an order, its payment, its shipment) are in different
// partitions here, fanned out by whichever process holds each: the order of an order's
// deliveries must still be the log's.
const TYPES = ['OrderPlaced', 'OrderConfirmed', 'PaymentProcessed', 'OrderPaid', 'ShipmentCreated', 'OrderShipped'];
const ORDERS = 20;

describe.skipIf(!natsAvailable)('webhooks in a split deployment on PostgreSQL + NATS: two webhooks processes share the deliveries', () => {
  const suite = splitDeploymentSuite('webhooks');

  it('every event once, in order per order, signed; a failing delivery retried with its webhook-id holds back only its order', async () => {
    const deployment = await suite.start({
      env: { ...LOCAL_WEBHOOKS, JWT_SECRET: 'webhooks-suite-secret-of-at-least-32-characters' },
      specs: [
        { name: 'api', modules: 'http,orders,inventory,payments,shipments' },
        { name: 'webhooks-a', modules: 'webhooks' },
        { name: 'webhooks-b', modules: 'webhooks' },
      ],
    });
    await suite.run(async () => {
      const url = deployment.url;
      await createProduct(url, 'p-d');
      let failing: string | undefined;
      let failures = 0;
      const hook = await startReceiver((request) => {
        if (request.event.eventType === 'OrderPlaced') failing ??= request.event.payload.orderId;
        if (request.event.payload.orderId === failing && request.event.eventType === 'OrderPlaced' && failures < 2) {
          failures += 1;
          return { status: 500 };
        }
        return { status: 200 };
      });
      suite.afterStop(() => hook.close());
      const endpoint = await register(url, { url: hook.url, eventTypes: TYPES });
      const orders = [];
      for (let i = 0; i < ORDERS; i++) orders.push(await placeOrder(url, 'p-d'));
      await until(async () => hook.received.length >= ORDERS * TYPES.length + 2, 'every delivery');
      await until(
        async () => ((await call(url, 'GET', `/webhooks/${endpoint.webhookId}/deliveries?status=delivered&limit=1000`, admin)).body.deliveries as unknown[]).length === ORDERS * TYPES.length,
        'every delivery recorded',
      );

      expect(hook.received).toHaveLength(ORDERS * TYPES.length + 2);
      const verifier = new Webhook(endpoint.secret);
      for (const order of orders) {
        const got = requestsOf(hook, order.orderId);
        const expected = order.orderId === failing ? ['OrderPlaced', 'OrderPlaced', ...TYPES] : TYPES;
        expect(got.map((r) => r.event.eventType), order.orderId).toEqual(expected);
        for (const request of got) expect(() => verifier.verify(request.body, request.headers as Record<string, string>)).not.toThrow();
      }
      const retried = requestsOf(hook, failing!).slice(0, 3);
      expect(new Set(retried.map((r) => r.headers['webhook-id'])).size).toBe(1);
      expect(new Set(hook.received.map((r) => r.headers['webhook-id'])).size).toBe(ORDERS * TYPES.length);
    });
  });

  it('6. SIGKILL of the webhooks process with deliveries in flight: the other one makes them once its lease runs out; none lost, duplicates share their webhook-id', async () => {
    const specs = [
      { name: 'api', modules: 'http,orders,inventory,payments,shipments' },
      { name: 'webhooks-a', modules: 'webhooks' },
      { name: 'webhooks-b', modules: 'webhooks' },
    ];
    const deployment = await suite.start({ env: { ...LOCAL_WEBHOOKS, WEBHOOK_TIMEOUT_MS: '2000', JWT_SECRET: 'webhooks-suite-secret-of-at-least-32-characters' }, specs });
    const inspector = await suite.inspect();
    await suite.run(async () => {
      const url = deployment.url;
      await createProduct(url, 'p-k');
      // The receiver answers five requests, then holds every one open until the kill.
      let holding = true;
      const held: number[] = [];
      const hook = await startReceiver((_, index) => {
        if (!holding || index < 5) return { status: 200 };
        held.push(index);
        return new Promise(() => undefined);
      });
      suite.afterStop(() => hook.close());
      const endpoint = await register(url, { url: hook.url, eventTypes: TYPES });
      const orders = [];
      for (let i = 0; i < 5; i++) orders.push(await placeOrder(url, 'p-k'));
      await until(async () => held.length >= 1, 'a delivery in flight');
      // The process holding a lease on a delivery in flight (owner = "<pid>:<uuid>").
      const leased = await inspector.db.selectFrom('webhook_deliveries').select('lease_owner').where('lease_owner', 'is not', null).execute();
      const pids = new Set(leased.map((row) => Number(String(row.lease_owner).split(':')[0])));
      const victim = deployment.members().find((m) => m.spec.name.startsWith('webhooks') && pids.has(m.pid))!;
      expect(victim, `a webhooks process among the lease owners ${[...pids].join(', ')}`).toBeDefined();
      victim.cli.process.kill('SIGKILL');
      await victim.cli.exited;
      holding = false;

      const expected = orders.length * TYPES.length;
      await until(
        async () => ((await call(url, 'GET', `/webhooks/${endpoint.webhookId}/deliveries?status=delivered&limit=1000`, admin)).body.deliveries as unknown[]).length === expected,
        'every delivery after the kill',
      );
      const idsByEvent = new Map<string, Set<string>>();
      for (const request of hook.received) idsByEvent.set(request.event.eventId, (idsByEvent.get(request.event.eventId) ?? new Set()).add(String(request.headers['webhook-id'])));
      expect(idsByEvent.size, 'every event reached the receiver').toBe(expected);
      expect([...idsByEvent.values()].every((ids) => ids.size === 1), 'one webhook-id per event').toBe(true);
      expect(hook.received.length - expected, 'what was in flight at the kill was sent again').toBeGreaterThanOrEqual(1);
      for (const order of orders) {
        const firstSeen = [...new Map(requestsOf(hook, order.orderId).map((r) => [r.event.eventId, r.event.eventType])).values()];
        expect(firstSeen, order.orderId).toEqual(TYPES);
      }
    });
  });
});
