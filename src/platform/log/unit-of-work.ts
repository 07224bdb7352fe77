import type { Kysely, Transaction } from 'kysely';
import type { Clock } from '../../kernel/clock.js';
import type { EventEnvelope } from '../../kernel/envelope.js';
import type { IdGenerator } from '../../kernel/ids.js';
import type { Timer, TimerStore } from '../delivery/timers.js';
import type { EventLog } from './event-log.js';
import { createTxContext, type TxContext } from './tx-context.js';

/** Runs a module's state change and the events it emits as one transaction: the outbox. */
export interface UnitOfWork {
  /**
   * Runs `work` in a transaction; the events it emits are appended to the log before the
   * commit. If `work` throws, nothing is written and the error propagates.
   */
  run<T, DB = unknown>(source: string, work: (tx: TxContext<DB>) => Promise<T>): Promise<T>;
  /**
   * Fires a durable timer: claims it and runs `work` in the same transaction, so the timer
   * fires exactly once; returns false when it was not (or no longer) due.
   */
  fireTimer<DB = unknown>(source: string, key: string, work: (timer: Timer, tx: TxContext<DB>) => Promise<void>): Promise<boolean>;
}

export interface UnitOfWorkDeps {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  db: Kysely<any>;
  log: EventLog;
  timers: TimerStore;
  ids: IdGenerator;
  clock: Clock;
  /** Called after each commit with the events it appended (wakes the transport). */
  onCommit(appended: EventEnvelope[]): void;
}

export function createUnitOfWork(deps: UnitOfWorkDeps): UnitOfWork {
  const { db, log, timers, ids, clock, onCommit } = deps;

  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  async function transact<T>(source: string, body: (trx: Transaction<any>, pending: EventEnvelope[], afterCommit: (() => void)[]) => Promise<T>): Promise<T> {
    const afterCommit: (() => void)[] = [];
    const { value, appended } = await db.transaction().execute(async (trx) => {
      const pending: EventEnvelope[] = [];
      const value = await body(trx, pending, afterCommit);
      return { value, appended: await log.append(trx, pending) };
    });
    if (appended.length > 0) onCommit(appended);
    for (const callback of afterCommit) callback();
    return value;
  }

  return {
    run: (source, work) =>
      transact(source, (trx, pending, afterCommit) => work(createTxContext({ trx, pending, afterCommit, source, timers, ids, clock }))),

    fireTimer: (source, key, work) =>
      transact(source, async (trx, pending, afterCommit) => {
        const tx = createTxContext<never>({ trx, pending, afterCommit, source, timers, ids, clock });
        const timer = await timers.claim(trx, key, tx.now);
        if (!timer) return false;
        await work(timer, tx as never);
        return true;
      }),
  };
}
