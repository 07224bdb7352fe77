import { sql, type Generated, type Kysely, type Selectable, type Transaction } from 'kysely';
import type { EventEnvelope } from '../../kernel/envelope.js';
import type { DialectName } from '../storage/database.js';
import { rowsStatement, statement, type Statement } from '../storage/statements.js';

/** A row of the `events` table. */
export interface EventRow {
  sequence: Generated<number>;
  event_id: string;
  event_type: string;
  version: number;
  aggregate_type: string;
  aggregate_id: string;
  occurred_at: string;
  correlation_id: string;
  causation_id: string | null;
  source: string;
  payload: string;
  published_at: number | null;
}

export interface EventLogTables {
  events: EventRow;
}

/** Filters of an event query; every given filter must match. */
export interface EventQuery {
  eventType?: string;
  aggregateId?: string;
  correlationId?: string;
  /** Only events with a sequence greater than this (the cursor). */
  after?: number;
  limit?: number;
}

export interface EventPage {
  events: EventEnvelope[];
  /** Pass as `after` to read the next page; null when this page is the last one. */
  nextCursor: number | null;
}

/** The event log: the outbox every state change writes to, and the store events are read from. */
export interface EventLog {
  /** Appends events inside the caller's transaction and returns them with their sequence. */
  append(trx: Transaction<EventLogTables>, events: readonly EventEnvelope[]): Promise<EventEnvelope[]>;
  /** Committed events after `position`, in log order, optionally of some types only. */
  readAfter(position: number, options: { types?: readonly string[]; limit: number }): Promise<EventEnvelope[]>;
  query(query: EventQuery): Promise<EventPage>;
  get(eventId: string, db?: Kysely<EventLogTables>): Promise<EventEnvelope | undefined>;
  /** The highest sequence committed so far (0 for an empty log). */
  head(): Promise<number>;
}

const insertEvents = rowsStatement<{ sequence: number; event_id: string }>(
  'insert into events (event_id, event_type, version, aggregate_type, aggregate_id, occurred_at, correlation_id, causation_id, source, payload)',
  10,
  'returning sequence, event_id',
);
const readAllAfter = statement<Selectable<EventRow>>('select * from events where sequence > ? order by sequence limit ?');
const readTypesAfterByCount = new Map<number, Statement<Selectable<EventRow>>>();
/** The consumer's read: after its position, of the types it handles (one text per list length). */
function readTypesAfter(count: number): Statement<Selectable<EventRow>> {
  let read = readTypesAfterByCount.get(count);
  if (!read) {
    const list = Array.from({ length: count }, () => '?').join(', ');
    readTypesAfterByCount.set(count, (read = statement(`select * from events where sequence > ? and event_type in (${list}) order by sequence limit ?`)));
  }
  return read;
}

// Key of the transaction-level advisory lock that serialises appends on PostgreSQL, so that
// sequence order is commit order and a reader following the sequence never skips an event.
const APPEND_LOCK_KEY = 7_301_246;

export const MAX_QUERY_LIMIT = 1000;

export function createEventLog(db: Kysely<EventLogTables>, dialect: DialectName): EventLog {
  return {
    async append(trx, events) {
      if (events.length === 0) return [];
      if (dialect === 'postgres') await sql`select pg_advisory_xact_lock(${APPEND_LOCK_KEY})`.execute(trx);
      const rows = await insertEvents(trx as never, events.map(toParams));
      const sequenceById = new Map(rows.map((r) => [r.event_id, Number(r.sequence)]));
      return events.map((event) => ({ ...event, sequence: sequenceById.get(event.eventId)! }));
    },

    async readAfter(position, { types, limit }) {
      const rows = types && types.length > 0 ? await readTypesAfter(types.length)(db, [position, ...types, limit]) : await readAllAfter(db, [position, limit]);
      return rows.map(fromRow);
    },

    async query({ eventType, aggregateId, correlationId, after, limit }) {
      const pageSize = Math.min(Math.max(limit ?? 100, 1), MAX_QUERY_LIMIT);
      let q = db.selectFrom('events').selectAll();
      if (eventType) q = q.where('event_type', '=', eventType);
      if (aggregateId) q = q.where('aggregate_id', '=', aggregateId);
      if (correlationId) q = q.where('correlation_id', '=', correlationId);
      if (after !== undefined) q = q.where('sequence', '>', after);
      const rows = await q.orderBy('sequence').limit(pageSize + 1).execute();
      const page = rows.slice(0, pageSize).map(fromRow);
      return { events: page, nextCursor: rows.length > pageSize ? page[page.length - 1]!.sequence! : null };
    },

    async get(eventId, reader = db) {
      const row = await reader.selectFrom('events').selectAll().where('event_id', '=', eventId).executeTakeFirst();
      return row ? fromRow(row) : undefined;
    },

    async head() {
      const row = await db.selectFrom('events').select((eb) => eb.fn.max('sequence').as('head')).executeTakeFirst();
      return Number(row?.head ?? 0);
    },
  };
}

function toParams(event: EventEnvelope): unknown[] {
  return [
    event.eventId,
    event.eventType,
    event.version,
    event.aggregateType,
    event.aggregateId,
    event.occurredAt,
    event.correlationId,
    event.causationId,
    event.source,
    JSON.stringify(event.payload),
  ];
}

/** Turns a stored row back into an envelope; a payload that is not JSON stays visible as a string. */
export function fromRow(row: Selectable<EventRow>): EventEnvelope {
  let payload: Record<string, unknown>;
  try {
    payload = JSON.parse(row.payload) as Record<string, unknown>;
  } catch {
    payload = row.payload as unknown as Record<string, unknown>;
  }
  return {
    eventId: row.event_id,
    eventType: row.event_type,
    version: Number(row.version),
    aggregateType: row.aggregate_type,
    aggregateId: row.aggregate_id,
    occurredAt: row.occurred_at,
    payload,
    correlationId: row.correlation_id,
    causationId: row.causation_id,
    source: row.source,
    sequence: Number(row.sequence),
  };
}
