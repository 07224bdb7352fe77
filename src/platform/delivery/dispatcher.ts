import type { Kysely, Transaction } from 'kysely';
import type { Logger } from 'pino';
import type { Clock, Random } from '../../kernel/clock.js';
import type { EventEnvelope } from '../../kernel/envelope.js';
import { AppError, describeError } from '../../kernel/errors.js';
import type { EventSchemas } from '../../kernel/event-schemas.js';
import type { IdGenerator } from '../../kernel/ids.js';
import type { EventLog, EventLogTables } from '../log/event-log.js';
import { createTxContext } from '../log/tx-context.js';
import type { EngineMetrics } from '../observability/metrics.js';
import type { DialectName } from '../storage/database.js';
import { retryDelay, type Consumer, type HandlerContext, type RetryPolicy } from './consumer.js';
import { createDeliveryStore, type DeliveryTables, type FailedDeliveryRow } from './delivery-store.js';
import type { TimerStore } from './timers.js';

export const RETRY_TIMER = 'delivery.retry';

export interface DispatcherDeps {
  db: Kysely<DeliveryTables>;
  dialect: DialectName;
  log: EventLog;
  timers: TimerStore;
  schemas: EventSchemas;
  consumers: readonly Consumer[];
  ids: IdGenerator;
  clock: Clock;
  random: Random;
  retry: RetryPolicy;
  logger: Logger;
  metrics: EngineMetrics;
}

/** Where a delivery ended: handled, a duplicate, parked behind a failure, or failed. */
export type DeliveryOutcome = 'handled' | 'duplicate' | 'parked' | 'ignored' | 'failed' | 'dead';

export interface BatchResult {
  /** True when another worker moved the checkpoint first; nothing was applied. */
  stale: boolean;
  outcomes: DeliveryOutcome[];
  /** Events the handlers emitted, as appended. */
  appended: EventEnvelope[];
}

type Trx = Transaction<DeliveryTables>;

/** Thrown out of the fast path to roll its transaction back; the batch is then run carefully. */
class FastPathAborted extends Error {
  constructor(readonly original: unknown) {
    super('a handler failed in the fast path');
  }
}
type Attempt = { kind: 'handled' | 'duplicate' | 'ignored' } | { kind: 'failed'; error: string; permanent: boolean };

/** The part of a write that happens inside one transaction: its emitted events, in order. */
interface Work {
  trx: Trx;
  pending: EventEnvelope[];
  afterCommit: (() => void)[];
  now: number;
}

/**
 * Runs consumers' handlers with exactly-once effect: each event's handler, its inbox record
 * and the events it emits commit together; a failing handler is retried with backoff, then
 * dead-lettered, and later events of its aggregate wait (parked) until it is resolved.
 */
export function createDispatcher(deps: DispatcherDeps) {
  const { db, log, timers, schemas, ids, clock, random, retry, logger, metrics } = deps;
  const store = createDeliveryStore(deps.dialect);
  const consumers = new Map(deps.consumers.map((c) => [c.name, c]));

  function consumerNamed(name: string): Consumer {
    const consumer = consumers.get(name);
    if (!consumer) throw new AppError('not_found', 'CONSUMER_NOT_FOUND', `no consumer named ${name}`);
    return consumer;
  }

  function handlerContext(work: Work, consumer: Consumer, event: EventEnvelope, attemptNo: number): HandlerContext {
    const tx = createTxContext({ trx: work.trx, pending: work.pending, afterCommit: work.afterCommit, source: consumer.source, cause: event, timers, ids, clock });
    let log: Logger | undefined;
    return {
      ...tx,
      attempt: attemptNo,
      // Made on first use: most handlers never log, and this is the hot path.
      get log() {
        return (log ??= eventLogger(consumer, event));
      },
    };
  }

  /** A logger whose every line carries the event's ids: correlation, event, aggregate, order. */
  function eventLogger(consumer: Consumer, event: EventEnvelope): Logger {
    const orderId = event.aggregateType === 'Order' ? event.aggregateId : (event.payload as { orderId?: unknown }).orderId;
    return logger.child({ consumer: consumer.name, eventId: event.eventId, eventType: event.eventType, correlationId: event.correlationId, aggregateId: event.aggregateId, orderId });
  }

  function logHandled(consumer: Consumer, event: EventEnvelope, attemptNo: number): void {
    if (logger.isLevelEnabled('debug')) eventLogger(consumer, event).debug({ attempt: attemptNo }, 'event handled');
  }

  /** Runs one handler under a savepoint, so its failure undoes only its own writes. */
  async function attempt(work: Work, consumer: Consumer, event: EventEnvelope, attemptNo: number): Promise<Attempt> {
    const check = schemas.check(event);
    if (!check.ok) return { kind: 'failed', error: `schema: ${check.reason}`, permanent: true };
    const handler = consumer.handlers[event.eventType];
    const { trx, pending } = work;
    if (!handler) return (await store.markHandled(trx, consumer.name, event.eventId, 'ignored', attemptNo, work.now)) ? { kind: 'ignored' } : { kind: 'duplicate' };
    await store.savepoint(trx, 'savepoint');
    const mark = pending.length;
    const callbacksMark = work.afterCommit.length;
    const started = performance.now();
    try {
      if (!(await store.markHandled(trx, consumer.name, event.eventId, 'handled', attemptNo, work.now))) {
        await store.savepoint(trx, 'release savepoint');
        return { kind: 'duplicate' };
      }
      await handler(event, handlerContext(work, consumer, event, attemptNo));
      await store.savepoint(trx, 'release savepoint');
      logHandled(consumer, event, attemptNo);
      return { kind: 'handled' };
    } catch (error) {
      await store.savepoint(trx, 'rollback to savepoint');
      await store.savepoint(trx, 'release savepoint');
      pending.length = mark;
      work.afterCommit.length = callbacksMark;
      metrics.eventsFailed.inc({ event_type: event.eventType, consumer: consumer.name });
      eventLogger(consumer, event).warn({ attempt: attemptNo, err: error }, 'handler failed');
      return { kind: 'failed', error: describeError(error), permanent: false };
    } finally {
      metrics.handlerDuration.observe({ consumer: consumer.name, event_type: event.eventType }, (performance.now() - started) / 1000);
    }
  }

  /** Records a first failure: retrying with a timer, or dead at once when retrying cannot help. */
  async function recordNewFailure(work: Work, consumer: Consumer, partition: number, event: EventEnvelope, failed: { error: string; permanent: boolean }): Promise<string> {
    const id = ids.next();
    const dead = failed.permanent || retry.maxRetries === 0;
    const nextAt = dead ? null : work.now + retryDelay(retry, 1, random);
    const row: FailedDeliveryRow = {
      id,
      consumer: consumer.name,
      partition,
      event_id: event.eventId,
      sequence: event.sequence ?? 0,
      event_type: event.eventType,
      aggregate_id: event.aggregateId,
      status: dead ? 'dead' : 'retrying',
      reason: failed.permanent ? 'schema' : 'handler',
      attempts: 1,
      last_error: failed.error,
      history: JSON.stringify([{ attempt: 1, at: work.now, error: failed.error, retryAt: nextAt }]),
      first_failed_at: work.now,
      last_failed_at: work.now,
      next_attempt_at: nextAt,
      resolved_at: null,
    };
    await store.insertFailure(work.trx, row);
    if (nextAt !== null) await scheduleRetry(work.trx, row, nextAt);
    if (dead) deadLettered(consumer, event, failed.error);
    return id;
  }

  function deadLettered(consumer: Consumer, event: EventEnvelope, error: string): void {
    metrics.eventsDeadLettered.inc({ event_type: event.eventType, consumer: consumer.name });
    eventLogger(consumer, event).error({ error }, 'event dead-lettered');
  }

  async function scheduleRetry(trx: Trx, row: Pick<FailedDeliveryRow, 'consumer' | 'partition' | 'event_id'>, dueAt: number): Promise<void> {
    await timers.schedule(trx as Transaction<unknown>, {
      key: `${RETRY_TIMER}:${row.consumer}:${row.event_id}`,
      kind: RETRY_TIMER,
      dueAt,
      payload: { consumer: row.consumer, partition: row.partition, eventId: row.event_id },
    }, dueAt);
  }

  /**
   * The common case, in as few statements as possible: one inbox insert for the batch and no
   * savepoints. A handler that throws aborts the whole transaction (FastPathAborted), and the
   * batch is run again event by event under savepoints.
   */
  async function deliverFast(work: Work, consumer: Consumer, partition: number, events: readonly EventEnvelope[], blocked: Map<string, string>): Promise<DeliveryOutcome[]> {
    const outcomes: DeliveryOutcome[] = new Array(events.length);
    const runnable: number[] = [];
    for (const [i, event] of events.entries()) {
      const blocker = blocked.get(event.aggregateId);
      const check = blocker ? undefined : schemas.check(event);
      if (blocker) {
        await store.park(work.trx, consumer.name, partition, event, blocker, work.now);
        outcomes[i] = 'parked';
      } else if (check && !check.ok) {
        blocked.set(event.aggregateId, await recordNewFailure(work, consumer, partition, event, { error: `schema: ${check.reason}`, permanent: true }));
        outcomes[i] = 'dead';
      } else runnable.push(i);
    }
    const fresh = await store.markHandledMany(work.trx, consumer.name, runnable.map((i) => events[i]!.eventId), work.now);
    for (const i of runnable) {
      const event = events[i]!;
      if (!fresh.has(event.eventId)) {
        outcomes[i] = 'duplicate';
        continue;
      }
      const handler = consumer.handlers[event.eventType];
      if (!handler) {
        outcomes[i] = 'ignored';
        continue;
      }
      const started = performance.now();
      try {
        await handler(event, handlerContext(work, consumer, event, 1));
      } catch (error) {
        throw new FastPathAborted(error);
      } finally {
        metrics.handlerDuration.observe({ consumer: consumer.name, event_type: event.eventType }, (performance.now() - started) / 1000);
      }
      outcomes[i] = 'handled';
      logHandled(consumer, event, 1);
    }
    return outcomes;
  }

  /** Each event under its own savepoint: a failing handler undoes only its own writes. */
  async function deliverCarefully(work: Work, consumer: Consumer, partition: number, events: readonly EventEnvelope[], blocked: Map<string, string>): Promise<DeliveryOutcome[]> {
    const outcomes: DeliveryOutcome[] = [];
    for (const event of events) {
      const blocker = blocked.get(event.aggregateId);
      if (blocker) {
        await store.park(work.trx, consumer.name, partition, event, blocker, work.now);
        outcomes.push('parked');
        continue;
      }
      const result = await attempt(work, consumer, event, 1);
      if (result.kind === 'failed') {
        blocked.set(event.aggregateId, await recordNewFailure(work, consumer, partition, event, result));
        outcomes.push(result.permanent ? 'dead' : 'failed');
      } else outcomes.push(result.kind);
    }
    return outcomes;
  }

  /** Delivers the parked events of an aggregate in order, until one fails and blocks the rest again. */
  async function releaseParked(work: Work, consumer: Consumer, partition: number, aggregateId: string): Promise<void> {
    for (const parked of await store.parkedFor(work.trx, consumer.name, aggregateId)) {
      await store.unpark(work.trx, consumer.name, parked.event_id);
      const event = await log.get(parked.event_id, work.trx as unknown as Kysely<EventLogTables>);
      if (!event) continue;
      const result = await attempt(work, consumer, event, 1);
      metrics.eventsDelivered.inc({ event_type: event.eventType, consumer: consumer.name, outcome: result.kind });
      if (result.kind === 'failed') {
        const failureId = await recordNewFailure(work, consumer, partition, event, result);
        await store.repointParked(work.trx, consumer.name, aggregateId, failureId);
        return;
      }
    }
  }

  /** Runs `body` in a transaction holding the (consumer, partition) lock, then appends what it emitted. */
  async function inTransaction<T>(consumer: string, partition: number, body: (work: Work, position: number | undefined) => Promise<T>): Promise<{ value: T; appended: EventEnvelope[] }> {
    const afterCommit: (() => void)[] = [];
    const result = await db.transaction().execute(async (trx) => {
      afterCommit.length = 0;
      const work: Work = { trx, pending: [], afterCommit, now: clock.now() };
      const position = await store.lockCheckpoint(trx, consumer, partition);
      const value = await body(work, position);
      const appended = await log.append(trx as never, work.pending);
      return { value, appended };
    });
    for (const event of result.appended) metrics.eventsAppended.inc({ event_type: event.eventType });
    for (const callback of afterCommit) callback();
    return result;
  }

  return {
    consumers: () => [...consumers.values()],

    /** Makes sure every consumer has its checkpoint row (partition 0 unless told otherwise). */
    async register(partitions = 1): Promise<void> {
      await db.transaction().execute(async (trx) => {
        for (const consumer of consumers.values()) {
          for (let p = 0; p < partitions; p++) await store.ensureCheckpoint(trx, consumer.name, p, clock.now());
        }
      });
    },

    /**
     * Delivers a batch of events to one consumer in one transaction (group commit). With
     * `expectedPosition`, the checkpoint must still be there and moves to the batch's last event.
     */
    async deliver(consumerName: string, events: readonly EventEnvelope[], options: { partition?: number; expectedPosition?: number } = {}): Promise<BatchResult> {
      const consumer = consumerNamed(consumerName);
      const partition = options.partition ?? 0;
      if (events.length === 0) return { stale: false, outcomes: [], appended: [] };
      const run = (fast: boolean) =>
        inTransaction(consumer.name, partition, async (work, position) => {
          if (options.expectedPosition !== undefined && position !== options.expectedPosition) return undefined;
          const blocked = await store.blockedAggregates(work.trx, consumer.name, [...new Set(events.map((e) => e.aggregateId))]);
          const outcomes = fast ? await deliverFast(work, consumer, partition, events, blocked) : await deliverCarefully(work, consumer, partition, events, blocked);
          const last = events[events.length - 1]!.sequence;
          if (options.expectedPosition !== undefined && last !== undefined) await store.advanceCheckpoint(work.trx, consumer.name, partition, last, work.now);
          return outcomes;
        });
      let result: Awaited<ReturnType<typeof run>>;
      try {
        result = await run(true);
      } catch (error) {
        if (!(error instanceof FastPathAborted)) throw error;
        result = await run(false);
      }
      const { value, appended } = result;
      if (!value) return { stale: true, outcomes: [], appended: [] };
      events.forEach((e, i) => metrics.eventsDelivered.inc({ event_type: e.eventType, consumer: consumer.name, outcome: value[i]! }));
      return { stale: false, outcomes: value, appended };
    },

    /** Fires a retry timer: claims it and retries the failed delivery it names; returns what it emitted. */
    async retryFailed(timerKey: string): Promise<EventEnvelope[]> {
      const timer = await timers.get(timerKey);
      if (!timer) return [];
      const { consumer: consumerName, partition, eventId } = timer.payload as { consumer: string; partition: number; eventId: string };
      const consumer = consumerNamed(consumerName);
      const { appended } = await inTransaction(consumer.name, partition, async (work) => {
        if (!(await timers.claim(work.trx as Transaction<unknown>, timerKey, work.now))) return;
        const failure = await work.trx.selectFrom('failed_deliveries').selectAll().where('consumer', '=', consumer.name).where('event_id', '=', eventId).executeTakeFirst();
        if (!failure || failure.status !== 'retrying') return;
        const event = await log.get(eventId, work.trx as unknown as Kysely<EventLogTables>);
        if (!event) throw new AppError('internal', 'EVENT_MISSING', `failed delivery ${failure.id} names unknown event ${eventId}`);
        const attemptNo = failure.attempts + 1;
        const result = await attempt(work, consumer, event, attemptNo);
        metrics.eventsDelivered.inc({ event_type: event.eventType, consumer: consumer.name, outcome: result.kind });
        if (result.kind !== 'failed') {
          await store.deleteFailure(work.trx, failure.id);
          await releaseParked(work, consumer, partition, event.aggregateId);
          return;
        }
        const dead = result.permanent || attemptNo > retry.maxRetries;
        const nextAt = dead ? null : work.now + retryDelay(retry, attemptNo, random);
        const history = [...(JSON.parse(failure.history) as unknown[]), { attempt: attemptNo, at: work.now, error: result.error, retryAt: nextAt }];
        await store.updateFailure(work.trx, failure.id, {
          status: dead ? 'dead' : 'retrying',
          attempts: attemptNo,
          last_error: result.error,
          history: JSON.stringify(history),
          last_failed_at: work.now,
          next_attempt_at: nextAt,
        });
        if (nextAt !== null) await scheduleRetry(work.trx, failure, nextAt);
        else deadLettered(consumer, event, result.error);
      });
      return appended;
    },

    /** Sends a dead letter back to its consumer for a fresh round of attempts. */
    async redrive(failureId: string): Promise<void> {
      const failure = await findFailure(failureId);
      await inTransaction(failure.consumer, failure.partition, async (work) => {
        const current = await store.failureById(work.trx, failureId);
        if (!current || current.status !== 'dead') throw new AppError('conflict', 'DEAD_LETTER_NOT_OPEN', `dead letter ${failureId} is ${current?.status ?? 'gone'}`);
        await store.updateFailure(work.trx, failureId, { status: 'retrying', attempts: 0, next_attempt_at: work.now });
        await scheduleRetry(work.trx, current, work.now);
      });
    },

    /** Gives up on a failed delivery and releases the events parked behind it. */
    async discard(failureId: string): Promise<EventEnvelope[]> {
      const failure = await findFailure(failureId);
      const consumer = consumerNamed(failure.consumer);
      const { appended } = await inTransaction(consumer.name, failure.partition, async (work) => {
        const current = await store.failureById(work.trx, failureId);
        if (!current || current.status === 'discarded') throw new AppError('conflict', 'DEAD_LETTER_NOT_OPEN', `dead letter ${failureId} is ${current?.status ?? 'gone'}`);
        await store.updateFailure(work.trx, failureId, { status: 'discarded', resolved_at: work.now, next_attempt_at: null });
        await timers.cancel(work.trx as Transaction<unknown>, `${RETRY_TIMER}:${current.consumer}:${current.event_id}`);
        await store.markHandled(work.trx, consumer.name, current.event_id, 'discarded', current.attempts, work.now);
        await releaseParked(work, consumer, current.partition, current.aggregate_id);
      });
      return appended;
    },
  };

  async function findFailure(id: string): Promise<FailedDeliveryRow> {
    const row = await db.selectFrom('failed_deliveries').selectAll().where('id', '=', id).executeTakeFirst();
    if (!row) throw new AppError('not_found', 'DEAD_LETTER_NOT_FOUND', `no dead letter ${id}`);
    return row;
  }
}

export type Dispatcher = ReturnType<typeof createDispatcher>;
