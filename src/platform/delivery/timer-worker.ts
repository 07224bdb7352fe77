import type { Logger } from 'pino';
import type { Clock, Random } from '../../kernel/clock.js';
import { describeError } from '../../kernel/errors.js';
import type { EngineMetrics } from '../observability/metrics.js';
import { retryDelay, type RetryPolicy } from './consumer.js';
import { timerFailureConsumer, type TimerFailures } from './timer-failures.js';
import type { Timer, TimerStore } from './timers.js';

/** Fires one due timer by key, in its own transaction; returns whether it fired. */
export type TimerHandler = (key: string) => Promise<boolean>;

export interface TimerWorkerDeps {
  timers: TimerStore;
  handlers: Readonly<Record<string, TimerHandler>>;
  clock: Clock;
  logger: Logger;
  metrics: EngineMetrics;
  failures: TimerFailures;
  /** The handlers' retry policy: a timer is retried as often, with the same back-off, then dead-lettered. */
  retry: RetryPolicy;
  random: Random;
  /**
   * Whether a timer of this kind is dead-lettered after its retries. Not the delivery retry
   * timers: they fail only when the database does, and the delivery they retry is the dead letter.
   */
  givesUp(kind: string): boolean;
  /** Longest sleep between looks at the table (a timer scheduled by another process is seen by then). */
  pollMs?: number;
  batchSize?: number;
}

/**
 * Polls the timers table and fires what is due. A handler that throws leaves its timer in
 * place, moved later with a growing delay, so a timer is never lost; after the retries of the
 * retry policy it is a dead letter (kept, not fired) until an operator re-drives or discards it.
 */
export function createTimerWorker(deps: TimerWorkerDeps) {
  const { timers, handlers, clock, logger, metrics } = deps;
  const pollMs = deps.pollMs ?? 250;
  const batchSize = deps.batchSize ?? 100;
  // Only timers this process has a handler for: another process runs the other modules.
  const kinds = Object.keys(handlers);
  let running = false;
  let wake: (() => void) | undefined;
  let loop: Promise<void> | undefined;
  // The earliest due time heard of since the last look; it may not be committed yet.
  let hintedDueAt = Number.POSITIVE_INFINITY;
  // When the worker's current sleep ends (-Infinity while it looks at the table).
  let sleepingUntil = Number.NEGATIVE_INFINITY;
  // When a failure could not even be recorded (the disk is full, the database gone), the timer
  // stays due: without a pause kept here the worker would fire it again at once, in a loop.
  let unrecorded = 0;
  let pauseUntil = 0;

  async function failed(timer: Timer, error: unknown): Promise<void> {
    const attempt = timer.attempts + 1;
    const now = clock.now();
    if (!deps.givesUp(timer.kind)) {
      logger.error({ timer: timer.key, kind: timer.kind, attempts: attempt, err: error }, 'timer handler failed; will fire again');
      await timers.recordFailure(timer.key, describeError(error), now + Math.min(60_000, 1000 * 2 ** Math.min(timer.attempts, 6)));
      return;
    }
    const dead = attempt > deps.retry.maxRetries;
    const retryAt = dead ? null : now + retryDelay(deps.retry, attempt, deps.random);
    if (dead) logger.error({ timer: timer.key, kind: timer.kind, attempts: attempt, err: error }, 'timer dead-lettered after its retries');
    else logger.warn({ timer: timer.key, kind: timer.kind, attempts: attempt, err: error }, 'timer handler failed; will fire again');
    await deps.failures.record(timer, describeError(error), now, retryAt);
    if (dead) metrics.eventsDeadLettered.inc({ event_type: timer.kind, consumer: timerFailureConsumer(timer.kind) });
  }

  async function fireDue(): Promise<number> {
    const keys = await timers.dueKeys(clock.now(), batchSize, kinds);
    for (const key of keys) {
      if (!running) break;
      const timer = await timers.get(key);
      if (!timer) continue;
      const handler = handlers[timer.kind];
      try {
        if (!handler) throw new Error(`no handler for timer kind ${timer.kind}`);
        if (await handler(key)) metrics.timersFired.inc({ kind: timer.kind });
      } catch (error) {
        if (await failed(timer, error).then(() => true, () => false)) unrecorded = 0;
        else {
          pauseUntil = clock.now() + Math.min(30_000, 250 * 2 ** Math.min(unrecorded++, 7));
          break;
        }
      }
    }
    return keys.length;
  }

  async function run(): Promise<void> {
    while (running) {
      let seen = 0;
      try {
        seen = await fireDue();
      } catch (error) {
        logger.error({ err: error }, 'timer poll failed');
      }
      if (seen >= batchSize && clock.now() >= pauseUntil) continue;
      const next = Math.min(hintedDueAt, (await timers.nextDueAt(kinds).catch(() => undefined)) ?? Number.POSITIVE_INFINITY);
      hintedDueAt = Number.POSITIVE_INFINITY;
      const sleep = Math.max(0, Math.min(pollMs, next - clock.now()), pauseUntil - clock.now());
      sleepingUntil = clock.now() + sleep;
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, sleep);
        wake = () => {
          clearTimeout(t);
          resolve();
        };
      });
      wake = undefined;
      sleepingUntil = Number.NEGATIVE_INFINITY;
    }
  }

  return {
    start(): void {
      if (running) return;
      running = true;
      loop = run();
    },
    /** Looks at the table now (another thread or process may have scheduled a timer). */
    poke(): void {
      wake?.();
    },
    /**
     * This process committed: looks again if a timer it heard of is due already (the look its
     * hint caused may have come before the commit). Timers due later wake the worker by then.
     */
    committed(): void {
      if (hintedDueAt <= clock.now()) wake?.();
    },
    /** A timer due at `dueAt` is being scheduled: wake by then (now, if the worker would sleep past it). */
    hint(dueAt: number): void {
      if (dueAt < hintedDueAt) hintedDueAt = dueAt;
      if (dueAt < sleepingUntil) wake?.();
    },
    async stop(): Promise<void> {
      running = false;
      wake?.();
      await loop;
    },
  };
}
