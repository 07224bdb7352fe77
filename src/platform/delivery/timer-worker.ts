import type { Logger } from 'pino';
import type { Clock } from '../../kernel/clock.js';
import { describeError } from '../../kernel/errors.js';
import type { EngineMetrics } from '../observability/metrics.js';
import type { TimerStore } from './timers.js';

/** Fires one due timer by key, in its own transaction; returns whether it fired. */
export type TimerHandler = (key: string) => Promise<boolean>;

export interface TimerWorkerDeps {
  timers: TimerStore;
  handlers: Readonly<Record<string, TimerHandler>>;
  clock: Clock;
  logger: Logger;
  metrics: EngineMetrics;
  /** Longest sleep between looks at the table (a timer scheduled by another process is seen by then). */
  pollMs?: number;
  batchSize?: number;
}

/**
 * Polls the timers table and fires what is due. A handler that throws leaves its timer in
 * place, moved later with a growing delay, so a timer is never lost.
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
  // When a failure could not even be recorded (the disk is full, the database gone), the timer
  // stays due: without a pause kept here the worker would fire it again at once, in a loop.
  let unrecorded = 0;
  let pauseUntil = 0;

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
        const delay = Math.min(60_000, 1000 * 2 ** Math.min(timer.attempts, 6));
        logger.error({ timer: key, kind: timer.kind, attempts: timer.attempts + 1, err: error }, 'timer handler failed; will fire again');
        if (await timers.recordFailure(key, describeError(error), clock.now() + delay).then(() => true, () => false)) unrecorded = 0;
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
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, sleep);
        wake = () => {
          clearTimeout(t);
          resolve();
        };
      });
      wake = undefined;
    }
  }

  return {
    start(): void {
      if (running) return;
      running = true;
      loop = run();
    },
    /** Looks at the table now (after a commit that scheduled a timer). */
    poke(): void {
      wake?.();
    },
    /** A timer due at `dueAt` is being scheduled: wake by then. */
    hint(dueAt: number): void {
      if (dueAt < hintedDueAt) hintedDueAt = dueAt;
      wake?.();
    },
    async stop(): Promise<void> {
      running = false;
      wake?.();
      await loop;
    },
  };
}
