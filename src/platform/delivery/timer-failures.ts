import type { Kysely, Transaction } from 'kysely';
import type { IdGenerator } from '../../kernel/ids.js';
import type { DeliveryTables, FailedDeliveryRow } from './delivery-store.js';
import type { Timer, TimerTables } from './timers.js';

/**
 * A failing timer is kept as a failed delivery like a failing handler's event, so operators
 * see and re-drive both in one place: consumer `timer:<kind>`, event id and aggregate id the
 * timer's key, event type its kind, reason `timer`.
 */
export const TIMER_FAILURE_PREFIX = 'timer:';

type Tables = DeliveryTables & TimerTables;

export function timerFailureConsumer(kind: string): string {
  return `${TIMER_FAILURE_PREFIX}${kind}`;
}

export function isTimerFailure(row: Pick<FailedDeliveryRow, 'reason'>): boolean {
  return row.reason === 'timer';
}

/** The failure record of timer `key`, gone once it fires (inside the firing transaction). */
export async function clearTimerFailure(trx: Transaction<unknown>, kind: string, key: string): Promise<void> {
  await (trx as unknown as Transaction<Tables>).deleteFrom('failed_deliveries').where('consumer', '=', timerFailureConsumer(kind)).where('event_id', '=', key).execute();
}

/** Failures of timers: attempts with their errors, dead letters, re-drive and discard. */
export function createTimerFailures(db: Kysely<Tables>, ids: IdGenerator) {
  return {
    /**
     * Records a failed firing: the timer moves to `retryAt`, or, when that is null, is dead
     * (kept, never fired, until a re-drive); its failure record says the same.
     */
    async record(timer: Timer, error: string, now: number, retryAt: number | null): Promise<void> {
      const consumer = timerFailureConsumer(timer.kind);
      const attempt = timer.attempts + 1;
      const entry = { attempt, at: now, error, retryAt };
      await db.transaction().execute(async (trx) => {
        const updated = await trx
          .updateTable('timers')
          .set({ attempts: attempt, last_error: error.slice(0, 2000), due_at: retryAt ?? timer.dueAt, dead_at: retryAt === null ? now : null })
          .where('key', '=', timer.key)
          .executeTakeFirst();
        // Cancelled (or fired by another worker) since this firing failed: there is nothing left to retry.
        if (Number(updated.numUpdatedRows) === 0) {
          await clearTimerFailure(trx as unknown as Transaction<unknown>, timer.kind, timer.key);
          return;
        }
        const existing = await trx.selectFrom('failed_deliveries').selectAll().where('consumer', '=', consumer).where('event_id', '=', timer.key).executeTakeFirst();
        const status = retryAt === null ? 'dead' : 'retrying';
        if (existing && existing.status !== 'discarded') {
          const history = [...(JSON.parse(existing.history) as unknown[]), entry];
          await trx
            .updateTable('failed_deliveries')
            .set({ status, attempts: attempt, last_error: error, history: JSON.stringify(history), last_failed_at: now, next_attempt_at: retryAt })
            .where('id', '=', existing.id)
            .execute();
          return;
        }
        if (existing) await trx.deleteFrom('failed_deliveries').where('id', '=', existing.id).execute();
        await trx
          .insertInto('failed_deliveries')
          .values({
            id: ids.next(),
            consumer,
            partition: 0,
            event_id: timer.key,
            sequence: 0,
            event_type: timer.kind,
            aggregate_id: timer.key,
            status,
            reason: 'timer',
            attempts: attempt,
            last_error: error,
            history: JSON.stringify([entry]),
            first_failed_at: now,
            last_failed_at: now,
            next_attempt_at: retryAt,
            resolved_at: null,
          })
          .execute();
      });
    },

    /** A dead timer fires again now, with a fresh round of attempts. */
    async redrive(failure: FailedDeliveryRow, now: number): Promise<void> {
      await db.transaction().execute(async (trx) => {
        const moved = await trx.updateTable('timers').set({ dead_at: null, attempts: 0, due_at: now }).where('key', '=', failure.event_id).where('dead_at', 'is not', null).executeTakeFirst();
        // Scheduled again by its module in the meantime: it is live already, the record is stale.
        if (Number(moved.numUpdatedRows) === 0) {
          await trx.deleteFrom('failed_deliveries').where('id', '=', failure.id).execute();
          return;
        }
        await trx.updateTable('failed_deliveries').set({ status: 'retrying', attempts: 0, next_attempt_at: now }).where('id', '=', failure.id).execute();
      });
    },

    /** Gives up on the timer: it is deleted without firing. */
    async discard(failure: FailedDeliveryRow, now: number): Promise<void> {
      await db.transaction().execute(async (trx) => {
        // The failing timer only (dead, or retrying with attempts): not one its module scheduled anew since.
        await trx
          .deleteFrom('timers')
          .where('key', '=', failure.event_id)
          .where('kind', '=', failure.event_type)
          .where((eb) => eb.or([eb('dead_at', 'is not', null), eb('attempts', '>', 0)]))
          .execute();
        await trx.updateTable('failed_deliveries').set({ status: 'discarded', resolved_at: now, next_attempt_at: null }).where('id', '=', failure.id).execute();
      });
    },
  };
}

export type TimerFailures = ReturnType<typeof createTimerFailures>;
