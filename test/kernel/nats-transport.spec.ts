import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { sql } from 'kysely';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Consumer } from '../../src/platform/delivery/consumer.js';
import type { Engine, EngineModule } from '../../src/platform/engine.js';
import { counterEvent, createTestModule, eventually } from '../support/kernel-test-module.js';
import { natsAvailable, natsSetup, natsUrl } from '../support/transports.js';
import { createKernelHarness, type KernelHarness } from './harness.js';

/**
 * The test module, counting in `count` how many events this engine's handlers ran and
 * committed. Counted after the commit: a delivery whose transaction rolled back (its partition
 * moved to the other engine under load, a deadlock run again) ran the handler without effect,
 * and counting it made the total exceed the events now and then on a loaded machine.
 */
function countingModule(h: KernelHarness, count: { n: number }): EngineModule {
  const module = createTestModule(h.controls);
  const consumers = module.consumers.map(
    (c): Consumer => ({
      ...c,
      handlers: Object.fromEntries(
        Object.entries(c.handlers).map(([type, handle]) => [
          type,
          async (event, ctx) => {
            await handle(event, ctx);
            ctx.afterCommit(() => count.n++);
          },
        ]),
      ),
    }),
  );
  return { ...module, consumers };
}

/** A module with the test's tables and no consumers: its engine only relays the outbox. */
const relayOnly: EngineModule = { name: 'test', migrations: [], consumers: [] };

describe.skipIf(!natsAvailable)(`NATS transport on ${natsSetup.name}`, () => {
  const setup = natsSetup;
  let h: KernelHarness;
  const others: Engine[] = [];
  beforeEach(async () => {
    h = await createKernelHarness(setup);
  });
  afterEach(async () => {
    await Promise.all(others.splice(0).map((e) => e.stop()));
    await h?.close();
  });

  const effectCount = async () => Number((await h.db.selectFrom('test_effects').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).n);

  /** Every aggregate's effects, in the order its handlers ran, must be its events in log order; each once. */
  async function expectLogOrderOnce(total: number): Promise<void> {
    const effects = await h.db.selectFrom('test_effects').selectAll().orderBy('id').execute();
    expect(effects).toHaveLength(total);
    expect(new Set(effects.map((e) => e.event_id)).size).toBe(total);
    const logOrder = new Map<string, number[]>();
    for (const e of (await h.engine.log.query({ limit: 1000 })).events) logOrder.set(e.aggregateId, [...(logOrder.get(e.aggregateId) ?? []), e.sequence!]);
    const handledOrder = new Map<string, number[]>();
    for (const e of effects) handledOrder.set(e.aggregate_id, [...(handledOrder.get(e.aggregate_id) ?? []), Number(e.sequence)]);
    expect(handledOrder.size).toBe(logOrder.size);
    for (const [agg, seqs] of logOrder) expect(handledOrder.get(agg), agg).toEqual(seqs);
  }

  /** Lease owners and how many partitions of test.counter each holds. */
  async function owners(): Promise<number[]> {
    const rows = await h.storage.db.selectFrom('transport_leases').select('owner').where('consumer', '=', 'test.counter').where('owner', 'is not', null).execute();
    const counts = new Map<string, number>();
    for (const r of rows as { owner: string }[]) counts.set(r.owner, (counts.get(r.owner) ?? 0) + 1);
    return [...counts.values()].sort();
  }

  /** 10 concurrent writers, 100 events each over 50 aggregates, through the given engines in turn. */
  async function appendThousand(engines: Engine[], afterRound?: (round: number) => Promise<void>): Promise<void> {
    for (let batch = 0; batch < 10; batch++) {
      await Promise.all(
        Array.from({ length: 10 }, (_, writer) =>
          engines[writer % engines.length]!.unitOfWork.run('test', async (tx) => {
            for (let k = 0; k < 10; k++) {
              const n = writer * 100 + batch * 10 + k;
              tx.emit(counterEvent(`agg-${n % 50}`, n));
            }
          }),
        ),
      );
      await afterRound?.(batch);
    }
  }

  it('two engines on one database share the partitions: both work, each event is handled once, in log order per aggregate', async () => {
    const a = { n: 0 };
    const b = { n: 0 };
    const first = await h.restart({ modules: [countingModule(h, a)] });
    const second = h.engineBeside({ modules: [countingModule(h, b)] });
    others.push(second);
    await Promise.all([first.start(), second.start()]);
    await eventually(async () => (await owners()).join() === '4,4', 'the partitions split 4 and 4');

    await appendThousand([first, second]);
    await eventually(async () => (await effectCount()) >= 1000, '1,000 effects');
    await expectLogOrderOnce(1000);
    expect(a.n).toBeGreaterThan(0);
    expect(b.n).toBeGreaterThan(0);
    expect(a.n + b.n).toBe(1000);
    expect(await h.engine.deadLetters.countOpen()).toBe(0);
  });

  it('an engine that stops hands its partitions over while events flow: nothing lost, nothing twice, order kept', async () => {
    const first = h.engine;
    const second = h.engineBeside();
    others.push(second);
    await Promise.all([first.start(), second.start()]);
    await eventually(async () => (await owners()).join() === '4,4', 'the partitions split 4 and 4');

    await appendThousand([first, second], async (round) => {
      if (round === 3) await second.stop();
    });
    await eventually(async () => (await effectCount()) >= 1000, '1,000 effects');
    await expectLogOrderOnce(1000);
    await eventually(async () => (await owners()).join() === '8', 'the remaining engine owning all 8 partitions');
  });

  it('wakes the consumers of another process at once over NATS: an event crosses processes without waiting for a poll', async () => {
    // This engine works every partition and would look at the log again only after a minute.
    const engine = await h.restart({ transport: h.stream!.transport({ pollMs: 60_000 }) });
    await engine.start();
    await eventually(async () => (await owners()).join() === '8', 'one engine owning all 8 partitions');
    // Another process, with no consumer, appends: its commit wakes the first one.
    const writer = h.engineBeside({ modules: [relayOnly] });
    others.push(writer);
    await writer.start();
    for (let i = 0; i < 5; i++) {
      await writer.unitOfWork.run('test', async (tx) => {
        tx.emit(counterEvent(`w-${i}`, i));
      });
      await eventually(async () => (await effectCount()) === i + 1, `event ${i} handled`, 20_000);
    }
    await expectLogOrderOnce(5);
  });

  it('keeps the published feed in log order on the stream, each event once', async () => {
    await h.engine.start();
    await appendThousand([h.engine]);
    await eventually(async () => (await effectCount()) >= 1000, '1,000 effects');
    const nc = await connect({ servers: natsUrl });
    try {
      const jsm = await jetstreamManager(nc);
      await eventually(async () => (await jsm.streams.info(h.stream!.stream)).state.messages === 1000, 'the whole log on the stream');
      const { state } = await jsm.streams.info(h.stream!.stream);
      const sequences: number[] = [];
      for (let seq = state.first_seq; seq <= state.last_seq; seq++) sequences.push(Number((await jsm.streams.getMessage(h.stream!.stream, { seq }))!.header.get('Orderflow-Sequence')));
      expect(sequences).toEqual([...sequences].sort((a, b) => a - b));
      expect(new Set(sequences).size).toBe(1000);
    } finally {
      await nc.close();
    }
  });

  it('relays from one process at a time; when the relaying one stops or its connection is cut, another carries on from its cursor: the feed keeps log order, each event once', async () => {
    const relayLeaders = async () =>
      (await sql<{ pid: number }>`select pid from pg_locks where locktype = 'advisory' and objid = 7301247 and granted and database = (select oid from pg_database where datname = current_database())`.execute(h.db)).rows.map((r) => r.pid);
    const engines = [h.engine, h.engineBeside({ modules: [relayOnly] }), h.engineBeside({ modules: [relayOnly] })];
    others.push(...engines.slice(1));
    await Promise.all(engines.map((e) => e.start()));
    const nc = await connect({ servers: natsUrl });
    try {
      const jsm = await jetstreamManager(nc);
      const onStream = async () => (await jsm.streams.info(h.stream!.stream)).state.messages;
      const append = async (from: number) => {
        for (let n = from; n < from + 100; n += 10) await engines[n % 3]!.unitOfWork.run('test', async (tx) => void Array.from({ length: 10 }, (_, k) => tx.emit(counterEvent(`r-${(n + k) % 7}`, n + k))));
      };
      await append(0);
      await eventually(async () => (await onStream()) === 100, 'the first 100 events on the stream');
      expect(await relayLeaders()).toHaveLength(1);

      // The relaying connection's session ends under it (an administrator, a failover): another takes the lock.
      const [cut] = await relayLeaders();
      await sql`select pg_terminate_backend(${cut})`.execute(h.db);
      await append(100);
      await eventually(async () => (await onStream()) === 200, 'the next 100 events on the stream');
      await eventually(async () => (await relayLeaders()).length === 1 && (await relayLeaders())[0] !== cut, 'another session relaying');

      // Every engine but one stops, whichever relays: the last one relays what they appended.
      for (const engine of engines.slice(0, 2)) {
        await append(engines.indexOf(engine) === 0 ? 200 : 300);
        await engine.stop();
      }
      await append(400);
      await eventually(async () => (await onStream()) === 500, 'all 500 events on the stream');
      const { state } = await jsm.streams.info(h.stream!.stream);
      const sequences: number[] = [];
      for (let seq = state.first_seq; seq <= state.last_seq; seq++) sequences.push(Number((await jsm.streams.getMessage(h.stream!.stream, { seq }))!.header.get('Orderflow-Sequence')));
      expect(sequences).toEqual([...sequences].sort((a, b) => a - b));
      expect(new Set(sequences).size).toBe(500);
      expect(await relayLeaders()).toHaveLength(1);
    } finally {
      await nc.close();
    }
  });

  it('reports health, outbox backlog and consumer lag, and refuses a stream made with another partition count', async () => {
    await h.engine.start();
    expect(await h.engine.health()).toMatchObject({ storage: { ok: true }, transport: { ok: true, detail: expect.stringContaining(h.stream!.stream) } });
    await h.engine.unitOfWork.run('test', async (tx) => {
      for (let i = 0; i < 50; i++) tx.emit(counterEvent(`m-${i % 5}`, i));
    });
    await eventually(async () => (await effectCount()) === 50, '50 effects');
    const gauge = async (name: string) => (await h.engine.metrics.registry.getSingleMetric(name)!.get()).values;
    await eventually(async () => (await gauge('orderflow_outbox_backlog_events'))[0]?.value === 0, 'an empty outbox backlog');
    await eventually(async () => (await gauge('orderflow_consumer_lag_events')).some((v) => v.labels.consumer === 'test.counter' && v.value === 0), 'no lag');

    const other = h.engineBeside({ transport: h.stream!.transport({ partitions: 4 }) });
    await expect(other.start()).rejects.toMatchObject({ code: 'NATS_PARTITIONS_CHANGED' });

    await h.engine.stop();
    expect((await h.engine.health()).transport).toMatchObject({ ok: false });
  });
});
