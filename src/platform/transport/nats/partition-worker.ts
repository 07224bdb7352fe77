import type { Consumer as JsConsumer, ConsumerMessages, JsMsg } from '@nats-io/jetstream';
import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import type { EventEnvelope } from '../../../kernel/envelope.js';
import type { Consumer } from '../../delivery/consumer.js';
import type { DeliveryTables } from '../../delivery/delivery-store.js';
import type { Dispatcher } from '../../delivery/dispatcher.js';
import { fromRow, type EventLogTables } from '../../log/event-log.js';
import { bufferFetch } from './fetch-buffer.js';
import type { NatsTransportTables } from './migrations.js';
import type { Lease, PartitionWorker } from './partition-leases.js';
import { eventTypeOfSubject } from './partitioning.js';

type WorkerTables = EventLogTables & NatsTransportTables & DeliveryTables;

/** Acks and naks are fire and forget; one that cannot be sent only means a redelivery later. */
function settle(messages: readonly JsMsg[], how: (m: JsMsg) => void): void {
  for (const m of messages) {
    try {
      how(m);
    } catch {
      // The connection is closing: the broker redelivers after ack_wait and the checkpoint drops it.
    }
  }
}

export interface PartitionWorkerDeps {
  lease: Lease;
  consumer: Consumer;
  /** The partition's durable JetStream consumer. */
  messages(): Promise<JsConsumer>;
  db: Kysely<WorkerTables>;
  dispatcher: Dispatcher;
  logger: Logger;
  batchSize: number;
  fetchExpiresMs: number;
  ackWaitMs: number;
  /** An event published this long ago and still not received is taken from the log. */
  sweepGraceMs: number;
  onAppended(events: readonly EventEnvelope[]): void;
  /**
   * Runs a delivery transaction of this consumer once no other partition of it in this process
   * runs one (see `createNatsTransport`).
   */
  serialize<T>(delivery: () => Promise<T>): Promise<T>;
  /** A fetch or a delivery failed (the broker may have lost the stream or the durable). */
  onFailure(error: unknown): void;
}

/**
 * Works one leased partition of one consumer: fetches from its durable consumer, hands what
 * arrived to the dispatcher in one transaction, then acks. Order does not rest on the broker:
 * the checkpoint row of the partition holds the last sequence delivered, the relay's partition
 * index names every event of the partition, and each batch is completed from the log with the
 * events of the partition the broker has not delivered yet (lost, or redelivered late), sorted
 * by sequence. A redelivery of what is already behind the checkpoint is acked and dropped;
 * the checkpoint is also the fence against another process working the same partition.
 */
export function startPartitionWorker(deps: PartitionWorkerDeps): PartitionWorker {
  const { lease, consumer, db, dispatcher, batchSize } = deps;
  const { partition } = lease;
  const types = Object.keys(consumer.handlers);
  // Bounded so that one transaction's statements stay within PostgreSQL's 65,535 parameters.
  const maxPerTransaction = Math.min(batchSize * 2, 10_000);
  const logger = deps.logger.child({ consumer: consumer.name, partition });
  let stopping = false;
  let failures = 0;
  let current: ConsumerMessages | undefined;
  let interrupt: (() => void) | undefined;

  const pause = (ms: number) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        interrupt = undefined;
        resolve();
      }
      interrupt = done;
    });

  async function readPosition(): Promise<number> {
    const row = await db.selectFrom('consumer_checkpoints').select('position').where('consumer', '=', consumer.name).where('partition', '=', partition).executeTakeFirst();
    return Number(row?.position ?? 0);
  }

  async function loadEvents(sequences: number[]): Promise<EventEnvelope[]> {
    const events: EventEnvelope[] = [];
    for (let i = 0; i < sequences.length; i += 500) {
      const rows = await db.selectFrom('events').selectAll().where('sequence', 'in', sequences.slice(i, i + 500)).execute();
      events.push(...rows.map(fromRow));
    }
    return events.sort((a, b) => a.sequence! - b.sequence!);
  }

  /**
   * `ahead` (sorted, all after `position`) plus the events of the partition between them that
   * it lacks, cut to a prefix of at most `maxPerTransaction`: what the cut leaves out is still
   * in the index and comes with a later batch or the sweep.
   */
  async function withMissing(ahead: EventEnvelope[], position: number): Promise<EventEnvelope[]> {
    const last = ahead[ahead.length - 1]!.sequence!;
    const present = new Set(ahead.map((e) => e.sequence!));
    const rows = await db
      .selectFrom('transport_event_partitions')
      .select('sequence')
      .where('partition', '=', partition)
      .where('event_type', 'in', types)
      .where('sequence', '>', position)
      .where('sequence', '<', last)
      .orderBy('sequence')
      .execute();
    const missing = rows.map((r) => Number(r.sequence)).filter((s) => !present.has(s));
    if (missing.length === 0) return ahead;
    logger.info({ missing: missing.length, position, last }, 'taking events the broker has not delivered yet from the log, to keep their order');
    const loaded = await loadEvents(missing.slice(0, maxPerTransaction));
    const cutoff = missing[maxPerTransaction] ?? Infinity;
    return [...loaded, ...ahead]
      .sort((a, b) => a.sequence! - b.sequence!)
      .filter((e) => e.sequence! < cutoff)
      .slice(0, maxPerTransaction);
  }

  /** Delivers the received events after `position`, completed from the log; returns the new position. */
  async function deliverInOrder(received: EventEnvelope[], position: number): Promise<number> {
    received.sort((a, b) => a.sequence! - b.sequence!);
    for (let attempt = 1; ; attempt++) {
      const ahead = received.filter((e) => e.sequence! > position);
      if (ahead.length === 0) return position;
      const events = await withMissing(ahead, position);
      const result = await deps.serialize(() => dispatcher.deliver(consumer.name, events, { partition, expectedPosition: position, fence: () => lease.valid() }));
      if (!result.stale) {
        if (result.appended.length > 0) deps.onAppended(result.appended);
        return events[events.length - 1]!.sequence!;
      }
      if (attempt === 3 || !lease.valid()) throw new Error(`the checkpoint of ${consumer.name} partition ${partition} moved: another process works it`);
      logger.warn('the checkpoint moved under this worker (another process worked the partition); reading it again');
      position = await readPosition();
    }
  }

  /** The events of a batch this consumer handles and has not passed yet; anything else is only acked. */
  function eventsToDeliver(batch: JsMsg[], position: number): EventEnvelope[] {
    const events = new Map<string, EventEnvelope>();
    for (const m of batch) {
      if (!Object.hasOwn(consumer.handlers, eventTypeOfSubject(m.subject))) continue;
      let event: EventEnvelope;
      try {
        event = m.json<EventEnvelope>();
      } catch {
        logger.error({ subject: m.subject, streamSequence: m.seq }, 'a message that is not an event is on the stream; dropped');
        continue;
      }
      if (typeof event.sequence !== 'number') {
        logger.error({ subject: m.subject, eventId: event.eventId }, 'an event without a log sequence is on the stream; dropped');
        continue;
      }
      if (event.sequence > position) events.set(event.eventId, event);
    }
    return [...events.values()];
  }

  /** Hands the events of a batch to the dispatcher (one transaction), then acks the whole batch. */
  async function handleBatch(batch: JsMsg[], position: number): Promise<number> {
    const events = types.length > 0 ? eventsToDeliver(batch, position) : [];
    const next = events.length > 0 ? await deliverInOrder(events, position) : position;
    settle(batch, (m) => m.ack());
    return next;
  }

  /** One fetch, handled group by group as it arrives; returns how many messages came and the new position. */
  async function fetchOnce(source: JsConsumer, start: number): Promise<{ received: number; position: number }> {
    let position = start;
    const fetched = await source.fetch({ max_messages: batchSize, expires: deps.fetchExpiresMs });
    current = fetched;
    const buffer = bufferFetch(fetched);
    let inFlight: JsMsg[] = [];
    // A long batch must not see its messages redelivered while it runs.
    const keepAlive = setInterval(() => settle([...inFlight, ...buffer.pending()], (m) => m.working()), Math.max(1000, deps.ackWaitMs / 3));
    let received = 0;
    try {
      for (let batch = await buffer.take(); batch.length > 0; batch = await buffer.take()) {
        received += batch.length;
        if (stopping || !lease.valid()) {
          // Not ours to handle any more: straight back to the stream for the next owner.
          settle(batch, (m) => m.nak());
          continue;
        }
        inFlight = batch;
        position = await handleBatch(batch, position);
        inFlight = [];
      }
    } catch (error) {
      await fetched.close();
      await buffer.ended;
      settle([...inFlight, ...buffer.pending()], (m) => m.nak(Math.min(5000, deps.ackWaitMs / 2)));
      throw error;
    } finally {
      clearInterval(keepAlive);
      current = undefined;
    }
    const fetchError = await buffer.ended;
    if (fetchError !== undefined && !stopping) throw fetchError;
    return { received, position };
  }

  /** Delivers from the log what was published long ago and never arrived (the broker lost it). */
  async function sweep(position: number): Promise<number> {
    if (types.length === 0) return position;
    const rows = await db
      .selectFrom('transport_event_partitions as p')
      .innerJoin('events as e', 'e.sequence', 'p.sequence')
      .select('p.sequence')
      .where('p.partition', '=', partition)
      .where('p.event_type', 'in', types)
      .where('p.sequence', '>', position)
      .where('e.published_at', '<=', Date.now() - deps.sweepGraceMs)
      .orderBy('p.sequence')
      .limit(batchSize)
      .execute();
    if (rows.length === 0) return position;
    logger.warn({ events: rows.length, position }, 'events published long ago never arrived from the broker; delivering them from the log');
    return deliverInOrder(await loadEvents(rows.map((r) => Number(r.sequence))), position);
  }

  /** Sweeps batch after batch while it finds some (a broker that lost much). */
  async function sweepAll(start: number): Promise<number> {
    for (let position = start; ; ) {
      const next = await sweep(position);
      if (next === position || stopping || !lease.valid()) return next;
      position = next;
    }
  }

  async function run(): Promise<void> {
    let position: number | undefined;
    let source: JsConsumer | undefined;
    let lastSweep = 0;
    while (!stopping && lease.valid()) {
      try {
        position ??= await readPosition();
        source ??= await deps.messages();
        const fetched = await fetchOnce(source, position);
        position = fetched.position;
        if (fetched.received === 0 && !stopping && performance.now() - lastSweep >= deps.sweepGraceMs / 3) {
          lastSweep = performance.now();
          position = await sweepAll(position);
        }
        failures = 0;
      } catch (error) {
        if (stopping) break;
        failures++;
        logger.error({ err: error }, 'partition worker failed; retrying');
        deps.onFailure(error);
        position = undefined;
        source = undefined;
        await pause(Math.min(5000, 100 * 2 ** Math.min(failures, 6)));
      }
    }
  }

  const done = run();
  return {
    done,
    async stop() {
      stopping = true;
      interrupt?.();
      await current?.close();
      await done;
    },
    nudge() {
      failures = 0;
      interrupt?.();
    },
  };
}
