import { sql } from 'kysely';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { unhandledEarlierEventOfFlow } from '../../src/platform/delivery/flow-progress.js';
import { createEngine, type Engine } from '../../src/platform/engine.js';
import type { Storage } from '../../src/platform/storage/database.js';
import { createScratchDatabase, dialects, type ScratchDatabase } from '../support/databases.js';

// The rule the webhooks sender waits on: has a consumer handled every earlier event of a flow?
describe.each(dialects)('unhandledEarlierEventOfFlow on %s', (dialect) => {
  let scratch: ScratchDatabase;
  let storage: Storage;
  let engine: Engine;
  beforeEach(async () => {
    scratch = await createScratchDatabase(dialect);
    storage = await scratch.open();
    engine = createEngine({ storage, modules: [] });
    await engine.migrate();
  });
  afterEach(async () => {
    await storage.close();
    await scratch.drop();
  });

  const append = (type: string, flow: string) =>
    engine.unitOfWork.run('test', async (tx) => tx.emit({ eventType: type, aggregateType: 'Order', aggregateId: `${flow}-agg-${type}`, correlationId: flow, payload: {} }));
  const handled = (eventId: string) => storage.db.insertInto('inbox').values({ consumer: 'c', event_id: eventId, outcome: 'handled', attempts: 1, handled_at: 0 }).execute();
  const waiting = async (flow: string, before: number, types = ['A', 'B']) =>
    Boolean(
      Number(
        (await sql<{ w: unknown }>`select case when ${unhandledEarlierEventOfFlow('c', sql.val(flow), sql.val(before), types)} then 1 else 0 end as w`.execute(storage.db)).rows[0]!.w,
      ),
    );

  it('waits until the consumer has handled every earlier event of the flow, of its types; pruned records count as handled', async () => {
    const first = await append('A', 'flow-1');
    const other = await append('A', 'flow-2');
    const second = await append('B', 'flow-1');
    await append('Z', 'flow-1'); // a type the consumer does not handle
    const sequenceOf = async (eventId: string) => Number((await storage.db.selectFrom('events').select('sequence').where('event_id', '=', eventId).executeTakeFirstOrThrow()).sequence);
    const last = (await sequenceOf(second.eventId)) + 10;

    expect(await waiting('flow-1', last)).toBe(true);
    await handled(first.eventId);
    expect(await waiting('flow-1', last)).toBe(true);
    expect(await waiting('flow-1', await sequenceOf(second.eventId)), 'only the events before it count').toBe(false);
    await handled(second.eventId);
    expect(await waiting('flow-1', last), 'Z is not among its types; flow-2 is another flow').toBe(false);
    expect(await waiting('flow-2', last)).toBe(true);

    // Inbox records at or below every checkpoint of the consumer may be pruned: those count as handled.
    await storage.db.insertInto('consumer_checkpoints').values({ consumer: 'c', partition: 0, position: await sequenceOf(other.eventId), updated_at: 0 }).execute();
    expect(await waiting('flow-2', last)).toBe(false);
  });
});
