import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import type { EventEnvelope } from '../../../kernel/envelope.js';
import type { Consumer } from '../../delivery/consumer.js';
import type { DeliveryTables } from '../../delivery/delivery-store.js';
import type { Dispatcher } from '../../delivery/dispatcher.js';
import type { EventLog, SharedHead } from '../../log/event-log.js';
import type { EngineMetrics } from '../../observability/metrics.js';
import type { Lease, PartitionWorker } from './partition-leases.js';
import { partitionOf } from './partitioning.js';

export interface ConsumerLogReaderDeps {
  consumer: Consumer;
  log: EventLog;
  /** The log's stable head, shared by the process's readers. */
  head: SharedHead;
  db: Kysely<DeliveryTables>;
  dispatcher: Dispatcher;
  metrics: EngineMetrics;
  logger: Logger;
  /** The partition count (fixed for the stream's lifetime). */
  partitions: number;
  /** Events read per round, and delivered per transaction at most. */
  batchSize: number;
  /** Longest wait before looking at the log again when no wake-up came (another process's commits wake it over NATS). */
  pollMs: number;
  /** A delivery committed events: wake the readers and the relay (here and in the other processes). */
  onAppended(events: readonly EventEnvelope[]): void;
  /** A round failed (the database may be away). */
  onFailure(error: unknown): void;
}

/** A partition this process holds, and how far it got. */
interface Held {
  lease: Lease;
  /** The checkpoint row's position, as last read or written by this process; undefined until read. */
  stored: number | undefined;
  /** Everything of this partition up to here has been delivered (the checkpoint only moves when an event is). */
  scanned: number;
  stopping: boolean;
  /** The delivery transaction of this partition in progress, if any. */
  delivering: Promise<unknown> | undefined;
  release(): void;
  done: Promise<void>;
}

export interface ConsumerLogReader {
  /** Starts working a partition this process leased; `stop` lets its batch in flight commit first. */
  add(lease: Lease): PartitionWorker;
  /** Something was appended (here or in another process): read now. */
  wake(): void;
}

/**
 * Delivers one consumer's leased partitions straight from the log. Each round reads the
 * consumer's event types after the lowest position of the partitions held, up to the log's
 * stable head (nothing in flight below it, so nothing is skipped), splits them by partition
 * (a stable hash of the aggregate, so an aggregate's events stay in one partition, in log
 * order) and hands them to the dispatcher with each partition's checkpoint as its expected
 * position: a process that lost the partition to another finds the checkpoint moved and
 * commits nothing for it (the fence). Every partition's events of the round go in one
 * transaction (`deliverPartitions`), or, for a consumer with `sharedRows`, one transaction per
 * partition. The broker carries no event on this path; a wake-up over NATS tells the other
 * processes that the log grew.
 */
export function createConsumerLogReader(deps: ConsumerLogReaderDeps): ConsumerLogReader {
  const { consumer, log, db, dispatcher, metrics, partitions, batchSize, pollMs } = deps;
  const types = Object.keys(consumer.handlers);
  const logger = deps.logger.child({ consumer: consumer.name });
  const held = new Map<number, Held>();
  let loop: Promise<void> | undefined;
  let dirty = false;
  let wakeUp: (() => void) | undefined;

  function wake(): void {
    dirty = true;
    wakeUp?.();
  }

  function sleep(ms: number): Promise<void> {
    if (dirty) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        wakeUp = undefined;
        resolve();
      }
      wakeUp = done;
    });
  }

  async function readCheckpoint(partition: number): Promise<number> {
    const row = await db.selectFrom('consumer_checkpoints').select('position').where('consumer', '=', consumer.name).where('partition', '=', partition).executeTakeFirst();
    return Number(row?.position ?? 0);
  }

  /** The round's batches of these partitions in one delivery (`Dispatcher.deliverPartitions`; one partition: `deliver`). */
  async function deliverTogether(active: Held[], byPartition: Map<number, EventEnvelope[]>, boundary: number): Promise<void> {
    const taking: { part: Held; events: EventEnvelope[] }[] = [];
    for (const part of active) {
      // Checked right before the transaction starts: a partition handed over is not touched.
      if (part.stopping || !part.lease.valid()) continue;
      const mine = (byPartition.get(part.lease.partition) ?? []).filter((e) => e.sequence! > part.scanned);
      if (mine.length === 0) part.scanned = Math.max(part.scanned, boundary);
      else taking.push({ part, events: mine });
    }
    if (taking.length === 0) return;
    const delivery = dispatcher.deliverPartitions(
      consumer.name,
      taking.map(({ part, events }) => ({ partition: part.lease.partition, expectedPosition: part.stored!, events })),
      // Every lease is the fence: a process paused mid-transaction past one of them rolls back at the end.
      { fence: () => taking.every(({ part }) => part.lease.valid()) },
    );
    for (const { part } of taking) part.delivering = delivery;
    let result: Awaited<typeof delivery>;
    try {
      result = await delivery;
    } finally {
      for (const { part } of taking) part.delivering = undefined;
    }
    for (const { part, events } of taking) {
      if (result.stale.has(part.lease.partition)) {
        logger.warn({ partition: part.lease.partition }, 'the checkpoint moved under this process (another one worked the partition); reading it again');
        part.stored = undefined;
        continue;
      }
      part.stored = events[events.length - 1]!.sequence!;
      part.scanned = Math.max(part.scanned, boundary);
    }
    if (result.appended.length > 0) deps.onAppended(result.appended);
  }

  /** One round; true when it read a full batch (more is waiting). */
  async function round(): Promise<boolean> {
    const active = [...held.values()].filter((p) => !p.stopping && p.lease.valid());
    if (active.length === 0 || types.length === 0) return false;
    for (const part of active) {
      if (part.stored === undefined) part.scanned = part.stored = await readCheckpoint(part.lease.partition);
    }
    const head = await deps.head.get();
    const from = Math.min(...active.map((p) => p.scanned));
    metrics.consumerLag.set({ consumer: consumer.name }, Math.max(0, head - from));
    if (from >= head) return false;
    const events = await log.readAfter(from, { types, limit: batchSize, through: head });
    // Read up to here: the head, or the last event of a full batch.
    const boundary = events.length < batchSize ? head : events[events.length - 1]!.sequence!;
    const byPartition = new Map<number, EventEnvelope[]>();
    for (const event of events) {
      const partition = partitionOf(event.aggregateId, partitions);
      const list = byPartition.get(partition);
      if (list) list.push(event);
      else byPartition.set(partition, [event]);
    }
    // A consumer whose handlers touch only their events' aggregates: every partition's batch of
    // the round in one transaction (its checkpoints claimed in partition order). Rows shared
    // across aggregates: each partition's batch a transaction of its own, one at a time.
    if (!consumer.sharedRows) await deliverTogether(active, byPartition, boundary);
    else for (const part of active) await deliverTogether([part], byPartition, boundary);
    return events.length === batchSize;
  }

  async function run(): Promise<void> {
    let failures = 0;
    while (held.size > 0) {
      dirty = false;
      try {
        const more = await round();
        failures = 0;
        if (!more) {
          await sleep(pollMs);
          // A consumer that may lag lets the wake-ups of a burst of commits gather (Consumer.lingerMs).
          if (consumer.lingerMs && held.size > 0) await new Promise((resolve) => setTimeout(resolve, consumer.lingerMs));
        }
      } catch (error) {
        failures++;
        logger.error({ err: error }, 'reading the log for the consumer failed; retrying');
        deps.onFailure(error);
        for (const part of held.values()) part.stored = undefined;
        dirty = false;
        await sleep(Math.min(5000, 100 * 2 ** Math.min(failures, 6)));
      }
    }
    loop = undefined;
  }

  return {
    add(lease) {
      let release!: () => void;
      const done = new Promise<void>((resolve) => (release = resolve));
      const part: Held = { lease, stored: undefined, scanned: 0, stopping: false, delivering: undefined, release, done };
      held.set(lease.partition, part);
      loop ??= run();
      wake();
      return {
        done,
        async stop() {
          part.stopping = true;
          wake();
          await part.delivering?.catch(() => undefined);
          if (held.get(lease.partition) === part) held.delete(lease.partition);
          part.release();
        },
        nudge: wake,
      };
    },
    wake,
  };
}
