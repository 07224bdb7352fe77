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
