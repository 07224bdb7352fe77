import { sql, type Kysely } from 'kysely';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { EventEnvelope } from '../../src/kernel/envelope.js';
import { defineConsumer } from '../../src/platform/delivery/consumer.js';
import { createConsumerEngine, type ConsumerEngine } from '../support/consumer-engine.js';
import { dialects } from '../support/databases.js';
import { counterEvent, type TestTables } from '../support/kernel-test-module.js';

/**
 * A consumer with a batch handler (as the stats projection has): the fast path hands it the
 * fresh events of a delivery at once; duplicates never reach it, and a failure falls back to
 * the per-event handlers, so the failing event alone is retried and its aggregate parked.
 */
describe.each(dialects)('batch handlers on %s', (dialect) => {
  let h: ConsumerEngine;
  const batches: string[][] = [];
  const failFor = new Set<string>();

  async function addTotals(db: Kysely<TestTables>, events: readonly EventEnvelope[]) {
    const byAggregate = new Map<string, { total: number; handled: number }>();
    for (const event of events) {
      if (failFor.has(event.aggregateId)) throw new Error(`boom for ${event.aggregateId}`);
      const sum = byAggregate.get(event.aggregateId) ?? { total: 0, handled: 0 };
      sum.total += (event.payload as { amount: number }).amount;
      sum.handled += 1;
      byAggregate.set(event.aggregateId, sum);
    }
    for (const [aggregateId, { total, handled }] of byAggregate) {
      await db
        .insertInto('test_totals')
        .values({ aggregate_id: aggregateId, total, handled })
        .onConflict((oc) => oc.column('aggregate_id').doUpdateSet({ total: sql`test_totals.total + ${total}`, handled: sql`test_totals.handled + ${handled}` }))
        .execute();
    }
  }

  beforeEach(async () => {
    batches.length = 0;
    failFor.clear();
    const consumer = defineConsumer<TestTables>({
      name: 'test.batch',
      source: 'test',
      handlers: { CounterIncremented: (event, ctx) => addTotals(ctx.db, [event]) },
      handleBatch: async (events, ctx) => {
        batches.push(events.map((e) => e.eventId));
        await addTotals(ctx.db, events);
      },
    });
    h = await createConsumerEngine(dialect, [consumer]);
  });
  afterEach(async () => {
    await h?.close();
  });

  async function append(amounts: { agg: string; amount: number }[]): Promise<EventEnvelope[]> {
    await h.engine.unitOfWork.run('test', async (tx) => {
      for (const a of amounts) tx.emit(counterEvent(a.agg, a.amount));
    });
    return (await h.engine.log.query({ limit: 1000 })).events;
  }

  it('hands the batch handler each fresh event once: redelivered batches give the state of one delivery', async () => {
    const amounts = Array.from({ length: 60 }, (_, i) => ({ agg: `b-${i % 6}`, amount: i + 1 }));
    const events = await append(amounts);
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < events.length; i += 7 + round) await h.engine.dispatcher.deliver('test.batch', events.slice(i, i + 7 + round));
    }
    const expected: Record<string, [number, number]> = {};
    for (const { agg, amount } of amounts) expected[agg] = [(expected[agg]?.[0] ?? 0) + amount, (expected[agg]?.[1] ?? 0) + 1];
    expect(await h.totals()).toEqual(expected);
    // Only the first round had fresh events: 9 batches of 7 (the last one shorter), 60 ids in all, none twice.
    expect(batches.flat()).toEqual(events.map((e) => e.eventId));
    expect(batches).toHaveLength(9);
  });

  it('falls back to the per-event handlers when the batch fails: only the failing aggregate waits', async () => {
    failFor.add('b-bad');
    const events = await append([
      { agg: 'b-ok', amount: 1 },
      { agg: 'b-bad', amount: 10 },
      { agg: 'b-ok', amount: 2 },
      { agg: 'b-bad', amount: 20 },
    ]);
    const result = await h.engine.dispatcher.deliver('test.batch', events);
    expect(result.outcomes).toEqual(['handled', 'failed', 'handled', 'parked']);
    expect(await h.totals()).toEqual({ 'b-ok': [3, 2] });
    const failed = await h.storage.db.selectFrom('failed_deliveries').select(['event_id', 'status']).execute();
    expect(failed).toEqual([{ event_id: events[1]!.eventId, status: 'retrying' }]);
  });
});
