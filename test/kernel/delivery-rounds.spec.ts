import SqliteDatabase from 'better-sqlite3';
import { sql, type Kysely } from 'kysely';
import { createEventLog, type EventLogTables } from '../../src/platform/log/event-log.js';
import { openStorage, type Storage } from '../../src/platform/storage/database.js';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { EventEnvelope } from '../../src/kernel/envelope.js';
import { defineConsumer } from '../../src/platform/delivery/consumer.js';
import { createConsumerEngine, type ConsumerEngine } from '../support/consumer-engine.js';
import { dialects } from '../support/databases.js';
import { counterEvent, eventually, type TestTables } from '../support/kernel-test-module.js';

/**
 * A delivery round (the in-process transport on SQLite): the batches of several consumers in
 * one transaction. Each stays on its own: a handler failing in one batch sends that batch down
 * the careful path and leaves the others' effects and checkpoints as they were.
 */
describe.each(dialects)('delivery rounds on %s', (dialect) => {
  let h: ConsumerEngine;
  const failFor = new Set<string>();

  const addTo = (table: string) => async (event: EventEnvelope, db: Kysely<TestTables>) => {
    if (table === 'picky' && failFor.has(event.aggregateId)) throw new Error(`boom for ${event.aggregateId}`);
    const amount = (event.payload as { amount: number }).amount;
    await db
      .insertInto('test_totals')
      .values({ aggregate_id: `${table}:${event.aggregateId}`, total: amount, handled: 1 })
      .onConflict((oc) => oc.column('aggregate_id').doUpdateSet({ total: sql`test_totals.total + ${amount}`, handled: sql`test_totals.handled + 1` }))
      .execute();
  };

  beforeEach(async () => {
    failFor.clear();
    const consumers = ['steady', 'picky'].map((name) =>
      defineConsumer<TestTables>({ name, source: 'test', handlers: { CounterIncremented: (event, ctx) => addTo(name)(event, ctx.db) } }),
    );
    h = await createConsumerEngine(dialect, consumers);
  });
  afterEach(async () => {
    await h?.close();
  });

  const positions = async () =>
    Object.fromEntries((await h.storage.db.selectFrom('consumer_checkpoints').select(['consumer', 'position']).execute()).map((r) => [r.consumer, Number(r.position)]));

  it('keeps each consumer of a round on its own when one of their handlers fails', async () => {
    failFor.add('bad');
    await h.engine.unitOfWork.run('test', async (tx) => {
      for (const [agg, amount] of [['ok', 1], ['bad', 10], ['ok', 2], ['bad', 20]] as const) tx.emit(counterEvent(agg, amount));
    });
    const { events } = await h.engine.log.query({});
    const [steady, picky] = await h.engine.dispatcher.deliverRound([
      { consumer: 'steady', events, expectedPosition: 0 },
      { consumer: 'picky', events, expectedPosition: 0 },
    ]);
    expect(steady!.outcomes).toEqual(['handled', 'handled', 'handled', 'handled']);
    expect(picky!.outcomes).toEqual(['handled', 'failed', 'handled', 'parked']);
    expect(await h.totals()).toEqual({ 'picky:ok': [3, 2], 'steady:bad': [30, 2], 'steady:ok': [3, 2] });
    expect(await positions()).toEqual({ steady: 4, picky: 4 });
    const failed = await h.storage.db.selectFrom('failed_deliveries').select(['consumer', 'event_id', 'status']).execute();
    expect(failed).toEqual([{ consumer: 'picky', event_id: events[1]!.eventId, status: 'retrying' }]);
    // Every event's outcome counted once, per consumer and outcome (the round counts them together).
    const delivered = (await h.engine.metrics.eventsDelivered.get()).values.map((v) => [v.labels.consumer, v.labels.outcome, v.value]);
    expect(delivered.sort()).toEqual([
      ['picky', 'failed', 1],
      ['picky', 'handled', 2],
      ['picky', 'parked', 1],
      ['steady', 'handled', 4],
    ]);
  });

  it('ends a round between two batches when asked, and leaves the rest untouched (deferred)', async () => {
    await h.engine.unitOfWork.run('test', async (tx) => {
      tx.emit(counterEvent('x', 5));
    });
    const { events } = await h.engine.log.query({});
    const asked: number[] = [];
    const [steady, picky] = await h.engine.dispatcher.deliverRound(
      [
        { consumer: 'steady', events, expectedPosition: 0 },
        { consumer: 'picky', events, expectedPosition: 0 },
      ],
      { endEarly: (heldMs) => asked.push(heldMs) > 0 },
    );
    expect(steady).toMatchObject({ stale: false, outcomes: ['handled'] });
    expect(steady!.deferred).toBeUndefined();
    expect(picky).toMatchObject({ stale: false, deferred: true, outcomes: [] });
    expect(asked).toHaveLength(1);
    expect(asked[0]).toBeGreaterThanOrEqual(0);
    expect(await h.totals()).toEqual({ 'steady:x': [5, 1] });
    expect(await positions()).toEqual({ steady: 1, picky: 0 });
  });

  it('applies nothing of a batch whose checkpoint moved on, and says so', async () => {
    await h.engine.unitOfWork.run('test', async (tx) => {
      tx.emit(counterEvent('x', 5));
    });
    const { events } = await h.engine.log.query({});
    await h.engine.dispatcher.deliverRound([{ consumer: 'steady', events, expectedPosition: 0 }]);
    const [again, picky] = await h.engine.dispatcher.deliverRound([
      { consumer: 'steady', events, expectedPosition: 0 },
      { consumer: 'picky', events, expectedPosition: 0 },
    ]);
    expect(again).toMatchObject({ stale: true, outcomes: [] });
    expect(picky).toMatchObject({ stale: false, outcomes: ['handled'] });
    expect(await h.totals()).toEqual({ 'picky:x': [5, 1], 'steady:x': [5, 1] });
  });
});

/**
 * The in-process transport's rounds (SQLite) read the log once for every consumer. A consumer far
 * behind — one added to a running system, or restored from an old checkpoint — is read for on
 * its own, so the others keep delivering new events while it catches up.
 */
describe('delivery rounds on sqlite: one consumer catching up', () => {
  let h: ConsumerEngine;
  /** How many old events `late` had handled when `live` handled the new one. */
  let lateHandledWhenLiveSawNew: number | undefined;
  let lateHandled: number;

  beforeEach(async () => {
    lateHandled = 0;
    lateHandledWhenLiveSawNew = undefined;
    const live = defineConsumer<TestTables>({
      name: 'live',
      source: 'test',
      handlers: {
        CounterIncremented: async (event) => {
          if (event.aggregateId === 'new') lateHandledWhenLiveSawNew = lateHandled;
        },
      },
    });
    const late = defineConsumer<TestTables>({
      name: 'late',
      source: 'test',
      handlers: {
        CounterIncremented: async () => {
          lateHandled++;
        },
      },
    });
    h = await createConsumerEngine('sqlite', [live, late]);
  });
  afterEach(async () => {
    await h?.close();
  });

  it('delivers a new event to an up-to-date consumer in the first round, while another works through 1,000 old ones', async () => {
    await h.engine.unitOfWork.run('test', async (tx) => {
      for (let i = 0; i < 1000; i++) tx.emit(counterEvent(`old-${i % 10}`, 1));
    });
    // `live` has seen the old events already; `late` has seen none of them.
    await sql`update consumer_checkpoints set position = 1000 where consumer = 'live'`.execute(h.storage.db);
    await h.engine.unitOfWork.run('test', async (tx) => {
      tx.emit(counterEvent('new', 1));
    });
    await h.engine.start();
    await eventually(async () => lateHandled === 1001 && lateHandledWhenLiveSawNew !== undefined, 'both consumers to catch up');

    // A round reads at most 256 events (the default batch): `live` got the new event in the
    // first round, not after `late` had been through the 1,000.
    expect(lateHandledWhenLiveSawNew).toBeLessThanOrEqual(256);
    const positions = await h.storage.db.selectFrom('consumer_checkpoints').select(['consumer', 'position']).orderBy('consumer').execute();
    expect(positions.map((p) => [p.consumer, Number(p.position)])).toEqual([
      ['late', 1001],
      ['live', 1001],
    ]);
  });
});

/**
 * In the embedded mode a round gives way to a waiting placement: once it has held the write lock
 * a few milliseconds it commits between two consumers' batches, and the batches it left out go
 * first in the next round. With a placement always waiting and handlers slower than that, every
 * round ends early: every event must still reach every consumer once, in order.
 */
describe('delivery rounds on sqlite: giving way to a waiting placement', () => {
  let h: ConsumerEngine;
  const seen: Record<string, string[]> = {};
  /** Times a round asked whether a placement waits: only after holding the lock 5 ms, and it then ended. */
  let roundsEnded = 0;

  beforeEach(async () => {
    for (const key of Object.keys(seen)) delete seen[key];
    roundsEnded = 0;
    const consumers = ['first', 'second', 'third'].map((name) =>
      defineConsumer<TestTables>({
        name,
        source: 'test',
        handlers: {
          CounterIncremented: async (event) => {
            (seen[name] ??= []).push(event.eventId);
            // Slower than the 5 ms a round holds the lock before it gives way.
            if ((event.payload as { amount: number }).amount % 25 === 0) await new Promise((resolve) => setTimeout(resolve, 6));
          },
        },
      }),
    );
    h = await createConsumerEngine('sqlite', consumers, { priorityWriterWaiting: () => ++roundsEnded > 0 });
  });
  afterEach(async () => {
    await h?.close();
  });

  it('delivers every event to every consumer once, in log order, across rounds that end early', async () => {
    await h.engine.unitOfWork.run('test', async (tx) => {
      for (let i = 1; i <= 300; i++) tx.emit(counterEvent(`agg-${i % 7}`, i));
    });
    await h.engine.start();
    await eventually(async () => ['first', 'second', 'third'].every((name) => (seen[name]?.length ?? 0) >= 300), 'every consumer to handle the 300 events');
    const { events } = await h.engine.log.query({ limit: 1000 });
    const logOrder = events.map((e) => e.eventId);
    for (const name of ['first', 'second', 'third']) expect(seen[name], name).toEqual(logOrder);
    expect(roundsEnded, 'rounds that ended early').toBeGreaterThan(0);
    const positions = await h.storage.db.selectFrom('consumer_checkpoints').select(['consumer', 'position']).orderBy('consumer').execute();
    expect(positions.map((p) => [p.consumer, Number(p.position)])).toEqual([
      ['first', 300],
      ['second', 300],
      ['third', 300],
    ]);
  });
});

/**
 * Placements waiting for their group commit (`runGrouped`) join the next delivery round's
 * transaction on the same connection: one commit serves both. Each keeps its all-or-nothing
 * (one that throws is rolled back alone), and when the round's commit fails, none of them was
 * written and every one is told.
 */
describe('delivery rounds on sqlite: grouped work commits with the round', () => {
  let h: ConsumerEngine;
  /** Runs inside steady's handler: work handed in while a batch runs. */
  let duringBatch: ((aggregateId: string) => void) | undefined;

  beforeEach(async () => {
    duringBatch = undefined;
    const steady = defineConsumer<TestTables>({
      name: 'steady',
      source: 'test',
      handlers: {
        CounterIncremented: async (event, ctx) => {
          duringBatch?.(event.aggregateId);
          await ctx.db.insertInto('test_totals').values({ aggregate_id: event.aggregateId, total: (event.payload as { amount: number }).amount, handled: 1 }).execute();
        },
      },
    });
    h = await createConsumerEngine('sqlite', [steady]);
    await sql`create table test_parents (id text primary key)`.execute(h.storage.db);
    await sql`create table test_children (id text primary key, parent text references test_parents (id) deferrable initially deferred)`.execute(h.storage.db);
  });
  afterEach(async () => {
    await h?.close();
  });

  const join = (trx: Parameters<ConsumerEngine['engine']['unitOfWork']['joinGroup']>[0]) => h.engine.unitOfWork.joinGroup(trx);
  const sequencesAndAggregates = async () => (await h.engine.log.query({})).events.map((e) => `${e.sequence}:${e.aggregateId}`);

  it('commits the waiting pieces in the round, before its batches, each on its own', async () => {
    await h.engine.unitOfWork.run('test', async (tx) => {
      tx.emit(counterEvent('before', 1));
    });
    const { events } = await h.engine.log.query({});
    const settled: string[] = [];
    const first = h.engine.unitOfWork.runGrouped('test', async (tx) => {
      tx.emit(counterEvent('placed-1', 1));
      return 'one';
    });
    const refused = h.engine.unitOfWork.runGrouped('test', async (tx) => {
      tx.emit(counterEvent('refused', 1));
      throw new Error('out of stock');
    });
    const second = h.engine.unitOfWork.runGrouped('test', async (tx) => {
      tx.emit(counterEvent('placed-2', 1));
      return 'two';
    });
    for (const [name, promise] of [['first', first], ['refused', refused], ['second', second]] as const) promise.then(() => settled.push(name), () => settled.push(`${name} rejected`));

    const [steady] = await h.engine.dispatcher.deliverRound([{ consumer: 'steady', events, expectedPosition: 0 }], { joinRound: join });
    // Answered by the round's commit, not by a commit of their own after it.
    expect(settled.sort()).toEqual(['first', 'refused rejected', 'second']);
    await expect(first).resolves.toBe('one');
    await expect(refused).rejects.toThrow('out of stock');
    await expect(second).resolves.toBe('two');
    expect(steady).toMatchObject({ stale: false, outcomes: ['handled'] });
    expect(await sequencesAndAggregates()).toEqual(['1:before', '2:placed-1', '3:placed-2']);
    expect(await h.totals()).toEqual({ before: [1, 1] });
  });

  it('takes in work handed over while its batches run, and commits it with them', async () => {
    await h.engine.unitOfWork.run('test', async (tx) => {
      for (const aggregateId of ['a', 'b']) tx.emit(counterEvent(aggregateId, 1));
    });
    const { events } = await h.engine.log.query({});
    const late: Promise<string>[] = [];
    duringBatch = (aggregateId) =>
      void late.push(
        h.engine.unitOfWork.runGrouped('test', async (tx) => {
          tx.emit(counterEvent(`late-${aggregateId}`, 1));
          return aggregateId;
        }),
      );
    let joins = 0;
    const settled: string[] = [];
    const [first, second] = await h.engine.dispatcher.deliverRound(
      [
        { consumer: 'steady', events: events.slice(0, 1), expectedPosition: 0 },
        // A second batch of the same consumer, as a pass of a round hands it (a checkpoint further on).
        { consumer: 'steady', events: events.slice(1), expectedPosition: 1 },
      ],
      {
        joinRound: (trx) => {
          joins++;
          const group = join(trx);
          for (const promise of late.splice(0)) void promise.then((name) => settled.push(name));
          return group;
        },
      },
    );
    // At the start, between the two batches (what the first one's handler handed in) and before the commit (the second's).
    expect(joins).toBe(3);
    expect(first).toMatchObject({ stale: false, outcomes: ['handled'] });
    expect(second).toMatchObject({ stale: false, outcomes: ['handled'] });
    await Promise.resolve();
    expect(settled).toEqual(['a', 'b']);
    expect(await sequencesAndAggregates()).toEqual(['1:a', '2:b', '3:late-a', '4:late-b']);
    expect(await h.totals()).toEqual({ a: [1, 1], b: [1, 1] });
  });

  it('leaves work handed over after it took every piece to the next round, not to a commit of its own', async () => {
    await h.engine.unitOfWork.run('test', async (tx) => {
      for (const aggregateId of ['a', 'b']) tx.emit(counterEvent(aggregateId, 1));
    });
    const { events } = await h.engine.log.query({});
    const joined: boolean[] = [];
    const recordingJoin = async (trx: Parameters<typeof join>[0]) => {
      const group = await join(trx);
      joined.push(group !== undefined);
      return group;
    };
    // Handed over before the round: its group commit is scheduled for the next turn of the event loop.
    const first = h.engine.unitOfWork.runGrouped('test', async (tx) => {
      tx.emit(counterEvent('first', 1));
    });
    await h.engine.dispatcher.deliverRound([{ consumer: 'steady', events: events.slice(0, 1), expectedPosition: 0 }], { joinRound: recordingJoin });
    await first;
    expect(joined).toEqual([true, false]);
    // As the delivery loop goes on: its next round starts after a turn of the event loop, and a
    // placement read in that turn is handed over after the loop asked for it.
    const loopTurn = new Promise((resolve) => setImmediate(resolve));
    const second = h.engine.unitOfWork.runGrouped('test', async (tx) => {
      tx.emit(counterEvent('second', 1));
    });
    await loopTurn;
    joined.length = 0;
    await h.engine.dispatcher.deliverRound([{ consumer: 'steady', events: events.slice(1), expectedPosition: 1 }], { joinRound: recordingJoin });
    await second;
    // The round took it in (one commit, one sync to the disk for both), where the first piece's
    // group commit, scheduled before the first round took that piece, would have committed it alone.
    expect(joined).toEqual([true, false]);
    expect(await sequencesAndAggregates()).toEqual(['1:a', '2:b', '3:first', '4:second']);
    expect(await h.totals()).toEqual({ a: [1, 1], b: [1, 1] });
  });

  it('still commits work handed over after a round took every piece when no round comes', async () => {
    const first = h.engine.unitOfWork.runGrouped('test', async (tx) => {
      tx.emit(counterEvent('first', 1));
    });
    await h.engine.unitOfWork.run('test', async (tx) => {
      tx.emit(counterEvent('a', 1));
    });
    const { events } = await h.engine.log.query({});
    await h.engine.dispatcher.deliverRound([{ consumer: 'steady', events: events.filter((e) => e.aggregateId === 'a'), expectedPosition: 0 }], { joinRound: join });
    await first;
    const second = h.engine.unitOfWork.runGrouped('test', async (tx) => {
      tx.emit(counterEvent('second', 1));
    });
    await second;
    expect((await sequencesAndAggregates()).map((s) => s.split(':')[1])).toEqual(['a', 'first', 'second']);
  });

  it('writes nothing of the pieces or of the round when the round cannot commit, and rejects every piece', async () => {
    await h.engine.unitOfWork.run('test', async (tx) => {
      tx.emit(counterEvent('before', 1));
    });
    const { events } = await h.engine.log.query({});
    const fine = h.engine.unitOfWork.runGrouped('test', async (tx) => {
      tx.emit(counterEvent('placed', 1));
    });
    // Checked only at the commit: a child whose parent does not exist.
    const dangling = h.engine.unitOfWork.runGrouped('test', async (tx) => {
      await sql`insert into test_children (id, parent) values ('c', 'missing')`.execute(tx.db);
    });
    await expect(h.engine.dispatcher.deliverRound([{ consumer: 'steady', events, expectedPosition: 0 }], { joinRound: join })).rejects.toThrow(/FOREIGN KEY/);
    await expect(fine).rejects.toThrow(/FOREIGN KEY/);
    await expect(dangling).rejects.toThrow(/FOREIGN KEY/);
    expect(await sequencesAndAggregates()).toEqual(['1:before']);
    expect(await h.totals()).toEqual({});
    expect(await sql<{ n: number }>`select count(*) as n from test_children`.execute(h.storage.db).then((r) => r.rows[0]!.n)).toBe(0);
    const checkpoint = await h.storage.db.selectFrom('consumer_checkpoints').select('position').where('consumer', '=', 'steady').executeTakeFirst();
    expect(Number(checkpoint?.position ?? 0)).toBe(0);
  });
});

/**
 * A round may deliver, in the same transaction, the events its own batches appended (the
 * in-process transport asks for such passes while a round is short): the passes commit
 * together or not at all, and each consumer's checkpoint ends past everything it was handed.
 */
describe('delivery rounds on sqlite: passes in one transaction', () => {
  let h: ConsumerEngine;
  const handled: string[] = [];

  beforeEach(async () => {
    handled.length = 0;
    const chain = defineConsumer<TestTables>({
      name: 'chain',
      source: 'test',
      handlers: {
        ChainStep: async (event, ctx) => {
          const step = (event.payload as { step: number }).step;
          handled.push(`${event.aggregateId}:${step}`);
          if (step < 2) ctx.emit({ eventType: 'ChainStep', aggregateType: 'Product', aggregateId: event.aggregateId, payload: { step: step + 1 } });
          // The last step of 'doomed' leaves a row that breaks the commit (a deferred foreign key).
          if (step === 2 && event.aggregateId === 'doomed') await sql`insert into test_children (id, parent) values ('c', 'missing')`.execute(ctx.db);
        },
      },
    });
    h = await createConsumerEngine('sqlite', [chain]);
    await sql`create table test_parents (id text primary key)`.execute(h.storage.db);
    await sql`create table test_children (id text primary key, parent text references test_parents (id) deferrable initially deferred)`.execute(h.storage.db);
  });
  afterEach(async () => {
    await h?.close();
  });

  /** The next pass: the chain's events after the last one delivered, read inside the round's transaction. */
  const followAppended = async (trx: unknown, pass: { batches: readonly { events: readonly EventEnvelope[] }[] }) => {
    const last = pass.batches.at(-1)?.events.at(-1)?.sequence ?? 0;
    const events = await h.engine.log.readAfter(last, { limit: 100, db: trx as Kysely<EventLogTables> });
    return events.length === 0 ? [] : [{ consumer: 'chain', events, expectedPosition: last }];
  };
  const chainStart = (aggregateId: string) =>
    h.engine.unitOfWork.run('test', async (tx) => {
      tx.emit({ eventType: 'ChainStep', aggregateType: 'Product', aggregateId, payload: { step: 0 } });
    });

  it('delivers what each pass appended in the same transaction, checkpoint past the last', async () => {
    await chainStart('a');
    const { events } = await h.engine.log.query({});
    const results = await h.engine.dispatcher.deliverRound([{ consumer: 'chain', events, expectedPosition: 0 }], { nextPass: followAppended });
    expect(handled).toEqual(['a:0', 'a:1', 'a:2']);
    expect(results.map((r) => r.outcomes)).toEqual([['handled'], ['handled'], ['handled']]);
    expect(results.map((r) => r.appended.map((e) => e.sequence))).toEqual([[2], [3], []]);
    const checkpoint = await h.storage.db.selectFrom('consumer_checkpoints').select('position').where('consumer', '=', 'chain').executeTakeFirst();
    expect(Number(checkpoint?.position)).toBe(3);
  });

  it('commits none of the passes when a later one cannot commit', async () => {
    await chainStart('doomed');
    const { events } = await h.engine.log.query({});
    await expect(h.engine.dispatcher.deliverRound([{ consumer: 'chain', events, expectedPosition: 0 }], { nextPass: followAppended })).rejects.toThrow(/FOREIGN KEY/);
    expect(handled).toEqual(['doomed:0', 'doomed:1', 'doomed:2']);
    expect((await h.engine.log.query({})).events.map((e) => e.sequence)).toEqual([1]);
    const checkpoint = await h.storage.db.selectFrom('consumer_checkpoints').select('position').where('consumer', '=', 'chain').executeTakeFirst();
    expect(Number(checkpoint?.position ?? 0)).toBe(0);
  });
});

/**
 * The in-process transport hands a round's own uncommitted events only to consumers whose
 * effects all stay in the transaction (`effectsInTransaction`); any other consumer — one that
 * may call the outside world — is only ever handed events another connection can already read.
 */
describe('delivery rounds on sqlite: uncommitted events only for consumers whose effects stay in the transaction', () => {
  let h: ConsumerEngine;
  let outside: SqliteDatabase.Database;
  const inner: string[] = [];
  const outer: { step: number; committed: boolean }[] = [];

  beforeEach(async () => {
    inner.length = 0;
    outer.length = 0;
    const chain = defineConsumer<TestTables>({
      name: 'inner',
      source: 'test',
      effectsInTransaction: true,
      handlers: {
        ChainStep: async (event, ctx) => {
          const step = (event.payload as { step: number }).step;
          inner.push(`${step}`);
          if (step < 3) ctx.emit({ eventType: 'ChainStep', aggregateType: 'Product', aggregateId: event.aggregateId, payload: { step: step + 1 } });
        },
      },
    });
    const watcher = defineConsumer<TestTables>({
      name: 'outer',
      source: 'test',
      handlers: {
        ChainStep: async (event) => {
          const seen = outside.prepare('select count(*) as n from events where event_id = ?').get(event.eventId) as { n: number };
          outer.push({ step: (event.payload as { step: number }).step, committed: seen.n === 1 });
        },
      },
    });
    h = await createConsumerEngine('sqlite', [chain, watcher]);
    outside = new SqliteDatabase(h.storage.description.replace(/^sqlite:/, ''), { readonly: true });
  });
  afterEach(async () => {
    outside?.close();
    await h?.close();
  });

  it('delivers the chain to both; the consumer that may act outside sees each step only once committed', async () => {
    await h.engine.unitOfWork.run('test', async (tx) => {
      tx.emit({ eventType: 'ChainStep', aggregateType: 'Product', aggregateId: 'p', payload: { step: 0 } });
    });
    await h.engine.start();
    await eventually(async () => outer.length === 4, 'the outer consumer to see the four steps');
    expect(inner).toEqual(['0', '1', '2', '3']);
    expect(outer).toEqual([0, 1, 2, 3].map((step) => ({ step, committed: true })));
  });
});

/**
 * The rounds take the events this process committed from memory (RecentEvents), and read the
 * log only from the first one it did not commit. Another writer's events (another process, a
 * CLI command) leave holes in what the process remembers: each is read from the log, in its
 * place, and nothing after it is taken from memory before it.
 */
describe('delivery rounds on sqlite: events of another writer between the process’s own', () => {
  let h: ConsumerEngine;
  let other: Storage;
  const seen: Record<string, string[]> = {};

  beforeEach(async () => {
    for (const key of Object.keys(seen)) delete seen[key];
    const consumers = ['first', 'second'].map((name) =>
      defineConsumer<TestTables>({
        name,
        source: 'test',
        effectsInTransaction: name === 'first',
        handlers: {
          CounterIncremented: async (event, ctx) => {
            (seen[name] ??= []).push(event.eventId);
            // The first consumer appends too: rounds have passes over their own uncommitted events.
            if (name === 'first' && (event.payload as { amount: number }).amount % 2 === 1) ctx.emit(counterEvent(`echo-${event.aggregateId}`, 0));
          },
        },
      }),
    );
    h = await createConsumerEngine('sqlite', consumers);
    other = await openStorage(h.storage.description, { checkpointer: false });
  });
  afterEach(async () => {
    await other?.close();
    await h?.close();
  });

  it('delivers every event, its own and the other writer’s, to every consumer once, in log order', async () => {
    const otherLog = createEventLog(other.db as never, 'sqlite');
    await h.engine.start();
    for (let i = 1; i <= 60; i++) {
      await h.engine.unitOfWork.run('test', async (tx) => {
        tx.emit(counterEvent(`own-${i % 5}`, i));
      });
      // Committed by another connection: this process is not told, and does not remember it.
      await other.db.transaction().execute((trx) =>
        otherLog.append(trx as never, [envelopeOf(counterEvent(`other-${i % 3}`, 2 * i), `other-${i}`)]),
      );
    }
    const total = async () => (await h.engine.log.query({ limit: 1000 })).events.length;
    // 60 own, 60 others', and 30 echoes of the odd amounts of the own ones.
    await eventually(async () => (await total()) === 150 && (seen.second?.length ?? 0) === 150 && (seen.first?.length ?? 0) === 150, 'both consumers to handle all 150 events');
    const logOrder = (await h.engine.log.query({ limit: 1000 })).events.map((e) => e.eventId);
    expect(seen.first).toEqual(logOrder);
    expect(seen.second).toEqual(logOrder);
    expect(logOrder.filter((id) => id.startsWith('other-'))).toHaveLength(60);
  });
});

/** A committed-looking envelope of a draft, for a writer outside the engine. */
function envelopeOf(draft: ReturnType<typeof counterEvent>, eventId: string): EventEnvelope {
  return {
    ...draft,
    eventId,
    version: 1,
    occurredAt: new Date().toISOString(),
    correlationId: 'corr-other',
    causationId: null,
    source: 'other-writer',
    payload: draft.payload as Record<string, unknown>,
  };
}
