import type { Kysely } from 'kysely';
import type { Clock } from '../../kernel/clock.js';
import type { EventEnvelope } from '../../kernel/envelope.js';
import { AppError } from '../../kernel/errors.js';
import type { EventLog } from '../log/event-log.js';
import type { DeliveryTables, FailedDeliveryRow, FailureStatus } from './delivery-store.js';
import type { Dispatcher } from './dispatcher.js';
import { isTimerFailure, type TimerFailures } from './timer-failures.js';

/** A failed delivery as operators see it. */
export interface DeadLetter {
  id: string;
  consumer: string;
  eventId: string;
  eventType: string;
  aggregateId: string;
  /** retrying: attempts remain; dead: waiting for re-drive or discard; discarded: given up. */
  status: FailureStatus;
  /** handler or schema: a consumer's event; timer: a timer (consumer `timer:<kind>`, eventId and aggregateId its key). */
  reason: 'handler' | 'schema' | 'timer';
  attempts: number;
  error: string;
  /** Every attempt: when it ran (epoch ms), its error, and when the next one was scheduled. */
  history: { attempt: number; at: number; error: string; retryAt: number | null }[];
  firstFailedAt: string;
  lastFailedAt: string;
  nextAttemptAt: string | null;
  /** How many later events of the same aggregate wait behind this one. */
  parkedCount: number;
}

export interface DeadLetterDetail extends DeadLetter {
  event: EventEnvelope | undefined;
  /** The events waiting behind it, in the order they will be delivered. */
  parked: { eventId: string; sequence: number }[];
}

export interface DeadLetterQuery {
  status?: FailureStatus;
  consumer?: string;
  limit?: number;
}

/** Inspection and re-drive of failed deliveries. */
export interface DeadLetters {
  list(query?: DeadLetterQuery): Promise<DeadLetter[]>;
  get(id: string): Promise<DeadLetterDetail>;
  /** Delivers it (or fires the timer) again from a fresh round of attempts; parked events follow once it succeeds. */
  retry(id: string): Promise<void>;
  /** Gives up on it; the parked events behind it are delivered now (a timer is deleted without firing). */
  discard(id: string): Promise<void>;
  /** Unresolved dead letters (status dead). */
  countOpen(): Promise<number>;
}

export function createDeadLetters(deps: {
  db: Kysely<DeliveryTables>;
  log: EventLog;
  dispatcher: Dispatcher;
  timerFailures: TimerFailures;
  clock: Clock;
  /** Called after a re-drive or discard so the retry or released events run without waiting. */
  afterChange(appended: EventEnvelope[]): void;
}): DeadLetters {
  const { db, log, dispatcher, timerFailures, clock, afterChange } = deps;

  /** The failure if it is a timer's (handled here), undefined for a delivery's (the dispatcher's). */
  async function timerFailure(id: string, open: (status: FailureStatus) => boolean): Promise<FailedDeliveryRow | undefined> {
    const row = await db.selectFrom('failed_deliveries').selectAll().where('id', '=', id).executeTakeFirst();
    if (!row || !isTimerFailure(row)) return undefined;
    if (!open(row.status)) throw new AppError('conflict', 'DEAD_LETTER_NOT_OPEN', `dead letter ${id} is ${row.status}`);
    return row;
  }

  async function parkedCounts(ids: string[]): Promise<Map<string, number>> {
    if (ids.length === 0) return new Map();
    const rows = await db
      .selectFrom('parked_deliveries')
      .select(['blocked_by', (eb) => eb.fn.countAll<number>().as('n')])
      .where('blocked_by', 'in', ids)
      .groupBy('blocked_by')
      .execute();
    return new Map(rows.map((r) => [r.blocked_by, Number(r.n)]));
  }

  return {
    async list({ status, consumer, limit } = {}) {
      let q = db.selectFrom('failed_deliveries').selectAll();
      q = status ? q.where('status', '=', status) : q.where('status', 'in', ['retrying', 'dead']);
      if (consumer) q = q.where('consumer', '=', consumer);
      const rows = await q.orderBy('first_failed_at').orderBy('sequence').limit(Math.min(limit ?? 100, 1000)).execute();
      const counts = await parkedCounts(rows.map((r) => r.id));
      return rows.map((r) => toDeadLetter(r, counts.get(r.id) ?? 0));
    },
    async get(id) {
      const row = await db.selectFrom('failed_deliveries').selectAll().where('id', '=', id).executeTakeFirst();
      if (!row) throw new AppError('not_found', 'DEAD_LETTER_NOT_FOUND', `no dead letter ${id}`);
      const parked = await db.selectFrom('parked_deliveries').select(['event_id', 'sequence']).where('blocked_by', '=', id).orderBy('sequence').execute();
      return {
        ...toDeadLetter(row, parked.length),
        event: await log.get(row.event_id),
        parked: parked.map((p) => ({ eventId: p.event_id, sequence: Number(p.sequence) })),
      };
    },
    async retry(id) {
      const timer = await timerFailure(id, (status) => status === 'dead');
      if (timer) await timerFailures.redrive(timer, clock.now());
      else await dispatcher.redrive(id);
      afterChange([]);
    },
    async discard(id) {
      const timer = await timerFailure(id, (status) => status !== 'discarded');
      if (timer) await timerFailures.discard(timer, clock.now());
      afterChange(timer ? [] : await dispatcher.discard(id));
    },
    async countOpen() {
      const row = await db.selectFrom('failed_deliveries').select((eb) => eb.fn.countAll<number>().as('n')).where('status', '=', 'dead').executeTakeFirst();
      return Number(row?.n ?? 0);
    },
  };
}

function toDeadLetter(row: FailedDeliveryRow, parkedCount: number): DeadLetter {
  const iso = (ms: number | null) => (ms === null ? null : new Date(Number(ms)).toISOString());
  return {
    id: row.id,
    consumer: row.consumer,
    eventId: row.event_id,
    eventType: row.event_type,
    aggregateId: row.aggregate_id,
    status: row.status,
    reason: row.reason,
    attempts: Number(row.attempts),
    error: row.last_error,
    history: JSON.parse(row.history) as DeadLetter['history'],
    firstFailedAt: iso(row.first_failed_at)!,
    lastFailedAt: iso(row.last_failed_at)!,
    nextAttemptAt: iso(row.next_attempt_at),
    parkedCount,
  };
}
