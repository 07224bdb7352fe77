/**
 * Follows the durable event log to learn when each order reached SHIPPED (or ended
 * otherwise), without going through the server under test.
 *
 * The bench reads the `events` table of the database the servers write (SQLite: the same file,
 * opened read-only in WAL mode, which never blocks the writer; PostgreSQL: one connection).
 * On both databases sequence order is commit order (one SQLite writer; on PostgreSQL appends
 * take an advisory lock), so following `sequence > cursor` misses nothing.
 *
 * An order counts as shipped at the moment the bench *sees* its committed `OrderShipped`
 * event: an upper bound on the time a client could know, off by at most one poll
 * (`pollMs`) plus one query. The event's own `occurredAt` (stamped when the Orders handler
 * built it, before its batch committed) is kept too, as the lower bound.
 */
import SqliteDatabase from 'better-sqlite3';
import pg from 'pg';
import { STABLE_HEAD_SQL, stableHeadOf } from '../../src/platform/log/event-log.js';

/** Events that end an order's automatic flow: SHIPPED, or one of the failures. */
const FINAL_TYPES = ['OrderShipped', 'OrderRejected', 'OrderPaymentFailed', 'OrderCancelled'] as const;
type FinalType = (typeof FINAL_TYPES)[number];

export interface FinalEvent {
  sequence: number;
  eventType: FinalType;
  orderId: string;
  /** Epoch milliseconds of the event's occurredAt. */
  occurredAtMs: number;
}

/** Read access to the log for the bench. */
export interface LogReader {
  finalEventsAfter(cursor: number, limit: number): Promise<FinalEvent[]>;
  /** The log's stable head: every event at or below it has committed (or never will). */
  head(): Promise<number>;
  /** PostgreSQL: the pid of the bench's own backend, to leave it out of the servers' figures. */
  backendPid(): Promise<number | undefined>;
  close(): Promise<void>;
}

export function openLogReader(databaseUrl: string): LogReader {
  return databaseUrl.startsWith('sqlite:') ? sqliteReader(databaseUrl.slice('sqlite:'.length)) : postgresReader(databaseUrl);
}

interface Row {
  sequence: number | string;
  event_type: string;
  aggregate_id: string;
  occurred_at: string;
}

const toEvent = (row: Row): FinalEvent => ({
  sequence: Number(row.sequence),
  eventType: row.event_type as FinalType,
  orderId: row.aggregate_id,
  occurredAtMs: Date.parse(row.occurred_at),
});

const FINAL_QUERY = `select sequence, event_type, aggregate_id, occurred_at from events
  where sequence > $1 and sequence <= $3 and event_type in (${FINAL_TYPES.map((t) => `'${t}'`).join(', ')}) order by sequence limit $2`;

function sqliteReader(path: string): LogReader {
  const db = new SqliteDatabase(path, { readonly: true, fileMustExist: true });
  let closed = false;
  db.pragma('busy_timeout = 5000');
  const finals = db.prepare(FINAL_QUERY.replace('$1', '@cursor').replace('$2', '@limit').replace('$3', '@head'));
  const head = db.prepare('select coalesce(max(sequence), 0) as head from events');
  return {
    // One writer at a time on SQLite: everything committed is below its highest sequence.
    finalEventsAfter: async (cursor, limit) => (finals.all({ cursor, limit, head: Number.MAX_SAFE_INTEGER }) as Row[]).map(toEvent),
    head: async () => Number((head.get() as { head: number }).head),
    backendPid: async () => undefined,
    close: async () => {
      if (!closed) db.close();
      closed = true;
    },
  };
}

function postgresReader(url: string): LogReader {
  const pool = new pg.Pool({ connectionString: url, max: 1, idleTimeoutMillis: 0 });
  pool.on('error', () => undefined);
  let closing: Promise<void> | undefined;
  const head = async () => stableHeadOf((await pool.query<{ committed: string | null; in_flight: string | null }>(STABLE_HEAD_SQL)).rows[0]);
  return {
    // Up to the stable head: appends commit out of sequence order, a cursor past one in flight would skip it.
    finalEventsAfter: async (cursor, limit) => (await pool.query<Row>(FINAL_QUERY, [cursor, limit, await head()])).rows.map(toEvent),
    head,
    // The pool holds one connection for good (no idle timeout below), so this pid stays the follower's.
    backendPid: async () => Number((await pool.query<{ pid: number }>('select pg_backend_pid() as pid')).rows[0]!.pid),
    close: () => (closing ??= pool.end()),
  };
}

/** How an order's flow ended, as the bench saw it. */
export interface Outcome {
  eventType: FinalType;
  /** `performance.timeOrigin + performance.now()` when the bench saw the committed event. */
  seenAtMs: number;
  occurredAtMs: number;
}

/** Wall-clock milliseconds with sub-millisecond resolution, monotonic within the bench. */
export const nowMs = (): number => performance.timeOrigin + performance.now();

/** Polls the log and tells each waiting order how it ended. */
export class Follower {
  private cursor = 0;
  private running = false;
  private loop: Promise<void> | undefined;
  private readonly waiting = new Map<string, (outcome: Outcome) => void>();
  /** Orders that ended before the bench asked (the POST response was still on its way). */
  private readonly early = new Map<string, Outcome>();

  constructor(
    private readonly reader: LogReader,
    private readonly pollMs = 3,
  ) {}

  async start(): Promise<void> {
    this.cursor = await this.reader.head();
    this.running = true;
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
  }

  /** Resolves when the order's flow ends (SHIPPED or a failure). */
  outcome(orderId: string): Promise<Outcome> {
    const known = this.early.get(orderId);
    if (known) {
      this.early.delete(orderId);
      return Promise.resolve(known);
    }
    return new Promise((resolve) => this.waiting.set(orderId, resolve));
  }

  /** Forgets orders nobody waits for any more (a phase that gave up on them). */
  forget(orderId: string): void {
    this.waiting.delete(orderId);
  }

  private async run(): Promise<void> {
    while (this.running) {
      let events: FinalEvent[];
      try {
        events = await this.reader.finalEventsAfter(this.cursor, 5000);
      } catch (error) {
        console.error('log follower: query failed, retrying:', (error as Error).message);
        await sleep(100);
        continue;
      }
      const seenAtMs = nowMs();
      for (const event of events) {
        this.cursor = event.sequence;
        const outcome = { eventType: event.eventType, seenAtMs, occurredAtMs: event.occurredAtMs };
        const resolve = this.waiting.get(event.orderId);
        if (resolve) {
          this.waiting.delete(event.orderId);
          resolve(outcome);
        } else {
          this.early.set(event.orderId, outcome);
        }
      }
      // A full page means more is waiting: read on at once.
      if (events.length < 5000) await sleep(this.pollMs);
    }
  }
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
