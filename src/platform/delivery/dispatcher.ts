import type { Kysely, Transaction } from 'kysely';
import type { Logger } from 'pino';
import type { Clock, Random } from '../../kernel/clock.js';
import type { EventEnvelope } from '../../kernel/envelope.js';
import { AppError } from '../../kernel/errors.js';
import type { EventSchemas } from '../../kernel/event-schemas.js';
import type { IdGenerator } from '../../kernel/ids.js';
import type { EventLog, EventLogTables } from '../log/event-log.js';
import type { JoinedGroup } from '../log/unit-of-work.js';
import type { EngineMetrics } from '../observability/metrics.js';
import type { DialectName } from '../storage/database.js';
import { savepointCommand } from '../storage/statements.js';
import { retryDelay, type Consumer, type RetryPolicy } from './consumer.js';
import { createDeliveryStore, type DeliveryTables, type FailedDeliveryRow } from './delivery-store.js';
import type { TimerStore } from './timers.js';

import { tracingOff, type Tracing } from '../observability/tracing.js';
import { createHandlerRunner, FastPathAborted, isTransactionConflict, RETRY_TIMER, retryTimerKind, type DeliveryOutcome, type PartitionOf, type Work } from './handler-runner.js';

/** Thrown inside a delivery transaction to roll it back when its fence (the partition lease) fell meanwhile. */
class FenceLost extends Error {
  constructor() {
    super('the partition lease was lost while the delivery transaction ran');
  }
}

/** Times a delivery transaction that lost a deadlock is run again before the error goes to the caller. */
const MAX_CONFLICT_RETRIES = 5;

export { RETRY_TIMER, retryTimerKind, type DeliveryOutcome };

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
  tracing?: Tracing;
}

/** Claimed checkpoints: whether the consumer has an open failure, and the batch's events the claim recorded in the inbox (none with one open). */
interface Claimed {
  blocking: boolean;
  recorded?: ReadonlySet<string>;
}

/**
 * Runs other work waiting for a commit inside a round's transaction, before its batches (the
 * unit of work's grouped placements, `UnitOfWork.joinGroup`): one commit serves both.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type JoinRound = (trx: Transaction<any>) => Promise<JoinedGroup | undefined>;

/** What a round may do besides its batches (`deliverRound`). */
export interface RoundOptions {
  /** Asked between two batches with the milliseconds since the round's transaction began: true ends the round there. */
  endEarly?: ((heldMs: number) => boolean) | undefined;
  joinRound?: JoinRound | undefined;
  /** Asked after each pass: more batches for the same transaction (none: the round commits). */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  nextPass?: ((trx: Transaction<any>, pass: RoundPass) => Promise<readonly RoundBatch[]>) | undefined;
}

/** A pass of a round as `nextPass` sees it, before the commit. */
export interface RoundPass {
  batches: readonly RoundBatch[];
  results: readonly BatchResult[];
  /** The events the work taken in by `joinRound` appended since the previous pass (uncommitted). */
  joined: readonly EventEnvelope[];
  heldMs: number;
}

/** A consumer's batch in a round (`deliverRound`): its events after the checkpoint it read. */
export interface RoundBatch {
  consumer: string;
  events: readonly EventEnvelope[];
  expectedPosition: number;
}

/** A partition's batch for `deliverPartitions`: its events after the checkpoint its reader saw. */
export interface PartitionBatch {
  partition: number;
  expectedPosition: number;
  events: readonly EventEnvelope[];
}

/** What `deliverPartitions` did: the partitions left out (their checkpoint had moved), and the events the handlers emitted. */
export interface PartitionsResult {
  stale: Set<number>;
  appended: EventEnvelope[];
}

export interface BatchResult {
  /** True when another worker moved the checkpoint first; nothing was applied. */
  stale: boolean;
  outcomes: DeliveryOutcome[];
  /** Events the handlers emitted, as appended. */
  appended: EventEnvelope[];
  /** Left out of its round (`deliverRound`'s `endEarly`): nothing was applied, the checkpoint did not move. */
  deferred?: boolean;
}

/**
 * Runs consumers' handlers with exactly-once effect: each event's handler, its inbox record
 * and the events it emits commit together; a failing handler is retried with backoff, then
 * dead-lettered, and later events of its aggregate wait (parked) until it is resolved.
 */
export function createDispatcher(deps: DispatcherDeps) {
  const { db, log, timers, schemas, ids, clock, random, retry, logger, metrics } = deps;
  const tracing = deps.tracing ?? tracingOff;
  const store = createDeliveryStore(deps.dialect);
  const runner = createHandlerRunner({ store, log, timers, schemas, ids, clock, random, retry, logger, metrics, tracing });
  const { attempt, deliverFast, deliverCarefully, scheduleRetry, deadLettered, releaseParked } = runner;
  const consumers = new Map(deps.consumers.map((c) => [c.name, c]));

  function consumerNamed(name: string): Consumer {
    const consumer = consumers.get(name);
    if (!consumer) throw new AppError('not_found', 'CONSUMER_NOT_FOUND', `no consumer named ${name}`);
    return consumer;
  }

  /**
   * Runs `body` in a transaction holding the (consumer, partition) lock, then appends what it
   * emitted. With `fence`, the transaction commits only if the fence still holds at its very
   * end: a process paused mid-transaction past its partition lease wakes up to roll back.
   */
  async function inTransaction<T>(consumer: string, partition: number, body: (work: Work, position: number | undefined) => Promise<T>, fence?: () => boolean): Promise<{ value: T; appended: EventEnvelope[] }> {
    return inTransactionFrom(consumer, partition, (trx) => store.lockCheckpoint(trx, consumer, partition), body, fence);
  }

  /** `inTransaction` whose first statement is `begin`'s: it takes the (consumer, partition) lock and answers what `body` is given. */
  async function inTransactionFrom<S, T>(consumer: string, partition: number, begin: (trx: Work['trx']) => Promise<S>, body: (work: Work, started: S) => Promise<T>, fence?: () => boolean): Promise<{ value: T; appended: EventEnvelope[] }> {
    const afterCommit: (() => void)[] = [];
    const { value, sent } = await db.transaction().execute(async (trx) => {
      afterCommit.length = 0;
      const work: Work = { trx, pending: [], afterCommit, now: clock.now() };
      const value = await body(work, await begin(trx));
      // The commit goes out right behind the insert; if that failed, the commit fails with its error.
      const sent = await log.sendAppend(trx as never, work.pending);
      if (fence && !fence()) throw new FenceLost();
      return { value, sent };
    });
    const appended = await sent.appended;
    for (const event of appended) metrics.eventsAppended.inc({ event_type: event.eventType });
    for (const callback of afterCommit) callback();
    return { value, appended };
  }

  /** One consumer's batch inside an open transaction: checkpoint check, handlers, checkpoint move. Undefined when stale. */
  async function handleBatch(work: Work, position: number | undefined, consumer: Consumer, partition: PartitionOf, events: readonly EventEnvelope[], expectedPosition: number | undefined, fast: boolean, claimed?: Claimed) {
    if (!claimed && expectedPosition !== undefined && position !== expectedPosition) return undefined;
    // Handed events the checkpoint has passed (a caller other than the transport): they were
    // handled, and their inbox records may be pruned already — duplicates.
    const behind = expectedPosition === undefined && position !== undefined && position > 0 ? (e: EventEnvelope) => e.sequence !== undefined && e.sequence <= position : undefined;
    const fresh = behind ? events.filter((e) => !behind(e)) : events;
    const blocked = await store.blockedAggregates(work.trx, consumer.name, [...new Set(fresh.map((e) => e.aggregateId))], claimed?.blocking);
    const deliver = () => (fast ? deliverFast(work, consumer, partition, fresh, blocked, claimed?.recorded) : deliverCarefully(work, consumer, partition, fresh, blocked));
    const handled = fresh.length === 0 ? [] : tracing.enabled ? await tracedBatch(consumer, partition, fresh, fast, deliver) : await deliver();
    const last = events[events.length - 1]!.sequence;
    // A claimed checkpoint moved first thing in the transaction (`claimAndRecord`).
    if (!claimed && typeof partition === 'number' && expectedPosition !== undefined && last !== undefined) await store.advanceCheckpoint(work.trx, consumer.name, partition, last, work.now);
    if (!behind) return handled;
    let next = 0;
    return events.map((e): DeliveryOutcome => (behind(e) ? 'duplicate' : handled[next++]!));
  }

  /**
   * A batch as a span of its own trace (`deliver <consumer>`), linked to the events' traces;
   * each handled event is a span in its event's trace (see the handler runner).
   */
  async function tracedBatch(consumer: Consumer, partition: PartitionOf, events: readonly EventEnvelope[], fast: boolean, deliver: () => Promise<DeliveryOutcome[]>): Promise<DeliveryOutcome[]> {
    const span = tracing.startSpan(`deliver ${consumer.name}`, {
      kind: 'consumer',
      parent: null,
      links: events.map((e) => e.metadata?.traceparent),
      attributes: { 'orderflow.consumer': consumer.name, 'orderflow.partition': typeof partition === 'number' ? partition : undefined, 'messaging.batch.message_count': events.length, 'orderflow.path': fast ? 'fast' : 'careful' },
    });
    try {
      return await deliver();
    } catch (error) {
      span.fail(error);
      throw error;
    } finally {
      span.end();
    }
  }

  /**
   * One consumer's batch of a round, under a savepoint of its own: the fast path, or, when a
   * handler failed in it, the careful path from the savepoint (the other batches stay).
   */
  async function roundBatch(trx: Work['trx'], batch: RoundBatch, afterCommit: (() => void)[]): Promise<{ value: DeliveryOutcome[] | undefined; appended: EventEnvelope[] }> {
    const consumer = consumerNamed(batch.consumer);
    await savepointCommand(trx, 'savepoint round_batch');
    const attempt = async (fast: boolean) => {
      const work: Work = { trx, pending: [], afterCommit: [], now: clock.now() };
      const position = await store.lockCheckpoint(trx, consumer.name, 0);
      return { work, value: await handleBatch(work, position, consumer, 0, batch.events, batch.expectedPosition, fast) };
    };
    let done: Awaited<ReturnType<typeof attempt>>;
    try {
      done = await attempt(true);
    } catch (error) {
      if (!(error instanceof FastPathAborted)) throw error;
      await savepointCommand(trx, 'rollback to savepoint round_batch');
      done = await attempt(false);
    }
    await savepointCommand(trx, 'release savepoint round_batch');
    afterCommit.push(...done.work.afterCommit);
    return { value: done.value, appended: await log.append(trx as never, done.work.pending) };
  }

  /** A batch's result in a round: deferred when the round ended before it, stale when its checkpoint had moved on. */
  function resultOf(batch: RoundBatch, result: { value: DeliveryOutcome[] | undefined; appended: EventEnvelope[] } | undefined): BatchResult {
    if (!result) return { stale: false, outcomes: [], appended: [], ...(batch.events.length > 0 ? { deferred: true } : {}) };
    if (!result.value) return { stale: true, outcomes: [], appended: result.appended };
    return { stale: false, outcomes: result.value, appended: result.appended };
  }

  /**
   * Runs a delivery transaction: the fast path, then the careful path when a handler failed in
   * it; again (up to `MAX_CONFLICT_RETRIES` times) when it lost a deadlock, everything having
   * been rolled back. 'fence lost' when its fence fell while it ran (rolled back).
   */
  async function runDelivery<T>(consumer: Consumer, partition: number, run: (fast: boolean) => Promise<T>): Promise<T | 'fence lost'> {
    for (let conflicts = 0; ; conflicts++) {
      try {
        try {
          return await run(true);
        } catch (error) {
          // A handler failed, or a write sent ahead (`Statement.send`) did and its failure came
          // back with the commit, no handler's own: event by event, the careful path finds whose.
          if (error instanceof FenceLost || isTransactionConflict(error)) throw error;
          return await run(false);
        }
      } catch (error) {
        if (error instanceof FenceLost) return 'fence lost';
        if (!isTransactionConflict(error) || conflicts >= MAX_CONFLICT_RETRIES) throw error;
        logger.debug({ consumer: consumer.name, partition, conflicts: conflicts + 1 }, 'delivery transaction conflicted with another; running it again');
        await new Promise((resolve) => setTimeout(resolve, random() * 50 * (conflicts + 1)));
      }
    }
  }

  /**
   * PostgreSQL: claims the checkpoints of `parts` (`claimAndRecord`); on the fast path the claim
   * also records their events in the inbox, one statement for both. The claimed partitions.
   */
  async function claimPartitions(
    trx: Work['trx'],
    consumer: string,
    parts: readonly { partition: number; expectedPosition: number; events: readonly EventEnvelope[] }[],
    fast: boolean,
  ): Promise<{ claimed: Set<number> } & Claimed> {
    const record = fast ? parts.flatMap((part) => part.events.map((event) => ({ eventId: event.eventId, partition: part.partition }))) : [];
    const claims = parts.map((part) => ({ partition: part.partition, expected: part.expectedPosition, to: part.events[part.events.length - 1]!.sequence! }));
    const { claimed, blocking, fresh } = await store.claimAndRecord(trx, consumer, claims, record, clock.now());
    return { claimed, blocking, ...(fast && fresh ? { recorded: fresh } : {}) };
  }

  const dispatcher = {
    consumers: () => [...consumers.values()],

    /**
     * Makes sure every consumer has its checkpoint row (partition 0 unless told otherwise). Rows
     * that exist are not written to: a delivery transaction in flight in another process holds
     * its checkpoint row changed and uncommitted (PostgreSQL, `claimAndRecord`), and an insert
     * meeting it would wait for that transaction — a process starting beside one paused would hang.
     */
    async register(partitions = 1): Promise<void> {
      const names = [...consumers.keys()];
      if (names.length === 0) return;
      const existing = await db.selectFrom('consumer_checkpoints').select(['consumer', 'partition']).where('consumer', 'in', names).execute();
      const have = new Set(existing.map((row) => `${row.consumer}\u0000${Number(row.partition)}`));
      const missing = names.flatMap((name) => Array.from({ length: partitions }, (_, p) => p).filter((p) => !have.has(`${name}\u0000${p}`)).map((p) => ({ name, p })));
      if (missing.length === 0) return;
      await db.transaction().execute(async (trx) => {
        for (const { name, p } of missing) await store.ensureCheckpoint(trx, name, p, clock.now());
      });
    },

    /**
     * Delivers a batch of events to one consumer in one transaction (group commit). With
     * `expectedPosition`, the checkpoint must still be there and moves to the batch's last event.
     * With `fence`, nothing commits unless it still holds once the work is done (stale otherwise).
     */
    async deliver(consumerName: string, events: readonly EventEnvelope[], options: { partition?: number; expectedPosition?: number; fence?: () => boolean } = {}): Promise<BatchResult> {
      const consumer = consumerNamed(consumerName);
      const partition = options.partition ?? 0;
      if (events.length === 0) return { stale: false, outcomes: [], appended: [] };
      const expected = options.expectedPosition;
      const last = events[events.length - 1]!.sequence;
      // PostgreSQL, where every statement is a round trip: a batch that knows where the
      // checkpoint must be moves it first, in the statement that locks it and looks for failures.
      const claim = deps.dialect === 'postgres' && expected !== undefined && last !== undefined && last > expected;
      const run = (fast: boolean) =>
        claim
          ? inTransactionFrom(
              consumer.name,
              partition,
              (trx) => claimPartitions(trx, consumer.name, [{ partition, expectedPosition: expected, events }], fast),
              (work, claim) => (claim.claimed.has(partition) ? handleBatch(work, expected, consumer, partition, events, expected, fast, claim) : Promise.resolve(undefined)),
              options.fence,
            )
          : inTransaction(consumer.name, partition, (work, position) => handleBatch(work, position, consumer, partition, events, options.expectedPosition, fast), options.fence);
      const result = await runDelivery(consumer, partition, run);
      // The fence fell while the transaction ran (rolled back): as if another worker had moved the checkpoint.
      if (result === 'fence lost') return { stale: true, outcomes: [], appended: [] };
      const { value, appended } = result;
      if (!value) return { stale: true, outcomes: [], appended: [] };
      events.forEach((e, i) => metrics.eventsDelivered.inc({ event_type: e.eventType, consumer: consumer.name, outcome: value[i]! }));
      return { stale: false, outcomes: value, appended };
    },

    /**
     * PostgreSQL: delivers one consumer's batches of several partitions in one transaction, as
     * `deliver` with `expectedPosition` would each: the checkpoints are claimed first, in
     * partition order (a partition whose checkpoint moved meanwhile is left out: stale), then the
     * claimed partitions' events are handled together in log order. One transaction, one commit
     * and its bookkeeping for a round of the consumer instead of one per partition. With `fence`,
     * nothing commits unless it still holds at the end (every partition stale otherwise). Elsewhere
     * each batch goes through `deliver` in turn.
     */
    async deliverPartitions(consumerName: string, batches: readonly PartitionBatch[], options: { fence?: () => boolean } = {}): Promise<PartitionsResult> {
      const consumer = consumerNamed(consumerName);
      const parts = batches.filter((b) => b.events.length > 0 && b.events[b.events.length - 1]!.sequence! > b.expectedPosition).sort((a, b) => a.partition - b.partition);
      if (deps.dialect !== 'postgres' || parts.length < 2) {
        const stale = new Set<number>();
        const appended: EventEnvelope[] = [];
        for (const part of parts) {
          const result = await dispatcher.deliver(consumer.name, part.events, { partition: part.partition, expectedPosition: part.expectedPosition, fence: options.fence });
          if (result.stale) stale.add(part.partition);
          appended.push(...result.appended);
        }
        return { stale, appended };
      }
      const partitionOfEvent = new Map<string, number>();
      for (const part of parts) for (const event of part.events) partitionOfEvent.set(event.eventId, part.partition);
      const partitionOf = (event: EventEnvelope) => partitionOfEvent.get(event.eventId)!;
      const run = (fast: boolean) =>
        inTransactionFrom(
          consumer.name,
          parts[0]!.partition,
          (trx) => claimPartitions(trx, consumer.name, parts, fast),
          async (work, claim) => {
            const { claimed } = claim;
            const events = parts.filter((p) => claimed.has(p.partition)).flatMap((p) => p.events);
            events.sort((a, b) => a.sequence! - b.sequence!);
            const outcomes = events.length === 0 ? [] : ((await handleBatch(work, undefined, consumer, partitionOf, events, 0, fast, claim)) ?? []);
            return { claimed, events, outcomes };
          },
          options.fence,
        );
      const result = await runDelivery(consumer, parts[0]!.partition, run);
      if (result === 'fence lost') return { stale: new Set(parts.map((p) => p.partition)), appended: [] };
      const { claimed, events, outcomes } = result.value;
      events.forEach((e, i) => metrics.eventsDelivered.inc({ event_type: e.eventType, consumer: consumer.name, outcome: outcomes[i]! }));
      return { stale: new Set(parts.filter((p) => !claimed.has(p.partition)).map((p) => p.partition)), appended: result.appended };
    },

    /**
     * Delivers the batches of several consumers in one transaction (one commit, one sync to
     * disk, for a whole round of a single-connection database); each batch as `deliver` with
     * `expectedPosition` would, under a savepoint of its own. Results in the batches' order.
     * When `endEarly`, asked between two batches with the milliseconds since the transaction
     * began, says so, the round commits what it has done and the rest is `deferred` (at least one
     * batch is delivered). `joinRound` runs other waiting work in the same transaction: first,
     * between two batches, and last before the commit.
     * `nextPass`, asked after each pass with its batches and their results (not yet committed),
     * may hand more batches to deliver in the same transaction — the events the pass appended,
     * read back inside it — and the results of every pass are returned, pass after pass.
     */
    async deliverRound(batches: readonly RoundBatch[], options: RoundOptions = {}): Promise<BatchResult[]> {
      const { endEarly, joinRound, nextPass } = options;
      const first = batches.filter((b) => b.events.length > 0);
      if (first.length === 0) return batches.map(() => ({ stale: false, outcomes: [], appended: [] }));
      const afterCommit: (() => void)[] = [];
      /** The groups of waiting work the round took in (`joinRound`): they commit or fail with it. */
      const joined: JoinedGroup[] = [];
      /** What the groups taken in since the last pass appended (`RoundPass.joined`). */
      let joinedSince: EventEnvelope[] = [];
      const join = async (trx: Transaction<DeliveryTables>) => {
        const group = await joinRound?.(trx);
        if (!group) return;
        joined.push(group);
        joinedSince.push(...group.appended);
      };
      /** Every pass's batches, in order: the first pass's are the ones given (empty ones included). */
      const delivered: RoundBatch[] = [];
      let results: Map<RoundBatch, { value: DeliveryOutcome[] | undefined; appended: EventEnvelope[] }>;
      /** The results already handed to `nextPass`, kept for the answer. */
      const settled = new Map<RoundBatch, BatchResult>();
      try {
        results = await db.transaction().execute(async (trx) => {
          afterCommit.length = 0;
          delivered.length = 0;
          settled.clear();
          joined.length = 0;
          joinedSince = [];
          const began = performance.now();
          // Other writes waiting for a commit (placements) go first, and commit with the round;
          // those that arrive meanwhile are taken in between two batches, and before the commit.
          await join(trx);
          const out = new Map<RoundBatch, { value: DeliveryOutcome[] | undefined; appended: EventEnvelope[] }>();
          let pass: readonly RoundBatch[] = batches;
          while (pass.length > 0) {
            delivered.push(...pass);
            for (const batch of pass) {
              if (batch.events.length === 0) continue;
              if (out.size > 0) {
                if (endEarly?.(performance.now() - began)) break;
                await join(trx);
              }
              out.set(batch, await roundBatch(trx, batch, afterCommit));
            }
            if (!nextPass) break;
            const passResults = pass.map((batch) => resultOf(batch, out.get(batch)));
            pass.forEach((batch, i) => settled.set(batch, passResults[i]!));
            const joinedNow = joinedSince;
            joinedSince = [];
            pass = (await nextPass(trx, { batches: pass, results: passResults, joined: joinedNow, heldMs: performance.now() - began })).filter((b) => b.events.length > 0);
          }
          await join(trx);
          return out;
        });
      } catch (error) {
        for (const group of joined) group.failed(error);
        throw error;
      }
      for (const group of joined) group.committed();
      for (const callback of afterCommit) callback();
      // Counted once per label set and round, not once per event (a counter's labels are hashed on every call).
      const appendedByType = new Map<string, number>();
      const deliveredBy = new Map<string, { event_type: string; consumer: string; outcome: DeliveryOutcome; n: number }>();
      const answer = delivered.map((batch) => {
        const result = settled.get(batch) ?? resultOf(batch, results.get(batch));
        for (const event of result.appended) appendedByType.set(event.eventType, (appendedByType.get(event.eventType) ?? 0) + 1);
        result.outcomes.forEach((outcome, i) => {
          const eventType = batch.events[i]!.eventType;
          const key = `${eventType}\u0000${batch.consumer}\u0000${outcome}`;
          const counted = deliveredBy.get(key);
          if (counted) counted.n++;
          else deliveredBy.set(key, { event_type: eventType, consumer: batch.consumer, outcome, n: 1 });
        });
        return result;
      });
      for (const [eventType, n] of appendedByType) metrics.eventsAppended.inc({ event_type: eventType }, n);
      for (const { n, ...labels } of deliveredBy.values()) metrics.eventsDelivered.inc(labels, n);
      return answer;
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
  return dispatcher;

  async function findFailure(id: string): Promise<FailedDeliveryRow> {
    const row = await db.selectFrom('failed_deliveries').selectAll().where('id', '=', id).executeTakeFirst();
    if (!row) throw new AppError('not_found', 'DEAD_LETTER_NOT_FOUND', `no dead letter ${id}`);
    return row;
  }
}

export type Dispatcher = ReturnType<typeof createDispatcher>;
