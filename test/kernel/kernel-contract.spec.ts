import { sql } from 'kysely';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { counterEvent, eventually, type TestTables } from '../support/kernel-test-module.js';
import { kernelSetups } from '../support/transports.js';
import { createKernelHarness, type KernelHarness } from './harness.js';

describe.each(kernelSetups)('kernel contract on $name', (setup) => {
  let h: KernelHarness;
  beforeEach(async () => {
    h = await createKernelHarness(setup);
  });
  afterEach(async () => {
    await h?.close();
  });

  const totals = async () =>
    Object.fromEntries((await h.db.selectFrom('test_totals').selectAll().orderBy('aggregate_id').execute()).map((r) => [r.aggregate_id, [Number(r.total), Number(r.handled)]]));

  it('commits a state change and its events together, and neither when the transaction throws', async () => {
    await h.engine.unitOfWork.run<void, TestTables>('test', async (tx) => {
      await tx.db.insertInto('test_totals').values({ aggregate_id: 'kept', total: 1, handled: 0 }).execute();
      tx.emit(counterEvent('kept', 1));
    });
    await expect(
      h.engine.unitOfWork.run<void, TestTables>('test', async (tx) => {
        await tx.db.insertInto('test_totals').values({ aggregate_id: 'lost', total: 1, handled: 0 }).execute();
        tx.emit(counterEvent('lost', 1));
        await tx.schedule({ key: 'lost-timer', kind: 'test.fire', dueAt: tx.now });
        throw new Error('abort');
      }),
    ).rejects.toThrow('abort');
    const rows = await h.db.selectFrom('test_totals').select('aggregate_id').execute();
    expect(rows.map((r) => r.aggregate_id)).toEqual(['kept']);
    const page = await h.engine.log.query({});
    expect(page.events.map((e) => e.aggregateId)).toEqual(['kept']);
    expect(page.events[0]).toMatchObject({ eventType: 'CounterIncremented', source: 'test', causationId: null, version: 1, sequence: 1 });
    expect(await h.engine.timers.get('lost-timer')).toBeUndefined();
  });

  it('commits grouped work together, each piece all-or-nothing: one that throws takes none of its neighbours down', async () => {
    const place = (id: string, fail: boolean) =>
      h.engine.unitOfWork.runGrouped<string, TestTables>('test', async (tx) => {
        await tx.db.insertInto('test_totals').values({ aggregate_id: id, total: 1, handled: 0 }).execute();
        tx.emit(counterEvent(id, 1));
        await tx.schedule({ key: `timer-${id}`, kind: 'test.fire', dueAt: tx.now + 60_000 });
        if (fail) throw new Error(`refused ${id}`);
        return id;
      });
    // Started in one turn of the event loop: on SQLite they share one transaction.
    const results = await Promise.allSettled([place('g-1', false), place('g-2', true), place('g-3', false), place('g-4', true), place('g-5', false)]);
    expect(results.map((r) => (r.status === 'fulfilled' ? r.value : (r.reason as Error).message))).toEqual(['g-1', 'refused g-2', 'g-3', 'refused g-4', 'g-5']);
    const rows = await h.db.selectFrom('test_totals').select('aggregate_id').orderBy('aggregate_id').execute();
    expect(rows.map((r) => r.aggregate_id)).toEqual(['g-1', 'g-3', 'g-5']);
    const page = await h.engine.log.query({});
    // On PostgreSQL they are separate concurrent transactions: the log's order among them is open.
    expect(page.events.map((e) => e.aggregateId).sort()).toEqual(['g-1', 'g-3', 'g-5']);
    expect(page.events.map((e) => e.sequence)).toEqual([1, 2, 3]);
    expect(await h.engine.timers.get('timer-g-2')).toBeUndefined();
    expect(await h.engine.timers.get('timer-g-3')).toBeDefined();
  });

  it('gives the same final state when every event is delivered three times', async () => {
    const amounts = Array.from({ length: 60 }, (_, i) => ({ agg: `p-${i % 6}`, amount: i + 1 }));
    await h.engine.unitOfWork.run('test', async (tx) => {
      for (const a of amounts) tx.emit(counterEvent(a.agg, a.amount));
    });
    const { events } = await h.engine.log.query({ limit: 1000 });
    await h.engine.dispatcher.register();
    // Deliver each batch three times, in varying groupings, as a broker redelivering would.
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < events.length; i += 7 + round) await h.engine.dispatcher.deliver('test.counter', events.slice(i, i + 7 + round));
    }
    const expected: Record<string, [number, number]> = {};
    for (const a of amounts) {
      const [total, handled] = expected[a.agg] ?? [0, 0];
      expected[a.agg] = [total + a.amount, handled + 1];
    }
    expect(await totals()).toEqual(expected);
    const effects = await h.db.selectFrom('test_effects').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    expect(Number(effects.n)).toBe(60);
  });

  it('delivers 1,000 events over 50 aggregates to the handler in append order per aggregate', async () => {
    await h.engine.start();
    // Appends from concurrent writers while the consumer runs.
    await Promise.all(
      Array.from({ length: 10 }, (_, writer) =>
        (async () => {
          for (let batch = 0; batch < 10; batch++) {
            await h.engine.unitOfWork.run('test', async (tx) => {
              for (let k = 0; k < 10; k++) {
                const n = writer * 100 + batch * 10 + k;
                tx.emit(counterEvent(`agg-${n % 50}`, n));
              }
            });
          }
        })(),
      ),
    );
    const count = async () => Number((await h.db.selectFrom('test_effects').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).n);
    await eventually(async () => (await count()) >= 1000, '1,000 effects');
    const effects = await h.db.selectFrom('test_effects').selectAll().orderBy('id').execute();
    expect(effects).toHaveLength(1000);
    // The order the handler ran in is the order of effect ids; per aggregate it must follow the log.
    const logOrder = new Map<string, number[]>();
    for (const e of (await h.engine.log.query({ limit: 1000 })).events) logOrder.set(e.aggregateId, [...(logOrder.get(e.aggregateId) ?? []), e.sequence!]);
    const handledOrder = new Map<string, number[]>();
    for (const e of effects) handledOrder.set(e.aggregate_id, [...(handledOrder.get(e.aggregate_id) ?? []), Number(e.sequence)]);
    expect(handledOrder.size).toBe(50);
    for (const [agg, seqs] of logOrder) expect(handledOrder.get(agg)).toEqual(seqs);
  });

  it('answers event queries by type, aggregate, correlation and cursor, each match once and in order', async () => {
    await h.engine.unitOfWork.run('test', async (tx) => {
      for (let i = 0; i < 30; i++) tx.emit({ ...counterEvent(`q-${i % 3}`, i), correlationId: `flow-${i % 2}` });
      tx.emit({ eventType: 'ChainStep', aggregateType: 'Product', aggregateId: 'q-0', payload: { step: 0 }, correlationId: 'flow-0' });
    });
    const all = (await h.engine.log.query({ limit: 1000 })).events;
    expect(all).toHaveLength(31);
    expect(all.map((e) => e.sequence)).toEqual([...all.map((e) => e.sequence)].sort((a, b) => a! - b!));

    const byType = (await h.engine.log.query({ eventType: 'ChainStep' })).events;
    expect(byType.map((e) => e.aggregateId)).toEqual(['q-0']);
    const byAggregate = (await h.engine.log.query({ aggregateId: 'q-1' })).events;
    expect(byAggregate.map((e) => (e.payload as { amount: number }).amount)).toEqual([1, 4, 7, 10, 13, 16, 19, 22, 25, 28]);
    const byCorrelation = (await h.engine.log.query({ correlationId: 'flow-0', aggregateId: 'q-0' })).events;
    expect(byCorrelation.map((e) => e.eventType)).toEqual([...Array(5).fill('CounterIncremented'), 'ChainStep']);

    // Walk the whole log with a cursor, 7 at a time: every event exactly once, in order.
    const walked: string[] = [];
    let cursor: number | undefined;
    for (;;) {
      const page = await h.engine.log.query({ limit: 7, after: cursor });
      walked.push(...page.events.map((e) => e.eventId));
      if (page.nextCursor === null) break;
      cursor = page.nextCursor;
    }
    expect(walked).toEqual(all.map((e) => e.eventId));
    expect(await h.engine.log.get(all[5]!.eventId)).toEqual(all[5]);
    expect(await h.engine.log.get('no-such-event')).toBeUndefined();
  });

  it('dead-letters a malformed event at once with the validation reason, without retrying', async () => {
    await h.engine.start();
    await h.engine.unitOfWork.run('test', async (tx) => {
      tx.emit(counterEvent('good', 1));
    });
    // A producer with another schema wrote it; the log takes raw rows, the consumer must not.
    await sql`insert into events (event_id, event_type, version, aggregate_type, aggregate_id, occurred_at, correlation_id, causation_id, source, payload)
              values ('bad-1', 'CounterIncremented', 1, 'Product', 'bad', '2026-01-01T00:00:00.000Z', 'c', null, 'elsewhere', '{"amount":"ten"}')`.execute(h.storage.db);
    await h.engine.unitOfWork.run('test', async (tx) => {
      tx.emit(counterEvent('bad', 5));
      tx.emit(counterEvent('good', 2));
    });
    await eventually(async () => (await h.engine.deadLetters.list({ status: 'dead' })).length === 1, 'dead letter');
    // The aggregate's later event is parked once it reaches the consumer: from NATS, maybe in a later fetch.
    await eventually(async () => (await h.engine.deadLetters.list({ status: 'dead' }))[0]?.parkedCount === 1, 'the later event parked');
    await eventually(async () => (await totals()).good?.[0] === 3, 'good aggregate');
    const [letter] = await h.engine.deadLetters.list({ status: 'dead' });
    expect(letter).toMatchObject({ eventId: 'bad-1', reason: 'schema', attempts: 1, status: 'dead', parkedCount: 1 });
    expect(letter!.error).toMatch(/schema: payload \/amount/);
    await new Promise((r) => setTimeout(r, 300));
    expect((await h.engine.deadLetters.get(letter!.id)).attempts).toBe(1);
    expect(await h.db.selectFrom('timers' as never).selectAll().execute()).toEqual([]);
    expect((await totals()).bad).toBeUndefined();
  });
});
