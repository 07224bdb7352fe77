import type { Transaction } from 'kysely';
import { currentVersions } from '../../kernel/catalog.js';
import type { Clock } from '../../kernel/clock.js';
import type { CommandOrigin, EventDraft, EventEnvelope, EventMetadata } from '../../kernel/envelope.js';
import type { IdGenerator } from '../../kernel/ids.js';
import type { TimerDraft, TimerStore } from '../delivery/timers.js';

/**
 * What code running inside a transaction may do: change its module's tables through `db`,
 * emit events and schedule timers. Events and timers commit with the state change, or not at all.
 */
export interface TxContext<DB = unknown> {
  /** The open transaction; a module queries its own tables through it. */
  readonly db: Transaction<DB>;
  /** Queues an event for the log; it is appended when the transaction commits. */
  emit(draft: EventDraft): EventEnvelope;
  /** Schedules (or moves) a durable timer, keyed by `key`. */
  schedule(timer: TimerDraft): Promise<void>;
  /** Cancels a timer that has not fired; unknown keys are ignored. */
  cancelTimer(key: string): Promise<void>;
  /** Milliseconds since the epoch, from the injected clock, fixed for this transaction. */
  readonly now: number;
  /** Runs `callback` once the transaction has committed, never if it rolls back (metrics, notifications). */
  afterCommit(callback: () => void): void;
}

export interface TxContextOptions {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  trx: Transaction<any>;
  /** Events emitted so far in this transaction; emit pushes to it. */
  pending: EventEnvelope[];
  /** Callbacks to run after the commit; afterCommit pushes to it. */
  afterCommit: (() => void)[];
  /** The module emitting. */
  source: string;
  /** The event being handled, whose correlation id and event id the emitted events carry. */
  cause?: EventEnvelope;
  timers: TimerStore;
  ids: IdGenerator;
  clock: Clock;
  /** The W3C trace context of the span this work runs in: every emitted event carries it. */
  traceparent?: string | undefined;
  /** The command this work carries out (an API call): every emitted event carries its actor and reason. */
  origin?: CommandOrigin | undefined;
}

export function createTxContext<DB>(options: TxContextOptions): TxContext<DB> {
  const { trx, pending, afterCommit, source, cause, timers, ids, clock, traceparent, origin } = options;
  const now = clock.now();
  return {
    db: trx as Transaction<DB>,
    now,
    emit(draft) {
      const envelope = buildEnvelope(draft, { source, cause, ids, at: now, traceparent, origin });
      pending.push(envelope);
      return envelope;
    },
    schedule: (timer) => timers.schedule(trx, timer, now),
    cancelTimer: (key) => timers.cancel(trx, key),
    afterCommit: (callback) => {
      afterCommit.push(callback);
    },
  };
}

/** Completes a draft into a full envelope. */
export function buildEnvelope(
  draft: EventDraft,
  context: { source: string; cause?: EventEnvelope | undefined; ids: IdGenerator; at: number; traceparent?: string | undefined; origin?: CommandOrigin | undefined },
): EventEnvelope {
  const eventId = draft.eventId ?? context.ids.next();
  const envelope: EventEnvelope = {
    eventId,
    eventType: draft.eventType,
    // The current version of the catalog's type (1 for a type outside the catalog).
    version: draft.version ?? currentVersions[draft.eventType] ?? 1,
    aggregateType: draft.aggregateType,
    aggregateId: draft.aggregateId,
    occurredAt: new Date(context.at).toISOString(),
    payload: draft.payload as Record<string, unknown>,
    correlationId: draft.correlationId ?? context.cause?.correlationId ?? eventId,
    causationId: draft.causationId !== undefined ? draft.causationId : (context.cause?.eventId ?? null),
    source: context.source,
  };
  // Events appended by consumers and timers carry no actor: orderflow itself caused them.
  if (context.traceparent || context.origin) {
    const metadata: EventMetadata = {};
    if (context.traceparent) metadata.traceparent = context.traceparent;
    if (context.origin) {
      metadata.actor = context.origin.actor;
      if (context.origin.reason !== undefined) metadata.reason = context.origin.reason;
    }
    envelope.metadata = metadata;
  }
  return envelope;
}
