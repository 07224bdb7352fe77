import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import type { EventEnvelope } from '../../kernel/envelope.js';
import type { Consumer } from '../delivery/consumer.js';
import type { DeliveryTables } from '../delivery/delivery-store.js';
import type { BatchResult, Dispatcher, JoinRound, RoundBatch } from '../delivery/dispatcher.js';
import { createSharedHead, type EventLog, type EventLogTables } from '../log/event-log.js';
import type { EngineMetrics } from '../observability/metrics.js';
import { createRecentEvents } from './recent-events.js';
import type { Transport } from './transport.js';

/** A consumer as the rounds see it: its checkpoint, and how far it has looked at the log. */
interface Reader {
  consumer: Consumer;
  /** The event types it handles; undefined: every type. */
  wants: Set<string> | undefined;
  /** Its checkpoint: the sequence of the last event delivered to it. */
  position: number;
  /** How far it has read, at or past its checkpoint (past events of types it does not handle). */
  scanned: number;
}

export interface InProcessTransportDeps {
  db: Kysely<DeliveryTables>;
  log: EventLog;
  dispatcher: Dispatcher;
  logger: Logger;
  metrics: EngineMetrics;
  /** Events handled per transaction at most (group commit). */
  batchSize?: number;
  /** Longest wait before looking at the log again when nothing woke the consumer. */
  pollMs?: number;
  /**
   * Deliver every consumer's batch of a round in one transaction (`deliverRound`) instead of
   * one transaction per consumer. For a database with one connection (SQLite), where the
   * consumers' transactions run one after another anyway: a round then syncs the disk once,
   * not once per consumer, and an event crosses a hop in one round.
   */
  rounds?: boolean;
  /**
   * Read only up to the log's stable head (`EventLog.head`). Needed where appends commit out of
   * sequence order (PostgreSQL, concurrent writers): without it a consumer could move its
   * checkpoint past an event whose transaction commits later, and never see it. SQLite commits
   * one writer at a time, in sequence order, and skips the extra statement.
   */
  boundedByHead?: boolean;
  /**
   * With `rounds`: whether a writer with priority (the request thread's placements) is waiting
   * for the write lock. A round that has held the lock `ROUND_YIELD_AFTER_MS` commits between two
   * consumers' batches when one is, and leaves the other batches to the next round, first in it:
   * a placement waits for one batch at most, not for a whole round.
   */
  priorityWriterWaiting?: () => boolean;
  /** With `rounds`: work to run at the start of each round's transaction (see `JoinRound`). */
  joinRound?: JoinRound;
}

/** How long a round holds the write lock before it gives way to a waiting placement. */
const ROUND_YIELD_AFTER_MS = 5;

/** A round starts another pass (the events it appended) only within this many milliseconds of its start. */
const ROUND_PASSES_MS = 10;

/** A reader's events in a round, and how far the read went. */
interface Window {
  events: EventEnvelope[];
  through: number;
}

/**
 * Feeds each consumer from the durable log: it reads events after the consumer's checkpoint
 * and hands them to the dispatcher in batches, which moves the checkpoint in the same
 * transaction. A commit in this process wakes the consumers at once; other writers are seen
 * within `pollMs`.
 */
export function createInProcessTransport(deps: InProcessTransportDeps): Transport {
  const { db, log, dispatcher, logger, metrics } = deps;
  const batchSize = deps.batchSize ?? 256;
  const pollMs = deps.pollMs ?? 200;
  // One signal per consumer: `dirty` remembers a commit that happened while the consumer was busy.
  const signals = new Map<string, { dirty: boolean; wake: (() => void) | undefined }>();
  const loops: Promise<void>[] = [];
  let running = false;
  let knownHead = 0;
  const sharedHead = createSharedHead(log, pollMs);
  // The rounds read what this process committed from memory (see RecentEvents).
  const recent = deps.rounds ? createRecentEvents() : undefined;

  async function checkpoint(consumer: string): Promise<number> {
    const row = await db.selectFrom('consumer_checkpoints').select('position').where('consumer', '=', consumer).where('partition', '=', 0).executeTakeFirst();
    return Number(row?.position ?? 0);
  }

  function sleep(signal: { dirty: boolean; wake: (() => void) | undefined }, ms: number): Promise<void> {
    if (signal.dirty || !running) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        signal.wake = undefined;
        resolve();
      }
      signal.wake = done;
    });
  }

  async function consume(consumer: Consumer): Promise<void> {
    const types = Object.keys(consumer.handlers);
    let position = await checkpoint(consumer.name);
    let failures = 0;
    const signal = { dirty: false, wake: undefined as (() => void) | undefined };
    signals.set(consumer.name, signal);
    while (running) {
      signal.dirty = false;
      try {
        const through = deps.boundedByHead ? await sharedHead.get() : undefined;
        const events: EventEnvelope[] = await log.readAfter(position, { types, limit: batchSize, through });
        if (events.length === 0) {
          metrics.consumerLag.set({ consumer: consumer.name }, 0);
          await sleep(signal, pollMs);
          continue;
        }
        const result = await dispatcher.deliver(consumer.name, events, { expectedPosition: position });
        position = result.stale ? await checkpoint(consumer.name) : events[events.length - 1]!.sequence!;
        if (result.appended.length > 0) notify(result.appended);
        metrics.consumerLag.set({ consumer: consumer.name }, Math.max(0, knownHead - position));
        failures = 0;
        // better-sqlite3 answers synchronously: without a macrotask turn, a backlog would
        // starve timers, HTTP requests and signals until it is drained.
        await new Promise((resolve) => setImmediate(resolve));
      } catch (error) {
        failures++;
        logger.error({ consumer: consumer.name, err: error }, 'delivery batch failed; retrying');
        signal.dirty = false;
        await sleep(signal, Math.min(5000, 100 * 2 ** Math.min(failures, 6)));
        position = await checkpoint(consumer.name).catch(() => position);
      }
    }
  }

  /**
   * Every consumer in one loop, every batch of a round delivered in one transaction. The log is
   * read once per round for all of them, from the furthest-behind consumer on, and each event
   * parsed once and handed to every consumer of its type; a consumer that is ahead of that
   * window (one catching up from far behind) gets its own read, so it never holds the others
   * back. A consumer's checkpoint moves with its own batches; `scanned` is how far it has
   * looked, past events of types it does not handle (in memory: a restart looks again).
   */
  async function consumeInRounds(all: readonly Consumer[]): Promise<void> {
    const readers: Reader[] = all.map((consumer) => {
      const types = Object.keys(consumer.handlers);
      // A consumer without handlers gets every event (as readAfter without types does).
      return { consumer, wants: types.length > 0 ? new Set(types) : undefined, position: 0, scanned: 0 };
    });
    for (const reader of readers) reader.scanned = reader.position = await checkpoint(reader.consumer.name);
    const readersOfUncommitted = readers.filter((reader) => reader.consumer.effectsInTransaction);
    let failures = 0;
    /** Readers whose batch the last round left out: first in the next one. */
    let deferred = new Set<Reader>();
    const waiting = deps.priorityWriterWaiting;
    const endEarly = waiting && ((heldMs: number) => heldMs >= ROUND_YIELD_AFTER_MS && waiting());
    const signal = { dirty: false, wake: undefined as (() => void) | undefined };
    signals.set('*', signal);
    while (running) {
      signal.dirty = false;
      try {
        let windows = await readWindows(readers);
        if (windows.size === 0) {
          for (const reader of readers) metrics.consumerLag.set({ consumer: reader.consumer.name }, 0);
          await sleep(signal, pollMs);
          continue;
        }
        const appended: EventEnvelope[] = [];
        const stale = new Set<Reader>();
        const deferredNow = new Set<Reader>();
        /** The reader of each batch handed to the dispatcher in this round. */
        const readerOf = new Map<RoundBatch, Reader>();
        const batchesOf = (from: Map<Reader, Window>, first: Set<Reader>): RoundBatch[] => {
          const batches: RoundBatch[] = [];
          for (const [reader, { events }] of from) {
            if (events.length === 0) continue;
            const batch = { consumer: reader.consumer.name, events, expectedPosition: reader.position };
            readerOf.set(batch, reader);
            batches.push(batch);
          }
          if (first.size > 0) batches.sort((a, b) => Number(first.has(readerOf.get(b)!)) - Number(first.has(readerOf.get(a)!)));
          return batches;
        };
        /**
         * Moves the readers past what a pass delivered (in memory: a round that fails resets them
         * from their checkpoints). A deferred batch is read again next round, from where it was.
         */
        const settle = (batches: readonly RoundBatch[], results: readonly BatchResult[]) => {
          for (const [i, batch] of batches.entries()) {
            const reader = readerOf.get(batch)!;
            const result = results[i]!;
            if (result.deferred) deferredNow.add(reader);
            else if (result.stale) stale.add(reader);
            else reader.position = batch.events[batch.events.length - 1]!.sequence!;
            appended.push(...result.appended);
          }
          for (const [reader, { through }] of windows) if (!deferredNow.has(reader) && !stale.has(reader)) reader.scanned = Math.max(reader.scanned, through);
        };
        const passAppended = (results: readonly BatchResult[]) => results.some((r) => r.appended.length > 0);
        /** What this round appended so far, uncommitted: its next passes read it from here. */
        const uncommitted = new Map<number, EventEnvelope>();
        const firstPass = batchesOf(windows, deferred);
        // Windows without an event of their readers' types: only how far they looked moves.
        if (firstPass.length === 0) settle([], []);
        else await dispatcher.deliverRound(firstPass, {
          endEarly,
          joinRound: deps.joinRound,
          // The events a pass appended are delivered in the same transaction, while the round is
          // short, to the consumers whose effects all stay in it: an order crosses several hops
          // per commit, not one.
          nextPass: async (trx, pass) => {
            settle(pass.batches, pass.results);
            for (const event of pass.joined) uncommitted.set(event.sequence!, event);
            for (const result of pass.results) for (const event of result.appended) uncommitted.set(event.sequence!, event);
            if (!running || deferredNow.size > 0 || stale.size > 0 || pass.heldMs >= ROUND_PASSES_MS || !passAppended(pass.results)) return [];
            // Only consumers whose effects all stay in the transaction see uncommitted events.
            windows = await readWindows(readersOfUncommitted, { trx: trx as unknown as Kysely<EventLogTables>, uncommitted });
            return batchesOf(windows, new Set());
          },
        });
        deferred = deferredNow;
        for (const reader of readers) {
          if (stale.has(reader)) reader.scanned = reader.position = await checkpoint(reader.consumer.name);
          metrics.consumerLag.set({ consumer: reader.consumer.name }, Math.max(0, knownHead - reader.scanned));
        }
        if (appended.length > 0) notify(appended);
        recent?.forget(Math.min(...readers.map((reader) => reader.scanned)));
        failures = 0;
        // better-sqlite3 answers synchronously: without a macrotask turn, a backlog would
        // starve timers, HTTP requests and signals until it is drained.
        await new Promise((resolve) => setImmediate(resolve));
      } catch (error) {
        failures++;
        logger.error({ err: error }, 'delivery round failed; retrying');
        signal.dirty = false;
        deferred = new Set();
        await sleep(signal, Math.min(5000, 100 * 2 ** Math.min(failures, 6)));
        for (const reader of readers) reader.scanned = reader.position = await checkpoint(reader.consumer.name).catch(() => reader.position);
      }
    }
  }

  /**
   * Each reader's window of the log for this round: its events and how far the read went. One
   * read serves every reader behind its last event; readers ahead of it are read for again.
   * The events this process committed last come from memory (`recent`), the rest from the log.
   * `within`: read in that open transaction, which appended `uncommitted` (a round's next pass
   * sees what it appended).
   */
  async function readWindows(readers: readonly Reader[], within?: { trx: Kysely<EventLogTables>; uncommitted: ReadonlyMap<number, EventEnvelope> }): Promise<Map<Reader, Window>> {
    const windows = new Map<Reader, Window>();
    const through = deps.boundedByHead ? await sharedHead.get() : undefined;
    let pending = readers;
    while (pending.length > 0) {
      const from = Math.min(...pending.map((r) => r.scanned));
      const events = recent?.after(from, batchSize, within?.uncommitted) ?? (await log.readAfter(from, { limit: batchSize, through, ...(within ? { db: within.trx } : {}) }));
      if (events.length === 0) break;
      const lastRead = events[events.length - 1]!.sequence!;
      const ahead: Reader[] = [];
      for (const reader of pending) {
        if (reader.scanned >= lastRead) ahead.push(reader);
        else windows.set(reader, { events: events.filter((e) => e.sequence! > reader.scanned && (!reader.wants || reader.wants.has(e.eventType))), through: lastRead });
      }
      pending = ahead;
    }
    return windows;
  }

  /** Called after every commit of this process, with the events it appended. */
  function notify(appended: readonly EventEnvelope[]): void {
    recent?.remember(appended);
    sharedHead.invalidate();
    const last = appended[appended.length - 1]?.sequence;
    if (last !== undefined && last > knownHead) knownHead = last;
    for (const signal of signals.values()) {
      signal.dirty = true;
      signal.wake?.();
    }
  }

  return {
    name: 'in-process',
    async start() {
      if (running) return;
      running = true;
      knownHead = await log.head();
      if (deps.rounds) loops.push(consumeInRounds(dispatcher.consumers()));
      else for (const consumer of dispatcher.consumers()) loops.push(consume(consumer));
    },
    notify,
    async stop() {
      running = false;
      for (const signal of signals.values()) signal.wake?.();
      await Promise.all(loops.splice(0));
    },
    health: async () => ({ ok: true, detail: 'in-process' }),
  };
}
