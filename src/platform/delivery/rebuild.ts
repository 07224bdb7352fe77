import type { Kysely, Transaction } from 'kysely';
import type { EventEnvelope } from '../../kernel/envelope.js';
import { createEventSchemas, type EventSchemas } from '../../kernel/event-schemas.js';
import { createEventLog } from '../log/event-log.js';
import type { DialectName } from '../storage/database.js';
import type { DeliveryTables } from './delivery-store.js';
import { RETRY_TIMER } from './dispatcher.js';

/** What a rebuild needs to know about the consumer whose read model it rebuilds. */
export interface RebuildOptions<DB> {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  db: Kysely<any>;
  dialect: DialectName;
  /** The consumer whose checkpoint, inbox and failures the rebuild resets. */
  consumer: string;
  /** The event types the consumer handles. */
  types: readonly string[];
  /** Epoch milliseconds, for the bookkeeping rows. */
  now: number;
  /** Empties the read model's tables. */
  clear(trx: Transaction<DB>): Promise<void>;
  /** Applies a page of events, in log order, to the read model. */
  apply(trx: Transaction<DB>, events: readonly EventEnvelope[]): Promise<void>;
  schemas?: EventSchemas;
  pageSize?: number;
}

/** What a rebuild did. */
export interface RebuildResult {
  /** Events applied. */
  applied: number;
  /** Events left out because they fail their schema (delivery would have dead-lettered them). */
  skipped: { eventId: string; eventType: string; reason: string }[];
  /** The log position the read model is now at: the consumer's new checkpoint. */
  position: number;
}

const INBOX_CHUNK = 500;

/**
 * Rebuilds a consumer's read model from the whole log in ONE transaction: empties the read
 * model and the consumer's delivery bookkeeping (inbox, failures, parked events, retry
 * timers), applies every event it handles page by page, records them in its inbox and moves
 * its checkpoint to the last event read. Either all of it commits or nothing does.
 *
 * A running consumer cannot apply an event twice: the first statement writes the
 * consumer's checkpoint row, which on PostgreSQL locks it (the dispatcher's `for update`
 * waits, then sees a moved checkpoint and drops its batch as stale) and on SQLite takes the
 * database's write lock (writers are serial; a batch read before the rebuild finds the
 * checkpoint moved). On SQLite every other writer waits while the rebuild runs.
 */
export async function rebuildConsumer<DB>(options: RebuildOptions<DB>): Promise<RebuildResult> {
  const { consumer, types, now } = options;
  const schemas = options.schemas ?? createEventSchemas();
  const pageSize = options.pageSize ?? 1000;
  return (options.db as Kysely<DeliveryTables>).transaction().execute(async (trx) => {
    await trx
      .insertInto('consumer_checkpoints')
      .values({ consumer, partition: 0, position: 0, updated_at: now })
      .onConflict((oc) => oc.columns(['consumer', 'partition']).doNothing())
      .execute();
    await trx.updateTable('consumer_checkpoints').set({ updated_at: now }).where('consumer', '=', consumer).execute();
    await resetBookkeeping(trx, consumer);
    const own = trx as unknown as Transaction<DB>;
    await options.clear(own);

    const log = createEventLog(trx as never, options.dialect);
    const result: RebuildResult = { applied: 0, skipped: [], position: 0 };
    // Up to the stable head: an event above it may still commit below one read here. The
    // consumer delivers everything after the checkpoint once the rebuild committed.
    const through = await log.head();
    for (;;) {
      const page = await log.readAfter(result.position, { types, limit: pageSize, through });
      if (page.length === 0) break;
      const valid: EventEnvelope[] = [];
      for (const event of page) {
        // Checked as stored, then read in the current version of its type, as a consumer reads it.
        const read = schemas.read(event);
        if (read.ok) valid.push(read.event);
        else result.skipped.push({ eventId: event.eventId, eventType: event.eventType, reason: read.reason });
      }
      await options.apply(own, valid);
      for (let i = 0; i < page.length; i += INBOX_CHUNK) {
        const rows = page.slice(i, i + INBOX_CHUNK).map((e) => ({ consumer, event_id: e.eventId, outcome: 'replayed', attempts: 0, handled_at: now }));
        await trx.insertInto('inbox').values(rows).execute();
      }
      result.applied += valid.length;
      result.position = page[page.length - 1]!.sequence!;
    }
    // Every partition row of the consumer moves: the rebuild covers the whole log.
    await trx.updateTable('consumer_checkpoints').set({ position: result.position, updated_at: now }).where('consumer', '=', consumer).execute();
    return result;
  });
}

async function resetBookkeeping(trx: Transaction<DeliveryTables>, consumer: string): Promise<void> {
  const failed = await trx.selectFrom('failed_deliveries').select('event_id').where('consumer', '=', consumer).execute();
  const timerKeys = failed.map((f) => `${RETRY_TIMER}:${consumer}:${f.event_id}`);
  const timers = trx as unknown as Transaction<{ timers: { key: string } }>;
  for (let i = 0; i < timerKeys.length; i += INBOX_CHUNK) {
    await timers.deleteFrom('timers').where('key', 'in', timerKeys.slice(i, i + INBOX_CHUNK)).execute();
  }
  await trx.deleteFrom('parked_deliveries').where('consumer', '=', consumer).execute();
  await trx.deleteFrom('failed_deliveries').where('consumer', '=', consumer).execute();
  await trx.deleteFrom('inbox').where('consumer', '=', consumer).execute();
}
