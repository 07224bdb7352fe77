import { describe, expect, it } from 'vitest';
import { startTcpProxy } from '../support/tcp-proxy.js';
import { natsAvailable } from '../support/transports.js';
import {
  adminToken,
  call,
  checkEverything,
  createCatalog,
  notableLogLines,
  placeOrders,
  report,
  sleep,
  until,
  untilQuiet,
  type HttpResult,
} from './support.js';
import { splitDeploymentSuite } from './suite.js';

/** The setting under test, shorter than its default so that the test does not wait long. */
const DATABASE_TIMEOUT_MS = 2000;
/** What a refused request may take beyond the timeout: its own work, on a shared 2-core machine. */
const SLACK_MS = 1000;
const HOLE_MS = 10_000;

describe.skipIf(!natsAvailable)('PostgreSQL black-holed for 10 s (every byte dropped) under a split deployment (issue 12)', () => {
  const suite = splitDeploymentSuite('postgres-blackhole');

  it('/health/ready says 503 within 1 s, POST /orders 503 STORAGE_UNAVAILABLE within DATABASE_TIMEOUT_MS; afterwards every accepted order completes', () =>
    suite.run(async () => {
      const direct = new URL(suite.databaseUrl);
      const proxy = await startTcpProxy({ host: direct.hostname, port: Number(direct.port || 5432) });
      suite.afterStop(() => proxy.close());
      const throughProxy = new URL(suite.databaseUrl);
      throughProxy.port = String(proxy.port);
      const deployment = await suite.start({
        databaseUrl: throughProxy.toString(),
        env: { DATABASE_TIMEOUT_MS: String(DATABASE_TIMEOUT_MS) },
        specs: [
          { name: 'http+orders', modules: 'http,orders' },
          { name: 'fulfilment', modules: 'inventory,payments,shipments' },
        ],
      });
      // The test's own connection goes straight to PostgreSQL.
      const inspector = await suite.inspect();
      const url = deployment.url;
      const ready = () => call(url, 'GET', '/health/ready', undefined, undefined, 30_000);
      const placeOne = () =>
        call(url, 'POST', '/orders', adminToken, {
          customerId: 'customer-x',
          items: [{ productId: 'plenty-1', quantity: 1 }],
          shippingAddress: { street: '1 Main St', city: 'Springfield', postalCode: '12345', country: 'US' },
          paymentMethod: { token: 'tok_visa' },
        });

      await createCatalog(url);
      // Before: a load that the silence interrupts mid-flight.
      const before = placeOrders({ url, count: 200, concurrency: 10, tolerateFailures: true });
      await until(async () => before.accepted() >= 60, '60 orders to be accepted', 120_000, 50);
      const acceptedAtHole = before.accepted();
      const holeAt = performance.now();
      proxy.blackhole();

      // During: readiness and requests answer, and quickly; none is accepted.
      const probes: Record<string, HttpResult> = {};
      const duringLoad = placeOrders({ url, count: 15, from: 10_000, concurrency: 5, tolerateFailures: true });
      probes.readyAtStart = await ready();
      probes.placeOrder = await placeOne();
      const during = await duringLoad.done;
      await sleep(Math.max(0, HOLE_MS - 1500 - (performance.now() - holeAt)));
      probes.readyAtEnd = await ready();
      await sleep(Math.max(0, HOLE_MS - (performance.now() - holeAt)));

      proxy.heal();
      const healedAt = performance.now();
      await until(async () => (await ready()).status === 200, '/health/ready to answer 200 again', 60_000);
      const readyAgainMs = performance.now() - healedAt;

      // After: every order is accepted again (no connection the silence broke is handed out).
      const after = await placeOrders({ url, count: 100, from: 200, concurrency: 10 }).done;
      const first = await before.done;
      const placed = [...first.placed, ...during.placed, ...after.placed];
      const quietMs = await untilQuiet(inspector, placed.length, { deployment });
      const { violations, figures } = await checkEverything(inspector, url, placed);
      const refused = [...first.refused, ...during.refused];
      report('PostgreSQL black-holed for 10 s through a TCP proxy', {
        databaseTimeoutMs: DATABASE_TIMEOUT_MS,
        acceptedBeforeHole: acceptedAtHole,
        holeMs: Math.round(healedAt - holeAt),
        probes: Object.fromEntries(Object.entries(probes).map(([k, r]) => [k, { status: r.status, ms: Math.round(r.ms), code: r.body.code, detail: r.body.detail }])),
        refusedDuringHole: refused.length,
        refusedStatuses: [...new Set(refused.map((r) => `${r.status} ${r.code ?? ''}`))],
        slowestRefusalMs: Math.round(Math.max(0, ...refused.map((r) => r.ms))),
        readyAgainAfterHealMs: Math.round(readyAgainMs),
        acceptedBefore: first.placed.length,
        acceptedAfter: after.placed.length,
        quietAfterLastOrderMs: Math.round(quietMs),
        ...figures,
        logged: notableLogLines(deployment),
      });

      for (const probe of [probes.readyAtStart!, probes.readyAtEnd!]) {
        expect(probe.status).toBe(503);
        expect(probe.body).toMatchObject({ status: 503, code: 'NOT_READY', dependencies: { storage: { ok: false } } });
        expect(probe.ms, 'readiness answers within a second').toBeLessThan(1000);
      }
      for (const probe of [probes.placeOrder!]) {
        expect(probe.status).toBe(503);
        expect(probe.contentType).toMatch(/application\/problem\+json/);
        expect(probe.body).toMatchObject({ status: 503, code: 'STORAGE_UNAVAILABLE' });
        expect(probe.ms, 'a request during the silence fails within the timeout, it does not hang').toBeLessThan(DATABASE_TIMEOUT_MS + SLACK_MS);
      }
      // Every request refused during the silence was a 503 problem, none waited past the timeout.
      expect(refused.length).toBeGreaterThanOrEqual(15);
      expect(healedAt - holeAt).toBeLessThan(HOLE_MS + 1000);
      for (const r of refused) {
        expect(r).toMatchObject({ status: 503, code: 'STORAGE_UNAVAILABLE' });
        expect(r.ms).toBeLessThan(DATABASE_TIMEOUT_MS + SLACK_MS);
      }
      expect(during.placed).toHaveLength(0);
      expect(after.placed).toHaveLength(100);
      expect(violations).toEqual([]);

      const codes = await deployment.stop();
      expect(codes).toEqual({ 'http+orders': 0, fulfilment: 0 });
    }), 600_000);
});
