import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import type { Clock } from '../../kernel/clock.js';
import type { EngineMetrics } from '../observability/metrics.js';
import type { DialectName } from '../storage/database.js';

/** What a prune task is given for one batch. */
export interface PruneBatch {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  db: Kysely<any>;
  dialect: DialectName;
  /** The clock's time when the pass began (epoch ms). */
  now: number;
  /** Delete at most this many rows. */
  limit: number;
}

/** Removes bookkeeping rows that nothing can need any more, a batch at a time. */
export interface PruneTask {
  /** Names the rows in logs and in `orderflow_pruned_rows_total{task}`. */
  readonly name: string;
  /** Deletes at most `limit` rows in one short statement; returns how many it deleted. */
  prune(batch: PruneBatch): Promise<number>;
}

export interface PrunerDeps {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  db: Kysely<any>;
  dialect: DialectName;
  tasks: readonly PruneTask[];
  clock: Clock;
  logger: Logger;
  metrics: EngineMetrics;
  /** Time between passes (default 60 s). */
  everyMs?: number;
  /** Rows per delete statement (default 500). */
  batchSize?: number;
  /** Pause between two batches, so delivery's transactions get the database in between (default 20 ms). */
  pauseMs?: number;
}

export interface Pruner {
  start(): void;
  /** One pass now: every task, batch after batch, until none is full; rows deleted by task. */
  runOnce(): Promise<Record<string, number>>;
  stop(): Promise<void>;
}

/**
 * Background pruning: every `everyMs`, each task deletes its expired rows in batches of
 * `batchSize`, one autocommitted statement per batch and a pause between batches. It never
 * runs inside a delivery transaction and holds no lock between batches, so delivery only
 * ever waits for one small delete. A failed pass is logged and tried again at the next.
 */
export function createPruner(deps: PrunerDeps): Pruner {
  const { db, dialect, tasks, clock, logger, metrics } = deps;
  const everyMs = deps.everyMs ?? 60_000;
  const batchSize = deps.batchSize ?? 500;
  const pauseMs = deps.pauseMs ?? 20;
  let running = false;
  let stopping = false;
  let timer: NodeJS.Timeout | undefined;
  let pass: Promise<unknown> | undefined;
  const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

  async function pruneTask(task: PruneTask, now: number): Promise<number> {
    let total = 0;
    for (;;) {
      const deleted = await task.prune({ db, dialect, now, limit: batchSize });
      total += deleted;
      if (deleted > 0) metrics.prunedRows.inc({ task: task.name }, deleted);
      if (deleted < batchSize || stopping) return total;
      await sleep(pauseMs);
    }
  }

  async function runOnce(): Promise<Record<string, number>> {
    const now = clock.now();
    const deleted: Record<string, number> = {};
    for (const task of tasks) deleted[task.name] = await pruneTask(task, now);
    const total = Object.values(deleted).reduce((a, b) => a + b, 0);
    if (total > 0) logger.info({ deleted }, 'pruned expired bookkeeping rows');
    return deleted;
  }

  function schedule(): void {
    if (!running) return;
    timer = setTimeout(() => {
      pass = runOnce()
        .catch((error: unknown) => logger.warn({ err: error }, 'pruning failed; trying again at the next pass'))
        .finally(() => {
          pass = undefined;
          schedule();
        });
    }, everyMs);
  }

  return {
    start() {
      if (running || tasks.length === 0) return;
      running = true;
      stopping = false;
      schedule();
    },
    runOnce,
    async stop() {
      running = false;
      stopping = true;
      clearTimeout(timer);
      await pass;
    },
  };
}
