import type { Kysely, Transaction } from 'kysely';
import type { Clock } from '../../kernel/clock.js';
import type { CommandOrigin, EventEnvelope } from '../../kernel/envelope.js';
import type { IdGenerator } from '../../kernel/ids.js';
import { isTransactionConflict } from '../delivery/handler-runner.js';
import type { Timer, TimerStore } from '../delivery/timers.js';
import { tracingOff, type TraceSpan, type Tracing } from '../observability/tracing.js';
import { savepointCommand } from '../storage/statements.js';
import type { EventLog } from './event-log.js';
import { createTxContext, type TxContext } from './tx-context.js';

/** Runs a module's state change and the events it emits as one transaction: the outbox. */
export interface UnitOfWork {
  /**
   * Runs `work` in a transaction; the events it emits are appended to the log before the
   * commit. If `work` throws, nothing is written and the error propagates. A command of the
   * API passes its `origin`: every event it emits records who issued it and why.
   */
  run<T, DB = unknown>(source: string, work: (tx: TxContext<DB>) => Promise<T>, origin?: CommandOrigin): Promise<T>;
  /**
   * The same promise as `run`, but the work may commit together with other grouped work that
   * arrives in the same turn of the event loop (group commit: one transaction, one sync to
   * disk for all of them). Each keeps its all-or-nothing: it runs under a savepoint of its
   * own, and one that throws is rolled back alone and rejected alone. Resolves only after the
   * shared commit. Where group commit is off, it is `run`.
   */
  runGrouped<T, DB = unknown>(source: string, work: (tx: TxContext<DB>) => Promise<T>, origin?: CommandOrigin): Promise<T>;
  /**
   * Runs the grouped work waiting for its commit (`runGrouped`) inside `trx`, another writer's
   * open transaction (a delivery round on the same connection), so that one commit serves
   * both; undefined when none waits. Each piece keeps its savepoint; the caller settles the
   * group once its transaction has committed or failed.
   */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  joinGroup(trx: Transaction<any>): Promise<JoinedGroup | undefined>;
  /**
   * Fires a durable timer: claims it and runs `work` in the same transaction, so the timer
   * fires exactly once; returns false when it was not (or no longer) due.
   */
  fireTimer<DB = unknown>(source: string, key: string, work: (timer: Timer, tx: TxContext<DB>) => Promise<void>): Promise<boolean>;
}

/** Grouped work run inside another writer's transaction (`UnitOfWork.joinGroup`). */
export interface JoinedGroup {
  /** The events its pieces appended, in log order (uncommitted until the transaction commits). */
  appended: readonly EventEnvelope[];
  /** The transaction committed: its pieces resolve (or reject, those that threw). */
  committed(): void;
  /** The transaction failed: nothing of the group was written. */
  failed(error: unknown): void;
}

export interface UnitOfWorkDeps {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  db: Kysely<any>;
  log: EventLog;
  timers: TimerStore;
  ids: IdGenerator;
  clock: Clock;
  /** Jitter of the pause before a conflicted transaction runs again (default Math.random). */
  random?: () => number;
  /**
   * Commit grouped work together. On for SQLite, where one connection runs every write one
   * after another and each commit syncs the WAL; PostgreSQL runs concurrent transactions.
   */
  groupCommit?: boolean;
  /** Called after each commit with the events it appended (wakes the transport). */
  onCommit(appended: EventEnvelope[]): void;
  /** Each unit of work is a span (`append <event types>`), and the events it emits carry its trace context. */
  tracing?: Tracing;
}

/** Work waiting for the next group commit. */
interface Grouped {
  source: string;
  /** Started when the work was handed in, in the caller's trace. */
  span: TraceSpan | undefined;
  origin: CommandOrigin | undefined;
  work: (tx: TxContext<never>) => Promise<unknown>;
  resolve(value: unknown): void;
  reject(error: unknown): void;
}

/** A piece of grouped work once run under its savepoint: its value, or what it threw. */
interface Settled {
  item: Grouped;
  ok: boolean;
  value: unknown;
  afterCommit: (() => void)[];
  /** Ids of the events it emitted (kept only for its span). */
  appended: string[];
}

/** Times a transaction that lost a deadlock is run again before the error goes to the caller. */
const MAX_CONFLICT_RETRIES = 5;

/** The most pieces of work one group commits together. */
const MAX_GROUP = 128;

export function createUnitOfWork(deps: UnitOfWorkDeps): UnitOfWork {
  const { db, log, timers, ids, clock, onCommit } = deps;
  const tracing = deps.tracing ?? tracingOff;
  const queue: Grouped[] = [];
  /** The turn of the event loop that will commit the queued work, when one is scheduled. */
  let flushScheduled: NodeJS.Immediate | undefined;
  /** A group is being committed. */
  let flushing = false;

  /** A unit of work's span, child of the span active where it was asked for (an HTTP request); none when tracing is off. */
  function startSpan(source: string): TraceSpan | undefined {
    return tracing.enabled ? tracing.startSpan(`transaction ${source}`, { attributes: { 'orderflow.source': source } }) : undefined;
  }

  /** Names the span after what it appended (`append OrderPlaced`) and ends it. */
  function endSpan(span: TraceSpan | undefined, outcome: { appended: readonly EventEnvelope[] } | { error: unknown }): void {
    if (!span) return;
    if ('error' in outcome) span.fail(outcome.error);
    else if (outcome.appended.length > 0) {
      const types = [...new Set(outcome.appended.map((e) => e.eventType))];
      const first = outcome.appended[0]!;
      span.updateName(`append ${types.join(' ')}`);
      span.setAttributes({
        'orderflow.event_types': types.join(','),
        'orderflow.events': outcome.appended.length,
        'orderflow.correlation_id': first.correlationId,
        'orderflow.order_id': orderIdOf(first),
      });
    }
    span.end();
  }

  /**
   * Runs `body` in a transaction and appends what it emitted. A transaction that lost a
   * deadlock (or a serialization conflict) to another was rolled back whole: it runs again, up
   * to MAX_CONFLICT_RETRIES times, as the dispatcher does for handlers — a restock racing
   * the reservations of another process is no 500.
   */
  async function transact<T>(
    source: string,
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    body: (trx: Transaction<any>, pending: EventEnvelope[], afterCommit: (() => void)[], traceparent: string | undefined) => Promise<T>,
    span: TraceSpan | undefined,
  ): Promise<T> {
    const afterCommit: (() => void)[] = [];
    const attempt = async () => {
      const { value, sent } = await db.transaction().execute(async (trx) => {
        afterCommit.length = 0;
        const pending: EventEnvelope[] = [];
        const value = await body(trx, pending, afterCommit, span?.traceparent);
        // The commit goes out right behind the insert; if that failed, the commit fails with its error.
        return { value, sent: await log.sendAppend(trx, pending) };
      });
      return { value, appended: await sent.appended };
    };
    let result: Awaited<ReturnType<typeof attempt>>;
    for (let conflicts = 0; ; conflicts++) {
      try {
        result = await attempt();
        break;
      } catch (error) {
        if (!isTransactionConflict(error) || conflicts >= MAX_CONFLICT_RETRIES) {
          endSpan(span, { error });
          throw error;
        }
        await new Promise((resolve) => setTimeout(resolve, (deps.random ?? Math.random)() * 50 * (conflicts + 1)));
      }
    }
    const { value, appended } = result;
    endSpan(span, { appended });
    if (appended.length > 0) onCommit(appended);
    for (const callback of afterCommit) callback();
    return value;
  }

  function runIn<T, DB>(source: string, work: (tx: TxContext<DB>) => Promise<T>, span: TraceSpan | undefined, origin: CommandOrigin | undefined): Promise<T> {
    return transact(source, (trx, pending, afterCommit, traceparent) => work(createTxContext({ trx, pending, afterCommit, source, timers, ids, clock, traceparent, origin })), span);
  }

  const run: UnitOfWork['run'] = (source, work, origin) => runIn(source, work, startSpan(source), origin);

  /** Commits the next group of queued work, then lets the one after it start. */
  async function flush(): Promise<void> {
    flushScheduled = undefined;
    flushing = true;
    try {
      await commitGroup(queue.splice(0, MAX_GROUP));
    } finally {
      flushing = false;
      if (queue.length > 0) scheduleFlush();
    }
  }

  /** Commits a group: each piece under its own savepoint, all in one transaction. */
  async function commitGroup(group: Grouped[]): Promise<void> {
    // A delivery round took the group first (joinGroup).
    if (group.length === 0) return;
    if (group.length === 1) {
      const only = group[0]!;
      return runIn(only.source, only.work, only.span, only.origin).then(only.resolve, only.reject);
    }
    let ran: Awaited<ReturnType<typeof runGroupIn>>;
    try {
      ran = await db.transaction().execute((trx) => runGroupIn(trx, group));
    } catch (error) {
      groupFailed(group, error);
      return;
    }
    groupCommitted(ran.settled, ran.appended);
  }

  /** Runs each piece of a group under its own savepoint in `trx`, then appends what they emitted. */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  async function runGroupIn(trx: Transaction<any>, group: readonly Grouped[]): Promise<{ settled: Settled[]; appended: EventEnvelope[] }> {
    const settled: Settled[] = [];
    const pending: EventEnvelope[] = [];
    for (const item of group) settled.push(await runUnderSavepoint(trx, item, pending));
    return { settled, appended: await log.append(trx, pending) };
  }

  /** The shared commit failed: nothing of the group was written. */
  function groupFailed(group: readonly Grouped[], error: unknown): void {
    for (const item of group) {
      endSpan(item.span, { error });
      item.reject(error);
    }
  }

  function groupCommitted(settled: readonly Settled[], appended: EventEnvelope[]): void {
    if (appended.length > 0) onCommit(appended);
    for (const { item, ok, value, afterCommit, appended: own } of settled) {
      if (!ok) {
        endSpan(item.span, { error: value });
        item.reject(value);
        continue;
      }
      if (item.span) endSpan(item.span, { appended: appended.filter((e) => own.includes(e.eventId)) });
      for (const callback of afterCommit) callback();
      item.resolve(value);
    }
  }

  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  async function runUnderSavepoint(trx: Transaction<any>, item: Grouped, groupPending: EventEnvelope[]): Promise<Settled> {
    const pending: EventEnvelope[] = [];
    const afterCommit: (() => void)[] = [];
    await savepointCommand(trx, 'savepoint grouped_work');
    try {
      const value = await item.work(createTxContext({ trx, pending, afterCommit, source: item.source, timers, ids, clock, traceparent: item.span?.traceparent, origin: item.origin }));
      await savepointCommand(trx, 'release savepoint grouped_work');
      groupPending.push(...pending);
      return { item, ok: true, value, afterCommit, appended: item.span ? pending.map((e) => e.eventId) : [] };
    } catch (error) {
      await savepointCommand(trx, 'rollback to savepoint grouped_work');
      await savepointCommand(trx, 'release savepoint grouped_work');
      return { item, ok: false, value: error as unknown, afterCommit, appended: [] as string[] };
    }
  }

  /**
   * One group at a time: work handed in while a group waits for the write lock or syncs its
   * commit joins the next group, which starts once that one ended. (A group per turn of the
   * event loop instead made many small groups queue for the lock together, each syncing the disk
   * on its own, whenever the delivery thread held the lock.)
   */
  function scheduleFlush(): void {
    if (flushScheduled || flushing) return;
    // After the I/O callbacks of this turn: requests read in the same turn join the group.
    flushScheduled = setImmediate(() => void flush());
  }

  return {
    run,

    runGrouped<T, DB>(source: string, work: (tx: TxContext<DB>) => Promise<T>, origin?: CommandOrigin): Promise<T> {
      if (!deps.groupCommit) return run(source, work, origin);
      return new Promise<T>((resolve, reject) => {
        queue.push({ source, span: startSpan(source), origin, work: work as unknown as Grouped['work'], resolve: resolve as Grouped['resolve'], reject });
        scheduleFlush();
      });
    },

    async joinGroup(trx) {
      if (queue.length === 0) return undefined;
      const group = queue.splice(0, MAX_GROUP);
      // Nothing left for the group's own commit: work queued from now on schedules it again. Left
      // scheduled, it would commit on its own, with a sync to the disk of its own, whatever came
      // in meanwhile, where the next delivery round, about to start, takes that in.
      if (queue.length === 0 && flushScheduled) {
        clearImmediate(flushScheduled);
        flushScheduled = undefined;
      }
      let ran: Awaited<ReturnType<typeof runGroupIn>>;
      try {
        ran = await runGroupIn(trx, group);
      } catch (error) {
        // The writer's transaction rolls back whole: so does the group.
        groupFailed(group, error);
        throw error;
      }
      return { appended: ran.appended, committed: () => groupCommitted(ran.settled, ran.appended), failed: (error) => groupFailed(group, error) };
    },

    fireTimer: (source, key, work) =>
      transact(
        source,
        async (trx, pending, afterCommit, traceparent) => {
          const tx = createTxContext<never>({ trx, pending, afterCommit, source, timers, ids, clock, traceparent });
          const timer = await timers.claim(trx, key, tx.now);
          if (!timer) return false;
          await work(timer, tx as never);
          return true;
        },
        startSpan(source),
      ),
  };
}

/** The order an event is about: its aggregate, or the order id in its payload. */
function orderIdOf(event: EventEnvelope): string | undefined {
  if (event.aggregateType === 'Order') return event.aggregateId;
  const orderId = (event.payload as { orderId?: unknown }).orderId;
  return typeof orderId === 'string' ? orderId : undefined;
}
