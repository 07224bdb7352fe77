import type { Transaction } from 'kysely';
import type { EventEnvelope } from '../../kernel/envelope.js';
import type { DialectName } from '../storage/database.js';
import { rowsStatement, savepointCommand, sqliteWriter, statement } from '../storage/statements.js';

export type FailureStatus = 'retrying' | 'dead' | 'discarded';
/** Why a delivery failed: its handler threw, the event did not match its schema, or a timer's handler threw (timer-failures.ts). */
export type FailureReason = 'handler' | 'schema' | 'timer';

export interface FailedDeliveryRow {
  id: string;
  consumer: string;
  partition: number;
  event_id: string;
  sequence: number;
  event_type: string;
  aggregate_id: string;
  status: FailureStatus;
  reason: FailureReason;
  attempts: number;
  last_error: string;
  /** JSON array of `{ attempt, at, error }`. */
  history: string;
  first_failed_at: number;
  last_failed_at: number;
  next_attempt_at: number | null;
  resolved_at: number | null;
}

export interface DeliveryTables {
  consumer_checkpoints: { consumer: string; partition: number; position: number; updated_at: number };
  inbox: { consumer: string; event_id: string; outcome: string; attempts: number; handled_at: number };
  failed_deliveries: FailedDeliveryRow;
  parked_deliveries: {
    consumer: string;
    event_id: string;
    partition: number;
    sequence: number;
    aggregate_id: string;
    blocked_by: string;
    parked_at: number;
  };
}

type Trx = Transaction<DeliveryTables>;
const BLOCKING: FailureStatus[] = ['retrying', 'dead'];

// The statements every delivery batch runs, written once (statements.ts).
const readCheckpoint = statement<{ position: number }>('select position from consumer_checkpoints where consumer = ? and partition = ?');
const lockCheckpointRow = statement<{ position: number }>('select position from consumer_checkpoints where consumer = ? and partition = ? for update');
const moveCheckpoint = statement('update consumer_checkpoints set position = ?, updated_at = ? where consumer = ? and partition = ?');
const anyBlockingRow = statement<{ one: number }>(`select 1 as one from failed_deliveries where consumer = ? and status in ('retrying', 'dead') limit 1`);
/**
 * PostgreSQL, the first statement of a delivery transaction that knows where its checkpoints
 * must be: claims them and records the batch's events in the inbox, one round trip.
 * - The checkpoint rows of the partitions are locked in partition order (one writer per
 *   partition; two claimers never wait for each other in opposite orders), and each moves from
 *   where it must be to its batch's last event; one that is elsewhere (another worker moved it,
 *   having waited for it if it was locked) is left out: stale.
 * - Whether the consumer has any unresolved failure, from the statement's snapshot, which may
 *   predate a transaction it waited for; one that held these rows without moving them (a retry,
 *   a re-drive, a discard) only ever resolves failures, and a failure seen that is resolved by
 *   now is looked up again, by aggregate, in a statement of its own.
 * - With none, the events of the claimed partitions are recorded as handled, as
 *   `markHandledMany` would (the ids that were new come back). With one, nothing is recorded:
 *   some events may have to wait (parked), and the caller records event by event.
 */
const claimAndRecordRows = statement<{ claimed: number[]; blocking: boolean; fresh: string[] }>(
  `with wanted as (select * from unnest(?::int[], ?::bigint[], ?::bigint[]) as w (partition, expected, position)),
   locked as materialized (
     select c.partition from consumer_checkpoints c
     where c.consumer = ? and c.partition in (select partition from wanted)
     order by c.partition for no key update),
   claimed as (
     update consumer_checkpoints c set position = w.position, updated_at = ?
     from wanted w
     where c.consumer = ? and c.partition = w.partition and c.partition in (select partition from locked) and c.position = w.expected
     returning c.partition),
   blocking as (select exists (select 1 from failed_deliveries where consumer = ? and status in ('retrying', 'dead')) as open),
   recorded as (
     insert into inbox (consumer, event_id, outcome, attempts, handled_at)
     select ?, r.event_id, 'handled', 1, ? from unnest(?::text[], ?::int[]) as r (event_id, partition)
     where r.partition in (select partition from claimed) and not (select open from blocking)
     on conflict (consumer, event_id) do nothing
     returning event_id)
   select array(select partition from claimed) as claimed, (select open from blocking) as blocking, array(select event_id from recorded) as fresh`,
);
const INSERT_INBOX = 'insert into inbox (consumer, event_id, outcome, attempts, handled_at)';
const deleteInboxRow = statement('delete from inbox where consumer = ? and event_id = ?');
const insertInbox = rowsStatement<{ event_id: string }>(INSERT_INBOX, 5, 'on conflict (consumer, event_id) do nothing returning event_id');
/** SQLite: one record; `changes` is 0 when it was there already (`sqliteWriter`). */
const INSERT_INBOX_SQLITE = `${INSERT_INBOX} values (?, ?, ?, ?, ?) on conflict (consumer, event_id) do nothing`;

/** The SQL of delivery bookkeeping; every function runs inside the caller's transaction. */
export function createDeliveryStore(dialect: DialectName) {
  return {
    async ensureCheckpoint(trx: Trx, consumer: string, partition: number, now: number): Promise<void> {
      await trx
        .insertInto('consumer_checkpoints')
        .values({ consumer, partition, position: 0, updated_at: now })
        .onConflict((oc) => oc.columns(['consumer', 'partition']).doNothing())
        .execute();
    },

    /** Reads the checkpoint and, on PostgreSQL, locks it: one writer per (consumer, partition) at a time. */
    async lockCheckpoint(trx: Trx, consumer: string, partition: number): Promise<number | undefined> {
      const [row] = await (dialect === 'postgres' ? lockCheckpointRow : readCheckpoint)(trx, [consumer, partition]);
      return row ? Number(row.position) : undefined;
    },

    /**
     * PostgreSQL: claims the checkpoints of `parts` and, unless the consumer has an unresolved
     * failure, records `record` — events with their partitions — in the inbox, those of claimed
     * partitions only (`claimAndRecordRows`). The claimed partitions; whether a failure is open;
     * the ids newly recorded (undefined when nothing was: a failure is open).
     */
    async claimAndRecord(
      trx: Trx,
      consumer: string,
      parts: readonly { partition: number; expected: number; to: number }[],
      record: readonly { eventId: string; partition: number }[],
      now: number,
    ): Promise<{ claimed: Set<number>; blocking: boolean; fresh: Set<string> | undefined }> {
      const [row] = await claimAndRecordRows(trx, [
        parts.map((p) => p.partition),
        parts.map((p) => p.expected),
        parts.map((p) => p.to),
        consumer,
        now,
        consumer,
        consumer,
        consumer,
        now,
        record.map((r) => r.eventId),
        record.map((r) => r.partition),
      ]);
      const blocking = row!.blocking;
      return { claimed: new Set(row!.claimed.map(Number)), blocking, fresh: blocking ? undefined : new Set(row!.fresh) };
    },

    /** Takes back an inbox record made in this transaction (`claimAndRecord`) of an event that is not handled after all. */
    async unmarkHandled(trx: Trx, consumer: string, eventId: string): Promise<void> {
      await deleteInboxRow(trx, [consumer, eventId]);
    },

    async advanceCheckpoint(trx: Trx, consumer: string, partition: number, position: number, now: number): Promise<void> {
      await moveCheckpoint(trx, [position, now, consumer, partition]);
    },

    /**
     * Aggregates with an unresolved failure for this consumer, mapped to the failure's id.
     * `anyBlocking`: the caller already looked whether there is any (`claimAndRecord`).
     */
    async blockedAggregates(trx: Trx, consumer: string, aggregateIds: string[], anyBlocking?: boolean): Promise<Map<string, string>> {
      if (aggregateIds.length === 0) return new Map();
      // Almost always there is no failure at all: one cheap look answers that.
      if (anyBlocking === false || (anyBlocking === undefined && (await anyBlockingRow(trx, [consumer])).length === 0)) return new Map();
      const rows = await trx
        .selectFrom('failed_deliveries')
        .select(['aggregate_id', 'id'])
        .where('consumer', '=', consumer)
        .where('status', 'in', BLOCKING)
        .where('aggregate_id', 'in', aggregateIds)
        .execute();
      return new Map(rows.map((r) => [r.aggregate_id, r.id]));
    },

    /** Records the event as handled; false when it already was (a duplicate delivery). */
    async markHandled(trx: Trx, consumer: string, eventId: string, outcome: string, attempts: number, now: number): Promise<boolean> {
      const sqlite = sqliteWriter(trx);
      if (sqlite) return sqlite(INSERT_INBOX_SQLITE, [consumer, eventId, outcome, attempts, now]).changes === 1;
      const rows = await trx
        .insertInto('inbox')
        .values({ consumer, event_id: eventId, outcome, attempts, handled_at: now })
        .onConflict((oc) => oc.columns(['consumer', 'event_id']).doNothing())
        .returning('event_id')
        .execute();
      return rows.length === 1;
    },

    /** Records several events as handled in one statement; returns the ids that were new. */
    async markHandledMany(trx: Trx, consumer: string, eventIds: string[], now: number): Promise<Set<string>> {
      if (eventIds.length === 0) return new Set();
      const sqlite = sqliteWriter(trx);
      if (sqlite) return new Set(eventIds.filter((eventId) => sqlite(INSERT_INBOX_SQLITE, [consumer, eventId, 'handled', 1, now]).changes === 1));
      const rows = await insertInbox(
        trx,
        eventIds.map((eventId) => [consumer, eventId, 'handled', 1, now]),
      );
      return new Set(rows.map((r) => r.event_id));
    },

    async park(trx: Trx, consumer: string, partition: number, event: EventEnvelope, blockedBy: string, now: number): Promise<void> {
      await trx
        .insertInto('parked_deliveries')
        .values({
          consumer,
          event_id: event.eventId,
          partition,
          sequence: event.sequence ?? 0,
          aggregate_id: event.aggregateId,
          blocked_by: blockedBy,
          parked_at: now,
        })
        .onConflict((oc) => oc.columns(['consumer', 'event_id']).doNothing())
        .execute();
    },

    async parkedFor(trx: Trx, consumer: string, aggregateId: string) {
      return trx
        .selectFrom('parked_deliveries')
        .selectAll()
        .where('consumer', '=', consumer)
        .where('aggregate_id', '=', aggregateId)
        .orderBy('sequence')
        .execute();
    },

    async unpark(trx: Trx, consumer: string, eventId: string): Promise<void> {
      await trx.deleteFrom('parked_deliveries').where('consumer', '=', consumer).where('event_id', '=', eventId).execute();
    },

    async repointParked(trx: Trx, consumer: string, aggregateId: string, blockedBy: string): Promise<void> {
      await trx
        .updateTable('parked_deliveries')
        .set({ blocked_by: blockedBy })
        .where('consumer', '=', consumer)
        .where('aggregate_id', '=', aggregateId)
        .execute();
    },

    async insertFailure(trx: Trx, row: FailedDeliveryRow): Promise<void> {
      // A dead letter that was discarded and is delivered again replaces the old record.
      await trx.deleteFrom('failed_deliveries').where('consumer', '=', row.consumer).where('event_id', '=', row.event_id).execute();
      await trx.insertInto('failed_deliveries').values(row).execute();
    },

    async failureById(trx: Trx, id: string): Promise<FailedDeliveryRow | undefined> {
      return trx.selectFrom('failed_deliveries').selectAll().where('id', '=', id).executeTakeFirst();
    },

    async updateFailure(trx: Trx, id: string, changes: Partial<FailedDeliveryRow>): Promise<void> {
      await trx.updateTable('failed_deliveries').set(changes).where('id', '=', id).execute();
    },

    async deleteFailure(trx: Trx, id: string): Promise<void> {
      await trx.deleteFrom('failed_deliveries').where('id', '=', id).execute();
    },

    async savepoint(trx: Trx, action: 'savepoint' | 'release savepoint' | 'rollback to savepoint'): Promise<void> {
      await savepointCommand(trx, `${action} handler`);
    },
  };
}

export type DeliveryStore = ReturnType<typeof createDeliveryStore>;
