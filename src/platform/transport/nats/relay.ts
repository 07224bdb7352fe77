import { sql, type Kysely } from 'kysely';
import type { Logger } from 'pino';
import type { EventEnvelope } from '../../../kernel/envelope.js';
import { fromRow, type EventLogTables } from '../../log/event-log.js';
import type { EngineMetrics } from '../../observability/metrics.js';
import type { DialectName } from '../../storage/database.js';
import type { NatsTransportTables } from './migrations.js';
import { partitionOf } from './partitioning.js';

type RelayTables = EventLogTables & NatsTransportTables;

// Key of the transaction-level advisory lock held by the one relay that publishes at a time.
const RELAY_LOCK_KEY = 7_301_247;
const MAX_ROWS_PER_STATEMENT = 500;

export interface RelayDeps {
  db: Kysely<RelayTables>;
  dialect: DialectName;
  /** The log's stable head: the relay publishes nothing above it (an event below may still commit). */
  head(): Promise<number>;
  partitions: number;
  /** Publishes one event; resolves once the broker stored it (or had it already: same message id). */
  publish(event: EventEnvelope, partition: number): Promise<void>;
  logger: Logger;
  metrics: EngineMetrics;
  /** Events read and published per round. */
  batchSize: number;
  /** Longest wait before looking at the outbox again when nothing woke the relay. */
  pollMs: number;
  /** A round failed (the broker may be away, or have lost the stream). */
  onFailure(error: unknown): void;
}

/** The outbox relay: publishes committed events to the broker in log order and marks them published. */
export interface Relay {
  start(): void;
  /** A transaction committed events: look at the outbox now. */
  wake(): void;
  /** The broker is back: forget the back-off and try now. */
  resume(): void;
  /** Finishes the round in progress, then stops. */
  stop(): Promise<void>;
}

/**
 * Moves the outbox to JetStream. Events are read in sequence order up to the log's stable head
 * (so a later event never goes out before an earlier one that was still committing), published pipelined on one connection (the server stores them in the
 * order sent) and marked published only once acknowledged. A failure stops the round at the
 * first event not acknowledged; the next round starts there again and the broker drops the
 * copies it already holds (message id = event id, two-minute duplicate window).
 *
 * On PostgreSQL one relay runs at a time across processes: the round holds
 * `pg_try_advisory_xact_lock` from reading to marking; whoever does not get it lets the other
 * relay. SQLite has one process and needs no lock.
 */
export function createRelay(deps: RelayDeps): Relay {
  const { db, dialect, logger, metrics, batchSize, pollMs } = deps;
  let running = false;
  let loop: Promise<void> | undefined;
  let dirty = false;
  let wakeUp: (() => void) | undefined;
  let failures = 0;
  let abandon: (() => void) | undefined;
  let gauge: NodeJS.Timeout | undefined;

  function sleep(ms: number): Promise<void> {
    if (dirty || !running) return Promise.resolve();
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

  /**
   * One round; returns how many events it published, or 'busy' when another process relays.
   * A publish failure is thrown after the acknowledged prefix was marked (and committed).
   */
  async function relayOnce(): Promise<number | 'busy'> {
    const round =
      dialect !== 'postgres'
        ? await publishBatch(db)
        : await db.transaction().execute(async (trx) => {
            const { rows } = await sql<{ locked: boolean }>`select pg_try_advisory_xact_lock(${RELAY_LOCK_KEY}) as locked`.execute(trx);
            if (!rows[0]?.locked) return 'busy' as const;
            return publishBatch(trx);
          });
    if (round === 'busy') return round;
    if (round.failure) throw round.failure;
    return round.published;
  }

  async function publishBatch(q: Kysely<RelayTables>): Promise<{ published: number; failure?: Error }> {
    const head = await deps.head();
    const rows = await q.selectFrom('events').selectAll().where('published_at', 'is', null).where('sequence', '<=', head).orderBy('sequence').limit(batchSize).execute();
    if (rows.length === 0) {
      metrics.outboxBacklog.set(0);
      return { published: 0 };
    }
    const events = rows.map(fromRow);
    const placed = events.map((event) => ({ event, partition: partitionOf(event.aggregateId, deps.partitions) }));
    // Committed (outside the round's transaction) before anything is published: a consumer
    // that receives an event can always see which earlier events of its partition exist.
    await index(placed);
    const settled = Promise.allSettled(placed.map(({ event, partition }) => deps.publish(event, partition)));
    // After a reconnect the answers to what was in flight may never come: publish again at once
    // (what the broker did store, it drops as duplicates; the old messages reach it first).
    const results = await Promise.race([settled, new Promise<'abandoned'>((resolve) => (abandon = () => resolve('abandoned')))]);
    abandon = undefined;
    if (results === 'abandoned') return { published: 0, failure: new Error('the round was abandoned (reconnect or stop); publishing again') };
    const failed = results.findIndex((r) => r.status === 'rejected');
    const acknowledged = failed === -1 ? events : events.slice(0, failed);
    const now = Date.now();
    for (let i = 0; i < acknowledged.length; i += MAX_ROWS_PER_STATEMENT) {
      const sequences = acknowledged.slice(i, i + MAX_ROWS_PER_STATEMENT).map((e) => e.sequence!);
      await q.updateTable('events').set({ published_at: now }).where('sequence', 'in', sequences).execute();
    }
    if (failed === -1) return { published: acknowledged.length };
    const reason = (results[failed] as PromiseRejectedResult).reason as Error;
    const failure = new Error(`publishing event ${events[failed]!.eventId} (sequence ${events[failed]!.sequence}) failed: ${reason?.message ?? reason}`, { cause: reason });
    return { published: acknowledged.length, failure };
  }

  async function index(placed: { event: EventEnvelope; partition: number }[]): Promise<void> {
    for (let i = 0; i < placed.length; i += MAX_ROWS_PER_STATEMENT) {
      await db
        .insertInto('transport_event_partitions')
        .values(placed.slice(i, i + MAX_ROWS_PER_STATEMENT).map(({ event, partition }) => ({ sequence: event.sequence!, partition, event_type: event.eventType })))
        .onConflict((oc) => oc.column('sequence').doNothing())
        .execute();
    }
  }

  /** The backlog gauge, counted every second apart from the rounds (one may hang on a broker that is away). */
  async function countBacklog(): Promise<void> {
    const row = await db.selectFrom('events').select((eb) => eb.fn.countAll<number>().as('n')).where('published_at', 'is', null).executeTakeFirst();
    metrics.outboxBacklog.set(Number(row?.n ?? 0));
  }

  async function run(): Promise<void> {
    while (running) {
      dirty = false;
      try {
        const published = await relayOnce();
        failures = 0;
        if (published === batchSize) continue;
        await sleep(pollMs);
      } catch (error) {
        failures++;
        logger.error({ err: error }, 'outbox relay round failed; retrying');
        deps.onFailure(error);
        dirty = false;
        await sleep(Math.min(5000, pollMs * 2 ** Math.min(failures, 6)));
      }
    }
  }

  return {
    start() {
      if (running) return;
      running = true;
      loop = run();
      gauge = setInterval(() => void countBacklog().catch(() => undefined), 1000);
    },
    wake() {
      dirty = true;
      wakeUp?.();
    },
    resume() {
      abandon?.();
      failures = 0;
      wakeUp?.();
    },
    async stop() {
      running = false;
      clearInterval(gauge);
      wakeUp?.();
      // A round still waiting on the broker after a while is given up; its events stay in the outbox.
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([loop, new Promise((resolve) => (timer = setTimeout(resolve, 2000)))]);
      clearTimeout(timer);
      abandon?.();
      await loop;
    },
  };
}
