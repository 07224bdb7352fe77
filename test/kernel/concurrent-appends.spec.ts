// Appends on PostgreSQL run side by side and commit in any order: a reader following the log
// must never skip an event whose transaction commits late, never deliver one twice, and keep
// each aggregate's order. These run on the PostgreSQL setups (in-process and NATS); SQLite has
// one writer at a time, so a transaction held open would only hold up every other writer.
import { randomUUID } from 'node:crypto';
import { sql, type Kysely } from 'kysely';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createUuidV7Generator } from '../../src/kernel/ids.js';
import type { EventEnvelope } from '../../src/kernel/envelope.js';
import { buildEnvelope } from '../../src/platform/log/tx-context.js';
import { counterEvent, eventually, type TestTables } from '../support/kernel-test-module.js';
import { kernelSetups } from '../support/transports.js';
import { createKernelHarness, type KernelHarness } from './harness.js';

const ids = createUuidV7Generator();
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe.each(kernelSetups.filter((s) => s.dialect === 'postgres'))('concurrent appends on $name', (setup) => {
  let h: KernelHarness;
  beforeEach(async () => {
    h = await createKernelHarness(setup);
    await h.engine.start();
  });
  afterEach(async () => {
    await h?.close();
  });

  const envelope = (aggregateId: string, amount: number): EventEnvelope =>
    buildEnvelope(counterEvent(aggregateId, amount), { source: 'test', ids, at: Date.now() });

  /**
   * Appends in a transaction of its own and keeps it open after the append (`hold` ms, or until
   * the promise settles), as a slow writer would; `fail` rolls it back instead of committing.
   */
  async function appendAndHold(events: EventEnvelope[], hold: number | Promise<unknown>, fail = false): Promise<EventEnvelope[]> {
    let appended: EventEnvelope[] = [];
    try {
      await h.storage.db.transaction().execute(async (trx) => {
        appended = await h.engine.log.append(trx as never, events);
        await (typeof hold === 'number' ? sleep(hold) : hold);
        if (fail) throw new Error('the writer gives up');
      });
    } catch (error) {
      if (!fail) throw error;
    }
    h.engine.wake();
    return appended;
  }

  it('reads the stable head after a known one: never past an append in flight below the highest committed, never stuck behind one rolled back', async () => {
    const [first] = await appendAndHold([envelope('head-a', 1)], 0);
    const known = await h.engine.log.head();
    expect(known).toBeGreaterThanOrEqual(first!.sequence!);
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    let inFlight: EventEnvelope[] = [];
    const slow = appendAndHold([envelope('head-b', 1)], held).then((events) => (inFlight = events));
    // Its insert has run (numbered) once it holds the in-flight mark (event-log.ts) and shows its row to nobody.
    const marks = async () => Number((await sql<{ n: string }>`select count(*) as n from pg_locks where locktype = 'advisory' and objsubid = 2`.execute(h.storage.db)).rows[0]!.n);
    await eventually(async () => (await marks()) > 0, 'the slow append in flight');
    await sleep(50);
    const [later] = await appendAndHold([envelope('head-c', 1)], 0);
    // Committed above an append still in flight: the head stays below the in-flight one.
    const whileHeld = await h.engine.log.head(known);
    expect(whileHeld).toBeLessThan(later!.sequence!);
    release();
    await slow;
    expect(inFlight[0]!.sequence!).toBeLessThan(later!.sequence!);
    expect(await h.engine.log.head(known)).toBeGreaterThanOrEqual(later!.sequence!);
    // A rolled-back append leaves a hole for good; the head passes it once nothing is in flight.
    await appendAndHold([envelope('head-d', 1)], 0, true);
    const [last] = await appendAndHold([envelope('head-e', 1)], 0);
    expect(await h.engine.log.head(later!.sequence!)).toBe(last!.sequence!);
  });

  const effects = async () => (h.db as Kysely<TestTables>).selectFrom('test_effects').selectAll().orderBy('id').execute();

  /** Every logged event handled exactly once, and per aggregate in log order. */
  async function expectEachOnceInLogOrder(expected: number): Promise<void> {
    await eventually(async () => (await effects()).length >= expected, `${expected} effects`);
    // Anything delivered twice would show up shortly after.
    await sleep(300);
    const handled = await effects();
    const log = (await h.storage.db.selectFrom('events' as never).select(['aggregate_id', 'sequence'] as never).orderBy('sequence' as never).execute()) as { aggregate_id: string; sequence: string }[];
    expect(log).toHaveLength(expected);
    expect(handled).toHaveLength(expected);
    expect(new Set(handled.map((e) => e.event_id)).size).toBe(expected);
    const byAggregate = (rows: { aggregate_id: string; sequence: number }[]) => {
      const out = new Map<string, number[]>();
      for (const r of rows) out.set(r.aggregate_id, [...(out.get(r.aggregate_id) ?? []), Number(r.sequence)]);
      return out;
    };
    const logOrder = byAggregate(log.map((e) => ({ aggregate_id: e.aggregate_id, sequence: Number(e.sequence) })));
    const handledOrder = byAggregate(handled);
    expect(handledOrder.size).toBe(logOrder.size);
    for (const [aggregate, sequences] of logOrder) expect(handledOrder.get(aggregate), aggregate).toEqual(sequences);
  }

  /** Appends of this database in flight (the marks `EventLog.append` takes). */
  const appendsInFlight = async () =>
    Number(
      (
        await sql<{ n: string }>`select count(*) as n from pg_locks where locktype = 'advisory' and objsubid = 2
          and database = (select oid from pg_database where datname = current_database())`.execute(h.storage.db)
      ).rows[0]!.n,
    );

  it('delivers the events of a transaction held open for 2 s exactly once, after its commit, and before the later events of its aggregate', async () => {
    // The consumer is live: a first event goes through.
    await h.engine.unitOfWork.run('test', async (tx) => {
      tx.emit(counterEvent('warm-up', 1));
    });
    await eventually(async () => (await effects()).length === 1, 'the warm-up event handled');

    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    const slow = appendAndHold([envelope('slow', 1), envelope('slow', 2)], Promise.all([released, sleep(2000)]));
    await eventually(async () => (await appendsInFlight()) > 0, 'the slow append in flight');
    await Promise.all(
      Array.from({ length: 10 }, (_, writer) =>
        (async () => {
          for (let i = 0; i < 100; i++) {
            const n = writer * 100 + i;
            // Some of them write the slow transaction's aggregate: they follow it in the log.
            const aggregate = n % 50 === 7 ? 'slow' : `fast-${n % 40}`;
            await h.engine.unitOfWork.run('test', async (tx) => {
              tx.emit(counterEvent(aggregate, 1000 + n));
            });
          }
        })(),
      ),
    );
    // All 1,000 later transactions have committed; the slow one is still open. Give the
    // consumer time to (wrongly) take what committed after it.
    await sleep(500);
    const whileOpen = await effects();
    expect(await appendsInFlight()).toBeGreaterThan(0);
    // Operators see what holds delivery back: readiness says it, the metric gives its age.
    await eventually(async () => /an append in flight for \d+\.\d s holds back delivery/.test((await h.engine.health()).storage.detail ?? ''), 'the readiness detail');
    const age = await h.engine.metrics.registry.getSingleMetric('orderflow_log_oldest_append_in_flight_seconds')!.get();
    expect(age.values[0]!.value).toBeGreaterThanOrEqual(1);
    release();
    const slowEvents = await slow;
    expect(slowEvents).toHaveLength(2);
    const laterOnSlow = (await h.engine.log.query({ aggregateId: 'slow', limit: 1000 })).events.filter((e) => e.sequence! > slowEvents[1]!.sequence!);
    expect(laterOnSlow).toHaveLength(20);
    // Nothing that committed after the slow append began was handled before the slow one committed.
    expect(whileOpen.map((e) => e.aggregate_id)).toEqual(['warm-up']);
    await expectEachOnceInLogOrder(1003);
    // Its events come first on their aggregate, before the 20 that followed them.
    const slowHandled = (await effects()).filter((e) => e.aggregate_id === 'slow').map((e) => e.event_id);
    expect(slowHandled).toHaveLength(22);
    expect(slowHandled.slice(0, 2)).toEqual(slowEvents.map((e) => e.eventId));
  }, 120_000);

  it('keeps each aggregate in append order with 20 concurrent writers over 50 aggregates, none missing, none twice', async () => {
    let seed = 42;
    const random = () => ((seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31);
    await Promise.all(
      Array.from({ length: 20 }, (_, writer) =>
        (async () => {
          for (let i = 0; i < 25; i++) {
            const events = Array.from({ length: 1 + (i % 4) }, (_, k) => envelope(`agg-${Math.floor(random() * 50)}`, writer * 1000 + i * 10 + k));
            // Half of them hold their transaction open a moment after the append, so commits
            // land out of sequence order.
            if ((writer + i) % 2 === 0) await appendAndHold(events, Math.floor(random() * 15));
            else
              await h.engine.unitOfWork.run('test', async (tx) => {
                for (const e of events) tx.emit(counterEvent(e.aggregateId, (e.payload as { amount: number }).amount));
              });
          }
        })(),
      ),
    );
    const total = Array.from({ length: 20 }, () => Array.from({ length: 25 }, (_, i) => 1 + (i % 4)).reduce((a, b) => a + b, 0)).reduce((a, b) => a + b, 0);
    await expectEachOnceInLogOrder(total);
  }, 120_000);

  it('leaves no trace of a writer that rolls back, and blocks nothing behind it', async () => {
    const doomed = appendAndHold([envelope('doomed', 1), envelope('kept-0', 2)], 800, true);
    await sleep(100);
    for (let i = 0; i < 30; i++) {
      await h.engine.unitOfWork.run('test', async (tx) => {
        tx.emit(counterEvent(`kept-${i % 3}`, 10 + i));
      });
    }
    await doomed;
    await expectEachOnceInLogOrder(30);
    expect((await h.engine.log.query({ aggregateId: 'doomed' })).events).toEqual([]);
    expect((await effects()).some((e) => e.aggregate_id === 'doomed')).toBe(false);
    // The head moved past the hole the rolled-back numbers left.
    const last = (await h.engine.log.query({ limit: 1000 })).events.at(-1)!;
    expect(await h.engine.log.head()).toBe(last.sequence);
    // And later writers still go through.
    await h.engine.unitOfWork.run('test', async (tx) => {
      tx.emit(counterEvent(`after-${randomUUID().slice(0, 4)}`, 99));
    });
    await expectEachOnceInLogOrder(31);
  }, 120_000);
});
