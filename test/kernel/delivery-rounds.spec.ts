import { sql, type Kysely } from 'kysely';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { EventEnvelope } from '../../src/kernel/envelope.js';
import { defineConsumer } from '../../src/platform/delivery/consumer.js';
import { createConsumerEngine, type ConsumerEngine } from '../support/consumer-engine.js';
import { dialects } from '../support/databases.js';
import { counterEvent, type TestTables } from '../support/kernel-test-module.js';

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
