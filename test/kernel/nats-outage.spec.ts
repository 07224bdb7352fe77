import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createNatsTransportFactory } from '../../src/platform/transport/nats.js';
import { counterEvent, eventually } from '../support/kernel-test-module.js';
import { createThrowawayNats, natsServerBinary, natsServerInstalled, type ThrowawayNats } from '../support/nats-server.js';
import { natsSetup } from '../support/transports.js';
import { createKernelHarness, type KernelHarness } from './harness.js';

if (!natsServerInstalled && process.env.CI === 'true') throw new Error(`${natsServerBinary} is required in CI for the NATS outage suite`);

describe.skipIf(!natsServerInstalled)(`NATS outages on ${natsSetup.name} (a throwaway nats-server)`, () => {
  let server: ThrowawayNats;
  let h: KernelHarness;
  beforeEach(async () => {
    server = await createThrowawayNats();
    await server.start();
    const transport = createNatsTransportFactory({
      servers: server.url,
      stream: 'OUTAGE',
      leaseRenewMs: 500,
      leaseTtlMs: 3000,
    });
    h = await createKernelHarness(natsSetup, { transport });
  });
  afterEach(async () => {
    await h?.close();
    await server.dispose();
  });

  const effects = () => h.db.selectFrom('test_effects').selectAll().orderBy('id').execute();
  const append = (from: number, count: number) =>
    h.engine.unitOfWork.run('test', async (tx) => {
      for (let n = from; n < from + count; n++) tx.emit(counterEvent(`agg-${n % 10}`, n));
    });
  const backlog = async () => (await h.engine.metrics.registry.getSingleMetric('orderflow_outbox_backlog_events')!.get()).values[0]?.value;

  /** Each event handled once, and per aggregate in append order (amounts grow with the order of appends). */
  async function expectAllOnceInOrder(total: number): Promise<void> {
    const rows = await effects();
    expect(rows).toHaveLength(total);
    expect(new Set(rows.map((r) => r.event_id)).size).toBe(total);
    for (let agg = 0; agg < 10; agg++) {
      const amounts = rows.filter((r) => r.aggregate_id === `agg-${agg}`).map((r) => Number(r.amount));
      expect(amounts).toEqual([...amounts].sort((a, b) => a - b));
    }
  }

  /** Messages on the throwaway server's stream: the published feed. */
  async function streamMessages(): Promise<number> {
    const nc = await connect({ servers: server.url, timeout: 5000 });
    try {
      return (await (await jetstreamManager(nc)).streams.info('OUTAGE')).state.messages;
    } finally {
      await nc.close();
    }
  }

  for (const fresh of [false, true]) {
    it(`keeps delivering from the log while the broker is down, and the feed catches up once it is back${fresh ? ' with its storage lost' : ''}`, async () => {
      await h.engine.start();
      await append(0, 100);
      await eventually(async () => (await effects()).length === 100, 'the first 100 effects');
      await eventually(async () => (await streamMessages()) === 100, 'the first 100 on the feed');

      await server.kill();
      await eventually(async () => !(await h.engine.health()).transport.ok, 'health to report the broker away');
      await append(100, 100);
      // Consumers read the log, not the broker: nothing waits for it but the feed.
      await eventually(async () => (await effects()).length >= 200, 'all 200 effects with the broker away');
      await eventually(async () => (await backlog()) === 100, 'a feed backlog of 100');

      await server.start({ fresh });
      await eventually(async () => (await h.engine.health()).transport.ok, 'health to report the broker back');
      await eventually(async () => (await backlog()) === 0, 'the feed caught up');
      await expectAllOnceInOrder(200);
      // A broker that lost its storage gets the stream back and the feed goes on from where it
      // was; the log keeps the rest (GET /events, orderflow events).
      expect(await streamMessages()).toBe(fresh ? 100 : 200);
    });
  }
});
