import type { Kysely, Transaction } from 'kysely';
import type { Logger } from 'pino';
import type { Clock, Random } from '../../kernel/clock.js';
import type { EventEnvelope } from '../../kernel/envelope.js';
import { describeError } from '../../kernel/errors.js';
import type { EventSchemas } from '../../kernel/event-schemas.js';
import type { IdGenerator } from '../../kernel/ids.js';
import type { EventLog, EventLogTables } from '../log/event-log.js';
import { createTxContext } from '../log/tx-context.js';
import type { EngineMetrics } from '../observability/metrics.js';
import { tracingOff, type TraceSpan, type Tracing } from '../observability/tracing.js';
import { retryDelay, type Consumer, type HandlerContext, type RetryPolicy } from './consumer.js';
import type { DeliveryStore, DeliveryTables, FailedDeliveryRow } from './delivery-store.js';
import type { TimerStore } from './timers.js';

export const RETRY_TIMER = 'delivery.retry';

/** The timer kind of a consumer's retries: only a process that runs the consumer fires them. */
export function retryTimerKind(consumer: string): string {
  return `${RETRY_TIMER}:${consumer}`;
}

/** Where a delivery ended: handled, a duplicate, parked behind a failure, or failed. */
export type DeliveryOutcome = 'handled' | 'duplicate' | 'parked' | 'ignored' | 'failed' | 'dead';

/** The partition a batch's events belong to: one for the whole batch, or each event's own (a batch of several partitions). */
export type PartitionOf = number | ((event: EventEnvelope) => number);

function partitionOf(partitions: PartitionOf, event: EventEnvelope): number {
  return typeof partitions === 'number' ? partitions : partitions(event);
}

type Trx = Transaction<DeliveryTables>;

/** Thrown out of the fast path to roll its transaction back; the batch is then run carefully. */
export class FastPathAborted extends Error {
  constructor(readonly original: unknown) {
    super('a handler failed in the fast path');
  }
}

/**
 * A conflict between concurrent transactions (PostgreSQL: deadlock detected, serialization
 * failure). It is no fault of the handler: the whole transaction is rolled back, releasing
 * every lock it took, and run again. Recording it as the handler's failure would keep those
 * locks (a savepoint only undoes the last event) and let the same peer deadlock with the
 * next event of the batch, a second each.
 */
export function isTransactionConflict(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === '40P01' || code === '40001';
}

export type Attempt = { kind: 'handled' | 'duplicate' | 'ignored' } | { kind: 'failed'; error: string; permanent: boolean };

/** The part of a write that happens inside one transaction: its emitted events and after-commit callbacks. */
export interface Work {
  trx: Trx;
  pending: EventEnvelope[];
  afterCommit: (() => void)[];
  now: number;
}

export interface HandlerRunnerDeps {
  store: DeliveryStore;
  log: EventLog;
  timers: TimerStore;
  schemas: EventSchemas;
  ids: IdGenerator;
  clock: Clock;
  random: Random;
  retry: RetryPolicy;
  logger: Logger;
  metrics: EngineMetrics;
  tracing?: Tracing;
}

/**
 * Runs handlers inside a delivery transaction: the batch fast path, the careful path with a
 * savepoint per event, failure records with their retry timers, and the release of parked
 * events. The dispatcher decides when; this decides how.
 */
export function createHandlerRunner(deps: HandlerRunnerDeps) {
  const { store, log, timers, schemas, ids, clock, random, retry, logger, metrics } = deps;
  const tracing = deps.tracing ?? tracingOff;

  function handlerContext(work: Work, consumer: Consumer, event: EventEnvelope, attemptNo: number, span?: TraceSpan): HandlerContext {
    const tx = createTxContext({ trx: work.trx, pending: work.pending, afterCommit: work.afterCommit, source: consumer.source, cause: event, timers, ids, clock, traceparent: span?.traceparent });
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

  /**
   * A handled event as a span in the event's own trace, child of the span that appended it (in
   * whichever process); the events the handler emits carry this span's context. None when
   * tracing is off.
   */
  function startHandlerSpan(consumer: Consumer, event: EventEnvelope, attemptNo: number): TraceSpan | undefined {
    if (!tracing.enabled) return undefined;
    const orderId = event.aggregateType === 'Order' ? event.aggregateId : (event.payload as { orderId?: unknown }).orderId;
    return tracing.startSpan(`handle ${event.eventType}`, {
      kind: 'consumer',
      parent: event.metadata?.traceparent ?? null,
      attributes: {
        'messaging.operation.type': 'process',
        'messaging.destination.name': event.eventType,
        'messaging.message.id': event.eventId,
        'orderflow.consumer': consumer.name,
        'orderflow.event_type': event.eventType,
        'orderflow.aggregate_id': event.aggregateId,
        'orderflow.attempt': attemptNo,
        'orderflow.correlation_id': event.correlationId,
        'orderflow.order_id': typeof orderId === 'string' ? orderId : undefined,
      },
    });
  }

  /** Runs a handler with its span active (log lines carry its trace and span ids). */
  function inSpan(span: TraceSpan | undefined, body: () => Promise<void>): Promise<void> {
    return span ? tracing.withSpan(span, body) : body();
  }

  function endHandlerSpan(span: TraceSpan | undefined, error?: unknown): void {
    if (!span) return;
    if (error === undefined) span.setAttributes({ 'orderflow.outcome': 'handled' });
    else {
      span.setAttributes({ 'orderflow.outcome': 'failed' });
      span.fail(error);
    }
    span.end();
  }

  function logHandled(consumer: Consumer, event: EventEnvelope, attemptNo: number): void {
    if (logger.isLevelEnabled('debug')) eventLogger(consumer, event).debug({ attempt: attemptNo }, 'event handled');
  }

  /** Runs one handler under a savepoint, so its failure undoes only its own writes. */
  async function attempt(work: Work, consumer: Consumer, stored: EventEnvelope, attemptNo: number): Promise<Attempt> {
    // As stored, then in the current version of its type; a failure is permanent.
    const read = schemas.read(stored);
    if (!read.ok) return { kind: 'failed', error: `schema: ${read.reason}`, permanent: true };
    const event = read.event;
    const handler = consumer.handlers[event.eventType];
    const { trx, pending } = work;
    if (!handler) return (await store.markHandled(trx, consumer.name, event.eventId, 'ignored', attemptNo, work.now)) ? { kind: 'ignored' } : { kind: 'duplicate' };
    await store.savepoint(trx, 'savepoint');
    const mark = pending.length;
    const callbacksMark = work.afterCommit.length;
    const started = performance.now();
    let span: TraceSpan | undefined;
    try {
      if (!(await store.markHandled(trx, consumer.name, event.eventId, 'handled', attemptNo, work.now))) {
        await store.savepoint(trx, 'release savepoint');
        return { kind: 'duplicate' };
      }
      span = startHandlerSpan(consumer, event, attemptNo);
      await inSpan(span, () => handler(event, handlerContext(work, consumer, event, attemptNo, span)));
      endHandlerSpan(span);
      span = undefined;
      await store.savepoint(trx, 'release savepoint');
      logHandled(consumer, event, attemptNo);
      return { kind: 'handled' };
    } catch (error) {
      endHandlerSpan(span, error);
      if (isTransactionConflict(error)) throw error;
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
      kind: retryTimerKind(row.consumer),
      dueAt,
      payload: { consumer: row.consumer, partition: row.partition, eventId: row.event_id },
    }, dueAt);
  }

  /**
   * The common case, in as few statements as possible: the batch's inbox records made by its
   * claim (`recorded`, PostgreSQL) or one insert, and no savepoints. A handler that throws aborts the whole transaction (FastPathAborted), and the
   * batch is run again event by event under savepoints.
   */
  async function deliverFast(work: Work, consumer: Consumer, partitions: PartitionOf, events: readonly EventEnvelope[], blocked: Map<string, string>, recorded?: ReadonlySet<string>): Promise<DeliveryOutcome[]> {
    const outcomes: DeliveryOutcome[] = new Array(events.length);
    const runnable: number[] = [];
    // What the handlers get: each event in the current version of its type.
    const current: EventEnvelope[] = new Array(events.length);
    for (const [i, event] of events.entries()) {
      const blocker = blocked.get(event.aggregateId);
      const read = blocker ? undefined : schemas.read(event);
      if (blocker) {
        await store.park(work.trx, consumer.name, partitionOf(partitions, event), event, blocker, work.now);
        outcomes[i] = 'parked';
      } else if (read && !read.ok) {
        // Recorded with the claim (`recorded`), but not handled: a re-drive must find it unrecorded.
        if (recorded?.has(event.eventId)) await store.unmarkHandled(work.trx, consumer.name, event.eventId);
        blocked.set(event.aggregateId, await recordNewFailure(work, consumer, partitionOf(partitions, event), event, { error: `schema: ${read.reason}`, permanent: true }));
        outcomes[i] = 'dead';
      } else {
        current[i] = read!.ok ? read!.event : event;
        runnable.push(i);
      }
    }
    // Recorded in the inbox by the claim already (`claimAndRecord`, nothing parked then), or now.
    const fresh = recorded ?? (await store.markHandledMany(work.trx, consumer.name, runnable.map((i) => events[i]!.eventId), work.now));
    const handled: number[] = [];
    for (const i of runnable) {
      const event = events[i]!;
      if (!fresh.has(event.eventId)) outcomes[i] = 'duplicate';
      else if (!consumer.handlers[event.eventType]) outcomes[i] = 'ignored';
      else handled.push(i);
    }
    if (consumer.handleBatch && handled.length > 0) await runBatchHandler(work, consumer, handled.map((i) => current[i]!));
    else if (handled.length > 0) {
      const done = consumer.prepareBatch ? await prepare(work, consumer, handled.map((i) => current[i]!)) : undefined;
      try {
        for (const i of handled) await runFast(work, consumer, current[i]!);
      } finally {
        done?.();
      }
    }
    for (const i of handled) {
      outcomes[i] = 'handled';
      logHandled(consumer, events[i]!, 1);
    }
    return outcomes;
  }

  /** The consumer's `prepareBatch`; a failure aborts the fast path as a handler's would. */
  async function prepare(work: Work, consumer: Consumer, events: readonly EventEnvelope[]): Promise<(() => void) | undefined> {
    try {
      return (await consumer.prepareBatch!(events, handlerContext(work, consumer, events[0]!, 1))) ?? undefined;
    } catch (error) {
      if (isTransactionConflict(error)) throw error;
      throw new FastPathAborted(error);
    }
  }

  /** One handler in the fast path: a failure aborts the transaction (see deliverFast). */
  async function runFast(work: Work, consumer: Consumer, event: EventEnvelope): Promise<void> {
    const started = performance.now();
    const span = startHandlerSpan(consumer, event, 1);
    try {
      if (!span) await consumer.handlers[event.eventType]!(event, handlerContext(work, consumer, event, 1));
      else {
        await tracing.withSpan(span, () => consumer.handlers[event.eventType]!(event, handlerContext(work, consumer, event, 1, span)));
        endHandlerSpan(span);
      }
    } catch (error) {
      endHandlerSpan(span, error);
      if (isTransactionConflict(error)) throw error;
      throw new FastPathAborted(error);
    } finally {
      metrics.handlerDuration.observe({ consumer: consumer.name, event_type: event.eventType }, (performance.now() - started) / 1000);
    }
  }

  /** The consumer's batch handler over the fresh events; each event is charged its share of the time. */
  async function runBatchHandler(work: Work, consumer: Consumer, events: readonly EventEnvelope[]): Promise<void> {
    const started = performance.now();
    // One span per event, in each event's trace; what the batch emits follows the last one.
    const spans = tracing.enabled ? events.map((event) => startHandlerSpan(consumer, event, 1)) : [];
    const last = spans[spans.length - 1];
    try {
      await inSpan(last, () => consumer.handleBatch!(events, handlerContext(work, consumer, events[events.length - 1]!, 1, last)));
      for (const span of spans) endHandlerSpan(span);
    } catch (error) {
      for (const span of spans) endHandlerSpan(span, error);
      if (isTransactionConflict(error)) throw error;
      throw new FastPathAborted(error);
    } finally {
      const share = (performance.now() - started) / 1000 / events.length;
      for (const event of events) metrics.handlerDuration.observe({ consumer: consumer.name, event_type: event.eventType }, share);
    }
  }

  /** Each event under its own savepoint: a failing handler undoes only its own writes. */
  async function deliverCarefully(work: Work, consumer: Consumer, partitions: PartitionOf, events: readonly EventEnvelope[], blocked: Map<string, string>): Promise<DeliveryOutcome[]> {
    const outcomes: DeliveryOutcome[] = [];
    for (const event of events) {
      const blocker = blocked.get(event.aggregateId);
      if (blocker) {
        await store.park(work.trx, consumer.name, partitionOf(partitions, event), event, blocker, work.now);
        outcomes.push('parked');
        continue;
      }
      const result = await attempt(work, consumer, event, 1);
      if (result.kind === 'failed') {
        blocked.set(event.aggregateId, await recordNewFailure(work, consumer, partitionOf(partitions, event), event, result));
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

  return { attempt, deliverFast, deliverCarefully, recordNewFailure, scheduleRetry, deadLettered, releaseParked };
}

export type HandlerRunner = ReturnType<typeof createHandlerRunner>;
