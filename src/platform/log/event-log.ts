import { type Generated, type Kysely, type Selectable, type Transaction } from 'kysely';
import type { EventEnvelope } from '../../kernel/envelope.js';
import type { DialectName } from '../storage/database.js';
import { rowsStatement, sqliteWriter, statement, type Statement } from '../storage/statements.js';

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
  /** JSON of the envelope's metadata; null when it has none. */
  metadata: string | null;
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
  /**
   * `append` as the transaction's last statement, sent without waiting for its answer
   * (`Statement.send`): on PostgreSQL the commit goes out right behind it, one round trip for
   * both. Resolves once sent; `appended` settles with the events and their sequences when the
   * server ran the insert. If it failed, so does the commit (with its error): nothing was written.
   */
  sendAppend(trx: Transaction<EventLogTables>, events: readonly EventEnvelope[]): Promise<{ appended: Promise<EventEnvelope[]> }>;
  /**
   * Committed events after `position`, in log order, optionally of some types only, and up to
   * `through` (a `head()` read before): a reader that follows the log passes it, so that it
   * never moves past an event that commits later.
   */
  readAfter(position: number, options: { types?: readonly string[]; limit: number; through?: number; db?: Kysely<EventLogTables> }): Promise<EventEnvelope[]>;
  /** A page of events; with `after` (a cursor) the page stops at the head, as `readAfter` with `through`. */
  query(query: EventQuery): Promise<EventPage>;
  get(eventId: string, db?: Kysely<EventLogTables>): Promise<EventEnvelope | undefined>;
  /**
   * The stable head: the highest sequence such that every event at or below it has committed
   * (or never will: its transaction rolled back). 0 for an empty log. Events above it may be
   * visible already; a reader that moved its cursor past them could skip one still in flight.
   * `known`: a stable head read before, which makes the read cheaper (see `readStableHeadAfter`).
   */
  head(known?: number): Promise<number>;
  /**
   * Seconds since the oldest transaction with an append in flight began (0 when none, and
   * always on SQLite): how long it has been holding every reader of the log back.
   */
  oldestAppendInFlight(): Promise<number>;
}

const INSERT_EVENTS = 'insert into events (event_id, event_type, version, aggregate_type, aggregate_id, occurred_at, correlation_id, causation_id, source, payload, metadata)';
const insertEvents = rowsStatement<{ sequence: number; event_id: string }>(INSERT_EVENTS, 11, 'returning sequence, event_id');
/** SQLite: one event, its sequence being the rowid SQLite gives it (`sqliteWriter`). */
const INSERT_EVENT_SQLITE = `${INSERT_EVENTS} values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`;
const readAllAfter = statement<Selectable<EventRow>>('select * from events where sequence > ? and sequence <= ? order by sequence limit ?');
const readTypesAfterByCount = new Map<number, Statement<Selectable<EventRow>>>();
/** The consumer's read: after its position, of the types it handles (one text per list length). */
function readTypesAfter(count: number): Statement<Selectable<EventRow>> {
  let read = readTypesAfterByCount.get(count);
  if (!read) {
    const list = Array.from({ length: count }, () => '?').join(', ');
    readTypesAfterByCount.set(count, (read = statement(`select * from events where sequence > ? and sequence <= ? and event_type in (${list}) order by sequence limit ?`)));
  }
  return read;
}

/*
 * Concurrent appends on PostgreSQL. Appending transactions do not wait for one another: each
 * takes its sequence numbers from the `events` sequence and commits when it is done, so
 * sequence order is not commit order — event 10 may commit while event 9's transaction is
 * still open, and a reader that moved past 10 would never see 9. Readers therefore stop at the
 * stable head, below every append still in flight:
 *
 * - Before it inserts, an appending transaction takes a shared transaction-level advisory lock
 *   whose key is the sequence's last value L (all its events will be numbered above L). The lock
 *   is released by the commit or rollback, after the rows became visible. Shared locks never
 *   wait for one another: appends still run side by side.
 * - `head()` reads the highest committed sequence M, then the smallest L among the locks held
 *   now (pg_locks, this database): head = min(M, L - 1). Every transaction still holding its lock
 *   has events above head; one that released it has committed (or rolled back) before head was
 *   read; one that takes it later numbers its events above M. So every event at or below head
 *   is visible to any statement that starts after head() returned, and always will be.
 *
 * Per-aggregate order needs no lock of its own: sequence numbers are drawn at append time, the
 * last step before the commit, so a transaction that saw another's committed effects (a row it
 * waited for, an event it handles) draws higher numbers than all of that one's events. Causal
 * order is log order. (Why not transaction ids, Emmett's watermark: an id is assigned at a
 * transaction's first write, possibly before the row lock that orders two writers of one
 * aggregate, and the watermark waits for every write transaction in the cluster, not only for
 * appends.)
 */
/** First key of the advisory locks that mark appends in flight (two-key form: 'OF' << 16). */
const IN_FLIGHT_LOCK_CLASS = 0x4f46_0000;
/** The low 31 bits of L are the second key; the rest is added to the first. */
const IN_FLIGHT_LOCK_SPAN = 2 ** 31;
const MARK_APPEND_IN_FLIGHT_SQL = `select pg_advisory_xact_lock_shared(${IN_FLIGHT_LOCK_CLASS} + (last_value / ${IN_FLIGHT_LOCK_SPAN})::int, (last_value % ${IN_FLIGHT_LOCK_SPAN})::int) from events_sequence_seq`;
const markAppendInFlight = statement(MARK_APPEND_IN_FLIGHT_SQL);
const EVENT_COLUMNS = 'event_id, event_type, version, aggregate_type, aggregate_id, occurred_at, correlation_id, causation_id, source, payload, metadata';
/** Most events one marked insert takes; a bigger append marks first and inserts in chunks. */
const MARKED_INSERT_MAX = 100;
const markedInsertByCount = new Map<number, Statement<{ sequence: number; event_id: string }>>();
/**
 * PostgreSQL: the in-flight mark and the insert in one statement (one round trip fewer per
 * appending transaction). The mark is a materialized CTE joined to the rows: no row reaches the
 * insert — whose projection draws the sequence numbers — before the CTE took the lock with the
 * sequence's last value, exactly as when the two ran one after the other. A nested loop with a
 * one-row side keeps the rows in the order given, so they are numbered in that order.
 */
function markedInsert(count: number): Statement<{ sequence: number; event_id: string }> {
  let insert = markedInsertByCount.get(count);
  if (!insert) {
    const row = '(?, ?, ?::integer, ?, ?, ?, ?, ?, ?, ?, ?)';
    insert = statement(
      `with in_flight as materialized (${MARK_APPEND_IN_FLIGHT_SQL})
       insert into events (${EVENT_COLUMNS})
       select appended.* from in_flight cross join (values ${Array.from({ length: count }, () => row).join(', ')}) as appended (${EVENT_COLUMNS})
       returning sequence, event_id`,
    );
    markedInsertByCount.set(count, insert);
  }
  return insert;
}
/** PostgreSQL: the highest committed sequence and the lowest append in flight (see `head()`). */
export const STABLE_HEAD_SQL = `select (select max(sequence) from events) as committed,
          (select min((classid::bigint - ${IN_FLIGHT_LOCK_CLASS}) * ${IN_FLIGHT_LOCK_SPAN} + objid::bigint) from pg_locks
            where locktype = 'advisory' and objsubid = 2
              and database = (select oid from pg_database where datname = current_database())
              and classid::bigint >= ${IN_FLIGHT_LOCK_CLASS} and classid::bigint < ${IN_FLIGHT_LOCK_CLASS + 0xffff}) as in_flight`;
const readStableHead = statement<{ committed: string | number | null; in_flight: string | number | null }>(STABLE_HEAD_SQL);
/** The most events between a known stable head and the highest committed one that `readStableHeadAfter` counts. */
const GAP_CHECK_MAX = 10_000;
/**
 * PostgreSQL: the stable head after a known one K, without `pg_locks` in the common case. With M
 * the highest committed sequence: when every sequence in (K, M] is visible to the statement — the
 * count of events there is M − K — no append in flight holds a number at or below M (its rows
 * would be missing), and none will (it draws numbers above M): M is stable. Only a gap — an append
 * in flight, or one rolled back, whose numbers are gone for good — asks `pg_locks` (the subquery
 * of the last branch is run only when it is reached). Both counts come from one snapshot.
 */
const readStableHeadAfter = statement<{ committed: string | number | null; in_flight: string | number | null }>(
  `with top as (select max(sequence) as committed from events)
   select top.committed,
     case when top.committed is null or top.committed <= ? then null
          when top.committed - ? <= ${GAP_CHECK_MAX}
           and (select count(*) from events where sequence > ? and sequence <= top.committed) = top.committed - ? then null
          else (select min((classid::bigint - ${IN_FLIGHT_LOCK_CLASS}) * ${IN_FLIGHT_LOCK_SPAN} + objid::bigint) from pg_locks
                 where locktype = 'advisory' and objsubid = 2
                   and database = (select oid from pg_database where datname = current_database())
                   and classid::bigint >= ${IN_FLIGHT_LOCK_CLASS} and classid::bigint < ${IN_FLIGHT_LOCK_CLASS + 0xffff}) end as in_flight
   from top`,
);
const readOldestInFlight = statement<{ age: string | number | null }>(
  `select extract(epoch from clock_timestamp() - min(a.xact_start)) as age
     from pg_locks l join pg_stat_activity a on a.pid = l.pid
    where l.locktype = 'advisory' and l.objsubid = 2
      and l.database = (select oid from pg_database where datname = current_database())
      and l.classid::bigint >= ${IN_FLIGHT_LOCK_CLASS} and l.classid::bigint < ${IN_FLIGHT_LOCK_CLASS + 0xffff}`,
);
const readMaxSequence = statement<{ committed: number | null }>('select max(sequence) as committed from events');

/** The stable head, shared by the readers of one process (see `createSharedHead`). */
export interface SharedHead {
  /** The head, read again if the log may have grown since (`invalidate`) or it is older than the limit. */
  get(): Promise<number>;
  /** The log grew (a commit here, a wake-up from another process): the next `get` reads the head again. */
  invalidate(): void;
}

/**
 * One head query for all of a process's readers instead of one per reader and round (on
 * PostgreSQL it reads `pg_locks`, which is not free). A head read earlier is still a stable
 * head — what was committed stays committed — only a lower one: sharing it costs at most
 * latency, never an event. Readers get the last head read unless the log grew since
 * (`invalidate`, called on every commit and wake-up) or it is older than `maxAgeMs` (a
 * rolled-back append wakes nobody).
 */
export function createSharedHead(log: Pick<EventLog, 'head'>, maxAgeMs: number): SharedHead {
  const readHead = log.head.bind(log);
  let value = 0;
  let readAt = Number.NEGATIVE_INFINITY;
  let generation = 0;
  let readFor = -1;
  let reading: { generation: number; promise: Promise<number> } | undefined;
  return {
    invalidate() {
      generation++;
    },
    get() {
      const wanted = generation;
      if (readFor >= wanted && performance.now() - readAt <= maxAgeMs) return Promise.resolve(value);
      if (reading && reading.generation >= wanted) return reading.promise;
      const startedAt = performance.now();
      const mine = {
        generation: wanted,
        promise: readHead(value).then((head) => {
          if (head >= value) value = head;
          readAt = Math.max(readAt, startedAt);
          readFor = Math.max(readFor, wanted);
          return value;
        }),
      };
      reading = mine;
      void mine.promise.then(
        () => (reading === mine ? (reading = undefined) : undefined),
        () => (reading === mine ? (reading = undefined) : undefined),
      );
      return mine.promise;
    },
  };
}

/** The stable head from a row of `STABLE_HEAD_SQL`: below the lowest append in flight, if any. */
export function stableHeadOf(row: { committed: string | number | null; in_flight: string | number | null } | undefined): number {
  const committed = Number(row?.committed ?? 0);
  return row?.in_flight === null || row?.in_flight === undefined ? committed : Math.min(committed, Number(row.in_flight) - 1);
}

export const MAX_QUERY_LIMIT = 1000;

/** The events with the sequences the insert returned. */
function withSequences(events: readonly EventEnvelope[], rows: readonly { sequence: number; event_id: string }[]): EventEnvelope[] {
  const sequenceById = new Map(rows.map((r) => [r.event_id, Number(r.sequence)]));
  return events.map((event) => ({ ...event, sequence: sequenceById.get(event.eventId)! }));
}

export function createEventLog(db: Kysely<EventLogTables>, dialect: DialectName): EventLog {
  async function head(known?: number): Promise<number> {
    if (dialect !== 'postgres') {
      // One writer at a time, sequence order is commit order: the highest sequence is stable.
      const [row] = await readMaxSequence(db, []);
      return Number(row?.committed ?? 0);
    }
    const [row] = known === undefined || known <= 0 ? await readStableHead(db, []) : await readStableHeadAfter(db, [known, known, known, known]);
    return Math.max(stableHeadOf(row), known ?? 0);
  }

  return {
    async append(trx, events) {
      if (events.length === 0) return [];
      let rows: { sequence: number; event_id: string }[];
      const sqlite = dialect === 'postgres' ? undefined : sqliteWriter(trx as never);
      if (sqlite) {
        return events.map((event) => {
          const params = toParams(event);
          const appended = { ...event, sequence: Number(sqlite(INSERT_EVENT_SQLITE, params).lastInsertRowid) };
          storedText.set(appended, { payload: params[PAYLOAD_PARAM] as string, metadata: params[METADATA_PARAM] as string | null });
          return appended;
        });
      }
      if (dialect !== 'postgres') rows = await insertEvents(trx as never, events.map(toParams));
      else if (events.length <= MARKED_INSERT_MAX) rows = await markedInsert(events.length)(trx as never, events.flatMap(toParams));
      else {
        await markAppendInFlight(trx as never, []);
        rows = await insertEvents(trx as never, events.map(toParams));
      }
      return withSequences(events, rows);
    },

    async sendAppend(trx, events) {
      if (dialect !== 'postgres' || events.length === 0 || events.length > MARKED_INSERT_MAX) {
        const appended = await this.append(trx, events);
        return { appended: Promise.resolve(appended) };
      }
      const sent = await markedInsert(events.length).send(trx as never, events.flatMap(toParams));
      const appended = sent.answer.then((rows) => withSequences(events, rows));
      // Its failure is the commit's (which fails with it); nobody may be left to wait for it.
      appended.catch(() => undefined);
      return { appended };
    },

    async readAfter(position, { types, limit, through, db: within }) {
      const upTo = through ?? Number.MAX_SAFE_INTEGER;
      if (upTo <= position) return [];
      const reader = within ?? db;
      const rows = types && types.length > 0 ? await readTypesAfter(types.length)(reader, [position, upTo, ...types, limit]) : await readAllAfter(reader, [position, upTo, limit]);
      return rows.map(fromRow);
    },

    async query({ eventType, aggregateId, correlationId, after, limit }) {
      const pageSize = Math.min(Math.max(limit ?? 100, 1), MAX_QUERY_LIMIT);
      let q = db.selectFrom('events').selectAll();
      if (eventType) q = q.where('event_type', '=', eventType);
      if (aggregateId) q = q.where('aggregate_id', '=', aggregateId);
      if (correlationId) q = q.where('correlation_id', '=', correlationId);
      if (after !== undefined) {
        q = q.where('sequence', '>', after);
        if (dialect === 'postgres') q = q.where('sequence', '<=', await head());
      }
      const rows = await q.orderBy('sequence').limit(pageSize + 1).execute();
      const page = rows.slice(0, pageSize).map(fromRow);
      return { events: page, nextCursor: rows.length > pageSize ? page[page.length - 1]!.sequence! : null };
    },

    async get(eventId, reader = db) {
      const row = await reader.selectFrom('events').selectAll().where('event_id', '=', eventId).executeTakeFirst();
      return row ? fromRow(row) : undefined;
    },

    head,

    async oldestAppendInFlight() {
      if (dialect !== 'postgres') return 0;
      const [row] = await readOldestInFlight(db, []);
      return Math.max(0, Number(row?.age ?? 0));
    },
  };
}

/** Where `toParams` puts the payload's and the metadata's JSON text. */
const PAYLOAD_PARAM = 9;
const METADATA_PARAM = 10;

/**
 * The JSON text an appended envelope's payload and metadata were stored as (SQLite's append),
 * so that `asStored` parses it instead of making it again. Keyed by the envelope `append`
 * returned; an envelope changed after its append is not what was stored, and must not be
 * changed (envelopes are values once appended).
 */
const storedText = new WeakMap<EventEnvelope, { payload: string; metadata: string | null }>();

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
    event.metadata ? JSON.stringify(event.metadata) : null,
  ];
}

/**
 * The envelope as a read of the log returns it once appended: payload and metadata through JSON
 * (a copy of its own, with what JSON keeps), the row's columns as `fromRow` reads them.
 */
export function asStored(event: EventEnvelope): EventEnvelope {
  const text = storedText.get(event);
  return fromRow({
    sequence: event.sequence!,
    event_id: event.eventId,
    event_type: event.eventType,
    version: event.version,
    aggregate_type: event.aggregateType,
    aggregate_id: event.aggregateId,
    occurred_at: event.occurredAt,
    correlation_id: event.correlationId,
    causation_id: event.causationId ?? null,
    source: event.source,
    payload: text ? text.payload : JSON.stringify(event.payload),
    published_at: null,
    metadata: text ? text.metadata : event.metadata ? JSON.stringify(event.metadata) : null,
  });
}

/** Turns a stored row back into an envelope; a payload that is not JSON stays visible as a string. */
export function fromRow(row: Selectable<EventRow>): EventEnvelope {
  let payload: Record<string, unknown>;
  try {
    payload = JSON.parse(row.payload) as Record<string, unknown>;
  } catch {
    payload = row.payload as unknown as Record<string, unknown>;
  }
  const envelope: EventEnvelope = {
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
  if (row.metadata) envelope.metadata = parseMetadata(row.metadata);
  return envelope;
}

function parseMetadata(text: string): EventEnvelope['metadata'] {
  try {
    return JSON.parse(text) as EventEnvelope['metadata'];
  } catch {
    return undefined;
  }
}
