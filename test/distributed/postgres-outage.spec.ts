import { describe, expect, it } from 'vitest';
import { startTcpProxy } from '../support/tcp-proxy.js';
import { natsAvailable } from '../support/transports.js';
import {
  adminToken,
  call,
  checkEverything,
  createCatalog,
  notableLogLines,
  leaseOwners,
  placeOrders,
  report,
  sleep,
  until,
  untilQuiet,
  type HttpResult,
} from './support.js';
import { splitDeploymentSuite } from './suite.js';

describe.skipIf(!natsAvailable)('PostgreSQL unreachable for 10 s under a split deployment (issue 5, acceptance 5)', () => {
  const suite = splitDeploymentSuite('postgres-outage');

  it('/health/ready says 503 naming storage, requests fail fast with 503 problems; afterwards every accepted order completes', () =>
    suite.run(async () => {
      const direct = new URL(suite.databaseUrl);
      const proxy = await startTcpProxy({ host: direct.hostname, port: Number(direct.port || 5432) });
      suite.afterStop(() => proxy.close());
      const throughProxy = new URL(suite.databaseUrl);
      throughProxy.port = String(proxy.port);
      const deployment = await suite.start({ databaseUrl: throughProxy.toString() });
      // The test's own connection goes straight to PostgreSQL.
      const inspector = await suite.inspect();
      const db = inspector.db;
      await until(async () => [...(await leaseOwners(db, 'inventory')).values()].map((p) => p.length).join() === '4,4', 'the inventory partitions to be shared 4 + 4', 60_000);
      const url = deployment.url;
      const ready = () => call(url, 'GET', '/health/ready', undefined, undefined, 30_000);

      await createCatalog(url);
      // Before: a load that the cut interrupts; what it sends during the cut is refused.
      const before = placeOrders({ url, count: 250, concurrency: 20, tolerateFailures: true });
      await until(async () => before.accepted() >= 100, '100 orders to be accepted', 120_000, 50);
      const acceptedAtCut = before.accepted();
      const someOrder = (await db.selectFrom('orders').select('order_id').limit(1).executeTakeFirstOrThrow()).order_id as string;
      const cutAt = performance.now();
      await proxy.cut();

      // During: readiness names the storage and why; requests get 503 problems, quickly.
      const probes: Record<string, HttpResult> = {};
      probes.ready = await ready();
      probes.placeOrder = await call(url, 'POST', '/orders', adminToken, {
        customerId: 'customer-x',
        items: [{ productId: 'plenty-1', quantity: 1 }],
        shippingAddress: { street: '1 Main St', city: 'Springfield', postalCode: '12345', country: 'US' },
        paymentMethod: { token: 'tok_visa' },
      });
      probes.getOrder = await call(url, 'GET', `/orders/${someOrder}`, adminToken);
      probes.listProducts = await call(url, 'GET', '/products', adminToken);
      const duringOutage = await placeOrders({ url, count: 20, from: 10_000, concurrency: 5, tolerateFailures: true }).done;
      await sleep(Math.max(0, 10_000 - (performance.now() - cutAt)));
      probes.readyAtEnd = await ready();

      await proxy.restore();
      const restoredAt = performance.now();
      await until(async () => (await ready()).status === 200, '/health/ready to answer 200 again', 60_000);
      const readyAgainMs = performance.now() - restoredAt;

      // After: every order is accepted again.
      const after = await placeOrders({ url, count: 150, from: 250, concurrency: 20 }).done;
      const first = await before.done;
      const placed = [...first.placed, ...duringOutage.placed, ...after.placed];
      const quietMs = await untilQuiet(inspector, placed.length, { deployment });
      const { violations, figures } = await checkEverything(inspector, url, placed);
      const refused = [...first.refused, ...duringOutage.refused];
      report('PostgreSQL cut for 10 s through a TCP proxy', {
        cutAfterAcceptedOrders: acceptedAtCut,
        outageMs: Math.round(restoredAt - cutAt),
        probes: Object.fromEntries(Object.entries(probes).map(([k, r]) => [k, { status: r.status, ms: Math.round(r.ms), code: r.body.code, detail: r.body.detail }])),
        refusedDuringCut: refused.length,
        refusedStatuses: [...new Set(refused.map((r) => `${r.status} ${r.code ?? ''}`))],
        slowestRefusalMs: Math.round(Math.max(0, ...refused.map((r) => r.ms))),
        acceptedDuringCut: duringOutage.placed.length,
        readyAgainAfterRestoreMs: Math.round(readyAgainMs),
        acceptedBefore: first.placed.length,
        acceptedAfter: after.placed.length,
        quietAfterLastOrderMs: Math.round(quietMs),
        ...figures,
        logged: notableLogLines(deployment),
      });

      for (const probe of [probes.ready!, probes.readyAtEnd!]) {
        expect(probe.status).toBe(503);
        expect(probe.contentType).toMatch(/application\/problem\+json/);
        expect(probe.body).toMatchObject({ status: 503, code: 'NOT_READY', dependencies: { storage: { ok: false } } });
        expect(probe.body.detail).toMatch(/storage \(postgres: .+\)/);
      }
      for (const probe of [probes.placeOrder!, probes.getOrder!, probes.listProducts!]) {
        expect(probe.status).toBe(503);
        expect(probe.contentType).toMatch(/application\/problem\+json/);
        expect(probe.body).toMatchObject({ status: 503, code: 'STORAGE_UNAVAILABLE' });
        expect(probe.ms, 'a request during the outage fails fast, it does not hang').toBeLessThan(7000);
      }
      // Every request refused during the cut was a 503 problem, none took long, none was accepted.
      expect(refused.length).toBeGreaterThan(0);
      for (const r of refused) {
        expect(r).toMatchObject({ status: 503, code: 'STORAGE_UNAVAILABLE' });
        expect(r.contentType).toMatch(/application\/problem\+json/);
        expect(r.ms).toBeLessThan(7000);
      }
      expect(duringOutage.placed).toHaveLength(0);
      expect(after.placed).toHaveLength(150);
      expect(violations).toEqual([]);

      const codes = await deployment.stop();
      expect(codes).toEqual({ 'http+orders': 0, 'inventory-a': 0, 'inventory-b': 0, payments: 0, shipments: 0 });
    }), 600_000);
});
