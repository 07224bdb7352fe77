import { sql } from 'kysely';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { EventEnvelope } from '../../src/kernel/envelope.js';
import { defineConsumer } from '../../src/platform/delivery/consumer.js';
import { createConsumerEngine, type ConsumerEngine } from '../support/consumer-engine.js';
import { dialects } from '../support/databases.js';
import { counterEvent, type TestTables } from '../support/kernel-test-module.js';

/**
 * Regression test of the fencing bug the fault campaign found (issue 16): a partition worker
 * paused inside its delivery transaction past its lease woke up and committed the batch,
 * checkpoint and all, for a partition another process held by then. The delivery's fence (the
 * lease, checked at the very end of the transaction) now rolls the whole batch back.
 */
describe.each(dialects)('a delivery whose fence fell while it ran, on %s', (dialect) => {
  let h: ConsumerEngine;
  let fenceHolds = true;
  beforeEach(async () => {
    fenceHolds = true;
    const consumer = defineConsumer<TestTables>({
      name: 'test.fenced',
      source: 'test',
      handlers: {
        CounterIncremented: async (event, ctx) => {
          await ctx.db.insertInto('test_totals').values({ aggregate_id: event.aggregateId, total: (event.payload as { amount: number }).amount, handled: 1 }).execute();
          // The process is paused here past its lease; when it wakes up the lease is gone.
          fenceHolds = false;
          ctx.emit(counterEvent(`${event.aggregateId}-next`, 1));
        },
      },
    });
    h = await createConsumerEngine(dialect, [consumer]);
  });
  afterEach(async () => {
    await h?.close();
  });

  it('commits nothing: no effect, no inbox record, no emitted event, the checkpoint where it was', async () => {
    await h.engine.unitOfWork.run('test', async (tx) => void tx.emit(counterEvent('f-1', 5)));
    const events: EventEnvelope[] = (await h.engine.log.query({ limit: 10 })).events;
    const result = await h.engine.dispatcher.deliver('test.fenced', events, { partition: 0, expectedPosition: 0, fence: () => fenceHolds });

    expect(result).toMatchObject({ stale: true, outcomes: [], appended: [] });
    expect(await h.totals()).toEqual({});
    expect(await h.storage.db.selectFrom('inbox').selectAll().execute()).toEqual([]);
    expect((await h.engine.log.query({ limit: 10 })).events.map((e) => e.aggregateId)).toEqual(['f-1']);
    const checkpoint = await h.storage.db.selectFrom('consumer_checkpoints').select('position').where('consumer', '=', 'test.fenced').where('partition', '=', 0).executeTakeFirstOrThrow();
    expect(Number(checkpoint.position)).toBe(0);

    // With the fence holding, the same batch commits as usual.
    fenceHolds = true;
    const again = await h.engine.dispatcher.deliver('test.fenced', events, { partition: 0, expectedPosition: 0, fence: () => true });
    expect(again).toMatchObject({ stale: false, outcomes: ['handled'] });
    expect(await h.totals()).toEqual({ 'f-1': [5, 1] });
  });
});

/**
 * The checkpoint is the fence between two workers of one partition: a batch handed over with
 * the position its reader saw commits only if the checkpoint is still there (on PostgreSQL the
 * transaction moves it in its first statement), whichever worker gets there first.
 */
describe.each(dialects)('two workers delivering the same batch from the same checkpoint, on %s', (dialect) => {
  let h: ConsumerEngine;
  beforeEach(async () => {
    const consumer = defineConsumer<TestTables>({
      name: 'test.twice',
      source: 'test',
      handlers: {
        CounterIncremented: async (event, ctx) => {
          const amount = (event.payload as { amount: number }).amount;
          await ctx.db
            .insertInto('test_totals')
            .values({ aggregate_id: event.aggregateId, total: amount, handled: 1 })
            .onConflict((oc) => oc.column('aggregate_id').doUpdateSet((eb) => ({ total: eb('test_totals.total', '+', amount), handled: eb('test_totals.handled', '+', 1) })))
            .execute();
          ctx.emit(counterEvent(`${event.aggregateId}-next`, 1));
        },
      },
    });
    h = await createConsumerEngine(dialect, [consumer]);
  });
  afterEach(async () => {
    await h?.close();
  });

  const checkpoint = async () =>
    Number((await h.storage.db.selectFrom('consumer_checkpoints').select('position').where('consumer', '=', 'test.twice').where('partition', '=', 0).executeTakeFirstOrThrow()).position);

  it('one applies it and moves the checkpoint; the other finds it moved and commits nothing', async () => {
    for (const id of ['t-1', 't-2']) await h.engine.unitOfWork.run('test', async (tx) => void tx.emit(counterEvent(id, 5)));
    const events: EventEnvelope[] = (await h.engine.log.query({ limit: 10 })).events;
    const results = await Promise.all([0, 1].map(() => h.engine.dispatcher.deliver('test.twice', events, { partition: 0, expectedPosition: 0 })));

    expect(results.map((r) => r.stale).sort()).toEqual([false, true]);
    expect(results.find((r) => !r.stale)).toMatchObject({ outcomes: ['handled', 'handled'] });
    expect(results.find((r) => r.stale)).toMatchObject({ outcomes: [], appended: [] });
    expect(await h.totals()).toEqual({ 't-1': [5, 1], 't-2': [5, 1] });
    expect((await h.engine.log.query({ limit: 10 })).events.map((e) => e.aggregateId)).toEqual(['t-1', 't-2', 't-1-next', 't-2-next']);
    expect(await checkpoint()).toBe(events[1]!.sequence);

    // Later, with the position it read then: still nothing.
    expect(await h.engine.dispatcher.deliver('test.twice', events, { partition: 0, expectedPosition: 0 })).toMatchObject({ stale: true, outcomes: [] });
    expect(await h.totals()).toEqual({ 't-1': [5, 1], 't-2': [5, 1] });
    expect(await checkpoint()).toBe(events[1]!.sequence);
  });
});

/**
 * A round of one consumer's partitions in one transaction (`deliverPartitions`): each partition
 * still commits only from the checkpoint its reader saw, and a fence that falls undoes them all.
 */
describe.each(dialects)('one consumer\'s batches of several partitions delivered together, on %s', (dialect) => {
  let h: ConsumerEngine;
  let fenceHolds = true;
  beforeEach(async () => {
    fenceHolds = true;
    const consumer = defineConsumer<TestTables>({
      name: 'test.together',
      source: 'test',
      handlers: {
        CounterIncremented: async (event, ctx) => {
          await ctx.db.insertInto('test_totals').values({ aggregate_id: event.aggregateId, total: (event.payload as { amount: number }).amount, handled: 1 }).execute();
          // The process is paused here past its leases.
          if (event.aggregateId === 'p1-pause') fenceHolds = false;
          ctx.emit(counterEvent(`${event.aggregateId}-next`, 1));
        },
      },
    });
    h = await createConsumerEngine(dialect, [consumer]);
    await h.engine.dispatcher.register(3);
  });
  afterEach(async () => {
    await h?.close();
  });

  const checkpoints = async () =>
    Object.fromEntries(
      (await h.storage.db.selectFrom('consumer_checkpoints').select(['partition', 'position']).where('consumer', '=', 'test.together').orderBy('partition').execute()).map((r) => [Number(r.partition), Number(r.position)]),
    );

  it('applies the partitions whose checkpoint is where their reader saw it, leaves out the one another worker moved, and moves each checkpoint to its own last event', async () => {
    for (const id of ['p0-a', 'p1-a', 'p2-a', 'p0-b']) await h.engine.unitOfWork.run('test', async (tx) => void tx.emit(counterEvent(id, 2)));
    const events: EventEnvelope[] = (await h.engine.log.query({ limit: 10 })).events;
    const of = (prefix: string) => events.filter((e) => e.aggregateId.startsWith(prefix));
    // Another worker took partition 1 first.
    expect(await h.engine.dispatcher.deliver('test.together', of('p1'), { partition: 1, expectedPosition: 0 })).toMatchObject({ stale: false });

    const result = await h.engine.dispatcher.deliverPartitions('test.together', [
      { partition: 2, expectedPosition: 0, events: of('p2') },
      { partition: 0, expectedPosition: 0, events: of('p0') },
      { partition: 1, expectedPosition: 0, events: of('p1') },
    ]);

    expect([...result.stale]).toEqual([1]);
    expect(result.appended.map((e) => e.aggregateId).sort()).toEqual(['p0-a-next', 'p0-b-next', 'p2-a-next']);
    expect(await h.totals()).toEqual({ 'p0-a': [2, 1], 'p0-b': [2, 1], 'p1-a': [2, 1], 'p2-a': [2, 1] });
    expect(await checkpoints()).toEqual({ 0: of('p0')[1]!.sequence, 1: of('p1')[0]!.sequence, 2: of('p2')[0]!.sequence });
  });

  it('commits nothing for a partition whose transaction ends after the fence fell', async () => {
    for (const id of ['p0-a', 'p1-pause']) await h.engine.unitOfWork.run('test', async (tx) => void tx.emit(counterEvent(id, 2)));
    const events: EventEnvelope[] = (await h.engine.log.query({ limit: 10 })).events;
    const result = await h.engine.dispatcher.deliverPartitions(
      'test.together',
      events.map((e, i) => ({ partition: i, expectedPosition: 0, events: [e] })),
      { fence: () => fenceHolds },
    );

    const inbox = async () => (await h.storage.db.selectFrom('inbox').select('event_id').where('consumer', '=', 'test.together').execute()).map((r) => r.event_id);
    if (dialect === 'postgres') {
      // One transaction for both partitions: rolled back whole.
      expect([...result.stale].sort()).toEqual([0, 1]);
      expect(result.appended).toEqual([]);
      expect(await h.totals()).toEqual({});
      expect(await inbox()).toEqual([]);
      expect(await checkpoints()).toEqual({ 0: 0, 1: 0, 2: 0 });
    } else {
      // A transaction per partition: the first committed before the fence fell.
      expect([...result.stale]).toEqual([1]);
      expect(result.appended.map((e) => e.aggregateId)).toEqual(['p0-a-next']);
      expect(await h.totals()).toEqual({ 'p0-a': [2, 1] });
      expect(await inbox()).toEqual([events[0]!.eventId]);
      expect(await checkpoints()).toEqual({ 0: events[0]!.sequence, 1: 0, 2: 0 });
    }
  });
});

/**
 * On PostgreSQL a batch delivered from a known checkpoint records its events in the inbox in
 * the statement that claims the checkpoint. An event that turns out not to match its schema is
 * dead-lettered, not handled: it must not keep that record, or a re-drive would take it for a
 * duplicate and never handle it.
 */
describe.each(dialects)('a malformed event in a batch delivered from a known checkpoint, on %s', (dialect) => {
  let h: ConsumerEngine;
  beforeEach(async () => {
    const consumer = defineConsumer<TestTables>({
      name: 'test.malformed',
      source: 'test',
      handlers: {
        CounterIncremented: async (event, ctx) => {
          await ctx.db.insertInto('test_totals').values({ aggregate_id: event.aggregateId, total: (event.payload as { amount: number }).amount, handled: 1 }).execute();
        },
      },
    });
    h = await createConsumerEngine(dialect, [consumer]);
  });
  afterEach(async () => {
    await h?.close();
  });

  it('dead-letters it without an inbox record; the other events are handled and recorded', async () => {
    await h.engine.unitOfWork.run('test', async (tx) => void tx.emit(counterEvent('good-1', 1)));
    // A producer with another schema wrote it; the log takes raw rows, the consumer must not.
    await sql`insert into events (event_id, event_type, version, aggregate_type, aggregate_id, occurred_at, correlation_id, causation_id, source, payload)
              values ('bad-1', 'CounterIncremented', 1, 'Product', 'bad', '2026-01-01T00:00:00.000Z', 'c', null, 'elsewhere', '{"amount":"ten"}')`.execute(h.storage.db);
    await h.engine.unitOfWork.run('test', async (tx) => void tx.emit(counterEvent('good-2', 2)));
    const events = (await h.engine.log.query({ limit: 10 })).events;
    expect(events.map((e) => e.aggregateId)).toEqual(['good-1', 'bad', 'good-2']);

    const result = await h.engine.dispatcher.deliver('test.malformed', events, { partition: 0, expectedPosition: 0 });

    expect(result).toMatchObject({ stale: false, outcomes: ['handled', 'dead', 'handled'] });
    expect(await h.totals()).toEqual({ 'good-1': [1, 1], 'good-2': [2, 1] });
    const inbox = await h.storage.db.selectFrom('inbox').select('event_id').where('consumer', '=', 'test.malformed').execute();
    expect(inbox.map((r) => r.event_id).sort()).toEqual([events[0]!.eventId, events[2]!.eventId].sort());
    const [letter] = await h.engine.deadLetters.list({ status: 'dead' });
    expect(letter).toMatchObject({ eventId: 'bad-1', reason: 'schema', status: 'dead' });
  });
});
