import { sql, type Kysely, type Transaction } from 'kysely';
import type { DialectName } from '../storage/database.js';
import { statement } from '../storage/statements.js';
import { clearTimerFailure, TIMER_FAILURE_PREFIX } from './timer-failures.js';

// Every order schedules and cancels its saga deadline: statements written once.
// Scheduling again moves the timer and gives it a fresh round of attempts, but keeps its last
// error: a timer that failed has a failure record, and the error says it is there to be cleared
// when the timer fires (claim) or is cancelled.
const upsertTimer = statement(
  'insert into timers (key, kind, due_at, payload, attempts, created_at, last_error) values (?, ?, ?, ?, 0, ?, null) ' +
    'on conflict (key) do update set kind = excluded.kind, due_at = excluded.due_at, payload = excluded.payload, attempts = 0, dead_at = null',
);
const deleteTimer = statement<{ kind: string; last_error: string | null }>('delete from timers where key = ? returning kind, last_error');
/** PostgreSQL: the delete and, for a timer that had failed, its failure record's, in one statement (see `cancel`). */
const deleteTimerAndFailure = statement(
  `with cancelled as (delete from timers where key = ? returning kind, last_error)
   delete from failed_deliveries where event_id = ? and consumer = (select ? || kind from cancelled where last_error is not null)`,
);

/** A timer to schedule: `kind` picks the handler, `key` makes it unique (scheduling again moves it). */
export interface TimerDraft {
  key: string;
  kind: string;
  /** Epoch milliseconds at which it fires. */
  dueAt: number;
  payload?: Record<string, unknown>;
}

/** A timer as stored. */
export interface Timer extends Required<TimerDraft> {
  /** Failed firings so far (a firing whose handler throws is tried again later). */
  attempts: number;
  /** When it was given up on after its retries (a dead letter; it fires again only once re-driven). */
  deadAt: number | null;
}

export interface TimerRow {
  key: string;
  kind: string;
  due_at: number;
  payload: string;
  attempts: number;
  created_at: number;
  last_error: string | null;
  /** Set when the timer failed its retries: it is a dead letter and does not fire. */
  dead_at: number | null;
}

export interface TimerTables {
  timers: TimerRow;
}

/** Durable timers: rows in the database, so they survive restarts and fire once. */
export interface TimerStore {
  schedule(trx: Transaction<unknown>, timer: TimerDraft, now: number): Promise<void>;
  cancel(trx: Transaction<unknown>, key: string): Promise<void>;
  /** Keys of timers of these kinds due at `now`, earliest first. */
  dueKeys(now: number, limit: number, kinds: readonly string[]): Promise<string[]>;
  /**
   * Takes a due, live timer inside `trx` (deleting it, and the record of its earlier failures),
   * or undefined when another worker took it, it moved or it is dead.
   */
  claim(trx: Transaction<unknown>, key: string, now: number): Promise<Timer | undefined>;
  /** Records a failed firing and moves the timer to `retryAt`. */
  recordFailure(key: string, error: string, retryAt: number): Promise<void>;
  /** Epoch milliseconds of the earliest pending timer of these kinds. */
  nextDueAt(kinds: readonly string[]): Promise<number | undefined>;
  get(key: string): Promise<Timer | undefined>;
}

/**
 * `onScheduled` hears every due time written (before its commit), so the worker can wake
 * then instead of at its next poll.
 */
export function createTimerStore(db: Kysely<TimerTables>, dialect: DialectName, onScheduled?: (dueAt: number) => void): TimerStore {
  const tx = (trx: Transaction<unknown>) => trx as unknown as Transaction<TimerTables>;
  return {
    async schedule(trx, timer, now) {
      // Nothing waits for its answer: it goes out with the next statement (`Statement.send`).
      await upsertTimer.send(trx as never, [timer.key, timer.kind, timer.dueAt, JSON.stringify(timer.payload ?? {}), now]);
      onScheduled?.(timer.dueAt);
    },
    async cancel(trx, key) {
      if (dialect === 'postgres') {
        await deleteTimerAndFailure.send(trx as never, [key, key, TIMER_FAILURE_PREFIX]);
        return;
      }
      const [cancelled] = await deleteTimer(trx as never, [key]);
      // It had failed: its failure record (retrying or dead) goes with it, or it would stay open
      // for ever — nothing would fire or clear it (found by the 30-minute distributed campaign:
      // saga deadlines whose firing failed while the database was black-holed, then cancelled by
      // the order's completion, left the system unsettled).
      if (cancelled?.last_error != null) await clearTimerFailure(trx, cancelled.kind, key);
    },
    async dueKeys(now, limit, kinds) {
      if (kinds.length === 0) return [];
      const rows = await db.selectFrom('timers').select('key').where('kind', 'in', kinds as string[]).where('due_at', '<=', now).where('dead_at', 'is', null).orderBy('due_at').limit(limit).execute();
      return rows.map((r) => r.key);
    },
    async claim(trx, key, now) {
      let q = tx(trx).selectFrom('timers').selectAll().where('key', '=', key).where('due_at', '<=', now).where('dead_at', 'is', null);
      if (dialect === 'postgres') q = q.forUpdate().skipLocked();
      const row = await q.executeTakeFirst();
      if (!row) return undefined;
      await tx(trx).deleteFrom('timers').where('key', '=', key).execute();
      // It failed before (a re-drive keeps the last error, resetting the attempts).
      if (row.last_error !== null) await clearTimerFailure(trx, row.kind, key);
      return fromRow(row);
    },
    async recordFailure(key, error, retryAt) {
      await db
        .updateTable('timers')
        .set((eb) => ({ attempts: eb('attempts', '+', 1), last_error: error.slice(0, 2000), due_at: retryAt }))
        .where('key', '=', key)
        .execute();
    },
    async nextDueAt(kinds) {
      if (kinds.length === 0) return undefined;
      const row = await db.selectFrom('timers').select(sql<number>`min(due_at)`.as('next')).where('kind', 'in', kinds as string[]).where('dead_at', 'is', null).executeTakeFirst();
      return row?.next == null ? undefined : Number(row.next);
    },
    async get(key) {
      const row = await db.selectFrom('timers').selectAll().where('key', '=', key).executeTakeFirst();
      return row ? fromRow(row) : undefined;
    },
  };
}

function fromRow(row: TimerRow): Timer {
  return {
    key: row.key,
    kind: row.kind,
    dueAt: Number(row.due_at),
    payload: JSON.parse(row.payload) as Record<string, unknown>,
    attempts: Number(row.attempts),
    deadAt: row.dead_at == null ? null : Number(row.dead_at),
  };
}
