import type { Logger } from 'pino';
import type { EventEnvelope } from '../../kernel/envelope.js';
import type { TxContext } from '../log/tx-context.js';

/** What a handler gets besides the event: the transaction (with emit and timers), the attempt and a logger. */
export interface HandlerContext<DB = unknown> extends TxContext<DB> {
  /** 1 for the first delivery, 2 for the first retry, … */
  readonly attempt: number;
  /** A child logger carrying the event's ids. */
  readonly log: Logger;
}

/** Handles one event inside the consumer's transaction; throwing rolls its effects back and schedules a retry. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type EventHandler<DB = unknown> = (event: EventEnvelope<any>, ctx: HandlerContext<DB>) => Promise<void>;

/**
 * A named subscriber. Each consumer has its own checkpoint, inbox and dead letters; it
 * receives only the event types it has handlers for.
 */
export interface Consumer<DB = unknown> {
  /** Stable name, e.g. `inventory.reservations`; renaming it starts it from the beginning of the log. */
  readonly name: string;
  /** The module whose events the handlers emit. */
  readonly source: string;
  readonly handlers: Readonly<Record<string, EventHandler<DB>>>;
  /**
   * Optional: handles the fresh events of a delivery batch in one call (a projection folds
   * them into one write per row instead of one per event). It must have the same effect as
   * `handlers` applied to each event in turn, and emit nothing. The fast path uses it; when
   * anything in the batch fails, the careful path handles the events one by one through
   * `handlers`, so a failure is still pinned to its event.
   */
  readonly handleBatch?: (events: readonly EventEnvelope[], ctx: HandlerContext<DB>) => Promise<void>;
  /**
   * Optional: called on the fast path with the fresh events of a batch before their handlers
   * run one by one, in the same transaction: a consumer may read (and lock) in one statement
   * what the handlers would each read, and keep it for them. What it keeps is good until the
   * returned function is called, when the batch's handlers are done or failed: the careful path,
   * which may undo a handler's writes under a savepoint, never gets it.
   */
  readonly prepareBatch?: (events: readonly EventEnvelope[], ctx: TxContext<DB>) => Promise<(() => void) | void>;
  /**
   * The handlers write rows that events of different aggregates share (a product's stock, a
   * statistics counter). A process then delivers this consumer's partitions one at a time, a
   * transaction each: the rows one batch locks stay few (two processes' batches lock them in
   * their own orders, and a larger batch is a likelier deadlock). Without it, a process
   * delivers every partition it read in a round in one transaction (PostgreSQL).
   */
  readonly sharedRows?: boolean;
  /**
   * A read model that may lag (statistics): the distributed mode's reader of the log waits this
   * long after it was woken before it reads, so that one round takes what a burst of commits
   * appended — fewer, larger transactions for the same events. None by default: a step of a
   * flow is handled as soon as its event commits.
   */
  readonly lingerMs?: number;
  /**
   * Every effect of the handlers stays in their transaction (rows of this database, emitted
   * events, timers): nothing leaves the process before the commit. On SQLite a delivery round
   * may then hand this consumer events appended earlier in the same round, before they commit
   * (they commit together or not at all), so an order crosses several hops per commit. Leave
   * it out when a handler calls the outside world (a payment gateway, a mail server): such a
   * consumer is only ever handed committed events, so nothing it acted on can be rolled back
   * and come again as a different event.
   */
  readonly effectsInTransaction?: boolean;
}

/** Declares a consumer with handlers typed against the module's own tables. */
export function defineConsumer<DB>(consumer: Consumer<DB>): Consumer {
  return consumer as unknown as Consumer;
}

/** Retry timing: `maxRetries` after the first attempt, exponential from `baseDelayMs`, capped, with jitter. */
export interface RetryPolicy {
  maxRetries: number;
  baseDelayMs: number;
  maxDelayMs: number;
}

export const defaultRetryPolicy: RetryPolicy = { maxRetries: 3, baseDelayMs: 200, maxDelayMs: 60_000 };

/**
 * Delay before retry number `retry` (1-based): base·2^(retry−1), capped, times a jitter factor
 * in [0.5, 1). Each delay is at least the previous one's upper bound, so delays always grow.
 */
export function retryDelay(policy: RetryPolicy, retry: number, random: () => number): number {
  const exponential = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (retry - 1));
  return Math.round(exponential * (0.5 + random() * 0.5));
}
