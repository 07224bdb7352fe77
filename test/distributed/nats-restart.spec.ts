import { randomBytes } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createScratchDatabase, type ScratchDatabase } from '../support/databases.js';
import { createThrowawayNats, natsServerBinary, natsServerInstalled, type ThrowawayNats } from '../support/nats-server.js';
import {
  call,
  checkEverything,
  createCatalog,
  keepingLogsOnFailure,
  notableLogLines,
  oneSuiteAtATime,
  leaseOwners,
  openInspector,
  placeOrders,
  report,
  sleep,
  startDeployment,
  until,
  untilQuiet,
  type Deployment,
  type Inspector,
} from './support.js';

if (!natsServerInstalled && process.env.CI === 'true') throw new Error(`${natsServerBinary} is required in CI for the nats-server restart suite`);

// A nats-server of the test's own, on another port with its own store: the machine's server on 4222 is never touched.
describe.skipIf(!natsServerInstalled)('nats-server restarted mid-run under a split deployment (issue 5, acceptance 4)', () => {
  oneSuiteAtATime();
  let scratch: ScratchDatabase;
  let server: ThrowawayNats;
  let deployment: Deployment | undefined;
  let inspector: Inspector | undefined;
  beforeEach(async () => {
    scratch = await createScratchDatabase('postgres');
    server = await createThrowawayNats();
    await server.start();
  });
  afterEach(async () => {
    await deployment?.stop();
    deployment = undefined;
    await inspector?.close();
    inspector = undefined;
    await server.dispose();
    await scratch.drop();
  }, 120_000);

  it('relay and consumers reconnect; every accepted order completes; no duplicate effects', () =>
    keepingLogsOnFailure('nats-restart', () => deployment, async () => {
      deployment = await startDeployment({ databaseUrl: scratch.url, natsUrl: server.url, stream: `OFT_RESTART_${randomBytes(4).toString('hex')}` });
      inspector = await openInspector(scratch.url);
      const db = inspector.db;
      await until(async () => [...(await leaseOwners(db, 'inventory')).values()].map((p) => p.length).join() === '4,4', 'the inventory partitions to be shared 4 + 4', 60_000);
      const ready = () => call(deployment!.url, 'GET', '/health/ready', undefined, undefined, 15_000);
      expect((await ready()).status).toBe(200);

      await createCatalog(deployment.url);
      const load = placeOrders({ url: deployment.url, count: 400, concurrency: 20 });
      await until(async () => load.accepted() >= 120, '120 orders to be accepted', 120_000, 50);

      // SIGTERM: the server stops; every process loses its connection.
      const stoppedAt = performance.now();
      await server.stop();
      const acceptedAtStop = load.accepted();
      let notReady: Awaited<ReturnType<typeof ready>> | undefined;
      await until(async () => (notReady = await ready()).status === 503, '/health/ready to answer 503 with the broker away', 30_000);
      expect(notReady!.body).toMatchObject({ code: 'NOT_READY', dependencies: { storage: { ok: true }, transport: { ok: false } } });
      expect(notReady!.body.detail).toMatch(/transport \(nats/);
      // Orders are still taken meanwhile: they wait in the outbox.
      await sleep(Math.max(0, 5000 - (performance.now() - stoppedAt)));
      const acceptedDuringOutage = load.accepted() - acceptedAtStop;

      await server.start();
      const restartedAt = performance.now();
      await until(async () => (await ready()).status === 200, '/health/ready to answer 200 again', 60_000);
      const readyAgainMs = performance.now() - restartedAt;

      const result = await load.done;
      expect(result.placed).toHaveLength(400);
      const quietMs = await untilQuiet(inspector, result.placed.length, { deployment });
      const { violations, figures } = await checkEverything(inspector, deployment.url, result.placed);
      const reconnected = Object.fromEntries(deployment.members().map((m) => [m.spec.name, m.cli.stdout().includes('"msg":"NATS connection back"')]));
      // The relay's backlog gauge is back to 0 and the consumer lag sampled from the broker too.
      const metrics = () => call(deployment!.url, 'GET', '/metrics', undefined).then((r) => String(r.body.text ?? ''));
      await until(async () => {
        const text = await metrics();
        return /^orderflow_outbox_backlog_events 0$/m.test(text) && /^orderflow_consumer_lag_events\{consumer="orders"\} 0$/m.test(text);
      }, 'the metrics to show no outbox backlog and no consumer lag', 30_000, 500);
      report('nats-server stopped (SIGTERM) for 5 s and started again on its store: 400 orders', {
        stoppedAfterAcceptedOrders: acceptedAtStop,
        outageMs: Math.round(restartedAt - stoppedAt),
        acceptedDuringOutage,
        readyAgainAfterRestartMs: Math.round(readyAgainMs),
        reconnected,
        placingMs: Math.round(result.durationMs),
        quietAfterLastOrderMs: Math.round(quietMs),
        ...figures,
        logged: notableLogLines(deployment),
      });
      expect(violations).toEqual([]);
      expect(acceptedDuringOutage, 'orders were accepted while the broker was away').toBeGreaterThan(0);
      expect(reconnected).toEqual({ 'http+orders': true, 'inventory-a': true, 'inventory-b': true, payments: true, shipments: true });

      const codes = await deployment.stop();
      deployment = undefined;
      expect(codes).toEqual({ 'http+orders': 0, 'inventory-a': 0, 'inventory-b': 0, payments: 0, shipments: 0 });
    }), 600_000);
});
