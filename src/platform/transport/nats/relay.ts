import { sql, type Kysely, type Selectable } from 'kysely';
import type { Logger } from 'pino';
import type { EventEnvelope } from '../../../kernel/envelope.js';
import { fromRow, type EventLogTables, type EventRow } from '../../log/event-log.js';
import type { EngineMetrics } from '../../observability/metrics.js';
import type { DialectName } from '../../storage/database.js';
import { statement } from '../../storage/statements.js';
import type { NatsTransportTables } from './migrations.js';
import { partitionOf } from './partitioning.js';

type RelayTables = EventLogTables & NatsTransportTables;

// Key of the session-level advisory lock held by the one relay that publishes at a time.
const RELAY_LOCK_KEY = 7_301_247;

// Every round runs these: statements written once (prepared on PostgreSQL).
const tryRelayLock = statement<{ locked: boolean }>('select pg_try_advisory_lock(?) as locked');
const releaseRelayLock = statement<{ released: boolean }>('select pg_advisory_unlock(?) as released');
/**
 * The leader's session ends on the server after this long without a statement, and its lock with
 * it: a leader whose connection vanished without a goodbye (a network that drops every packet)
 * leaves a session the server would otherwise keep, lock and all, for as long as TCP does.
 */
const LEADER_IDLE_LIMIT_MS = 10_000;
/** A leader with nothing to publish says so (`select 1`) this often, well within the limit. */
const LEADER_KEEPALIVE_MS = 2_000;
const keepAlive = statement<{ one: number }>('select 1 as one');
/** The least time between two rounds that published (see `run`). */
const ROUND_GAP_MS = 20;
const readCursor = statement<{ position: number | string }>('select position from transport_relay_cursor where stream = ?');
const readEvents = statement<Selectable<EventRow>>('select * from events where sequence > ? and sequence <= ? order by sequence limit ?');
const moveCursor = statement('update transport_relay_cursor set position = ? where stream = ?');

/** The relay's lock on a connection of its own, and the cursor it alone moves while it holds it. */
interface Lead {
  db: Kysely<RelayTables>;
  position: number;
  /** When a statement last ran on the leader's connection (the server ends a session idle for `LEADER_IDLE_LIMIT_MS`). */
  lastStatementAt: number;
  release(): Promise<void>;
}

export interface RelayDeps {
  db: Kysely<RelayTables>;
  dialect: DialectName;
  /** The stream published to: the relay keeps a cursor per stream. */
  stream: string;
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

/** The outbox relay: publishes committed events to the broker in log order, and keeps how far it got. */
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
 * Moves the log to JetStream, the published feed for systems outside orderflow (orderflow's
 * own consumers read the log). Events are read in sequence order up to the log's stable head
 * (so a later event never goes out before an earlier one that was still committing),
 * published pipelined on one connection (the server stores them in the order sent), and the
 * stream's cursor moves past the acknowledged prefix: one row per stream, one update per
 * round. A failure stops the round at the first event not acknowledged; the next round starts
 * there again and the broker drops the copies it already holds (message id = event id,
 * two-minute duplicate window).
 *
 * On PostgreSQL one relay runs at a time across processes: the leader holds a session-level
 * advisory lock on a connection it keeps, and with it the cursor, which it reads once and then
 * knows (nobody else moves it): a round is a read of the log and the cursor's move, two
 * statements, no transaction. The others try the lock every `pollMs`; it is theirs once the
 * leader stops or its connection ends (the server releases a session's locks with it). A leader
 * whose round fails gives the lock up, and whoever takes it next reads the cursor again. SQLite
 * has one process and needs no lock.
 */
export function createRelay(deps: RelayDeps): Relay {
  const { db, dialect, logger, metrics, batchSize, pollMs } = deps;
  let running = false;
  let loop: Promise<void> | undefined;
  let dirty = false;
  let backingOff = false;
  let wakeUp: (() => void) | undefined;
  let failures = 0;
  let abandon: (() => void) | undefined;
  let gauge: NodeJS.Timeout | undefined;
  /** PostgreSQL: this process relays, on this connection, from this position (`takeLead`). */
  let leader: Lead | undefined;
  let stopWaiting: (() => void) | undefined;

  /** Waits `ms` whatever wakes the relay (a stop ends it early). */
  function pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      stopWaiting = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }

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
    let round: { published: number; failure?: Error };
    if (dialect !== 'postgres') round = await publishBatch(db, await cursor(db));
    else {
      const lead = leader ?? (await takeLead());
      if (!lead) return 'busy';
      try {
        const last = lead.lastStatementAt;
        lead.lastStatementAt = Date.now();
        round = await publishBatch(lead.db, lead.position, (position) => (lead.position = position));
        if (round.published === 0 && lead.lastStatementAt - last >= LEADER_KEEPALIVE_MS) await keepAlive(lead.db, []);
        else if (round.published === 0) lead.lastStatementAt = last;
      } catch (error) {
        await giveUpLead();
        throw error;
      }
    }
    if (round.failure) throw round.failure;
    return round.published;
  }

  /** PostgreSQL: a connection of its own and the lock on it, with the cursor; undefined when another process leads. */
  async function takeLead(): Promise<Lead | undefined> {
    const held = await holdConnection();
    let locked = false;
    try {
      const [lock] = await tryRelayLock(held.db, [RELAY_LOCK_KEY]);
      locked = lock?.locked === true;
      if (!locked) {
        await held.release();
        return undefined;
      }
      await sql`select set_config('idle_session_timeout', ${String(LEADER_IDLE_LIMIT_MS)}, false)`.execute(held.db);
      leader = { ...held, position: await cursor(held.db), lastStatementAt: Date.now() };
      logger.info({ stream: deps.stream, position: leader.position }, 'this process relays the log to the stream');
      return leader;
    } catch (error) {
      // Not given back holding the lock (if the unlock fails, so did the connection: the pool closes it).
      if (locked) await releaseRelayLock(held.db, [RELAY_LOCK_KEY]).catch(() => undefined);
      await held.release();
      throw error;
    }
  }

  /** Releases the lock (another process may take it at once) and the connection. */
  async function giveUpLead(): Promise<void> {
    const lead = leader;
    leader = undefined;
    if (!lead) return;
    // Back in the pool, the connection is an ordinary one again.
    await sql`select set_config('idle_session_timeout', '0', false)`.execute(lead.db).catch(() => undefined);
    // The unlock fails only with the connection (it timed out, or its socket ended): the pool
    // then closes it rather than lending it again, and the server's session ends with its lock.
    await releaseRelayLock(lead.db, [RELAY_LOCK_KEY]).catch((error: unknown) => logger.warn({ err: error }, 'releasing the relay lock failed; its connection is closed'));
    await lead.release();
  }

  /** One of the pool's connections, kept until `release` (Kysely lends one for the length of a callback: this callback lasts until then). */
  function holdConnection(): Promise<{ db: Kysely<RelayTables>; release(): Promise<void> }> {
    return new Promise((resolve, reject) => {
      let done!: () => void;
      const released = new Promise<void>((r) => (done = r));
      const lent = db.connection().execute(async (connection) => {
        resolve({
          db: connection,
          release: async () => {
            done();
            await lent.catch(() => undefined);
          },
        });
        await released;
      });
      lent.catch(reject);
    });
  }

  /** The stream's cursor; a stream seen for the first time starts after what earlier releases marked published. */
  async function cursor(q: Kysely<RelayTables>): Promise<number> {
    const [row] = await readCursor(q, [deps.stream]);
    if (row) return Number(row.position);
    const { rows } = await sql<{ position: string | number }>`select coalesce((select min(sequence) - 1 from events where published_at is null), (select max(sequence) from events), 0) as position`.execute(q);
    const position = Number(rows[0]?.position ?? 0);
    await q.insertInto('transport_relay_cursor').values({ stream: deps.stream, position }).onConflict((oc) => oc.column('stream').doNothing()).execute();
    return position;
  }

  /** Publishes the next batch after `from` and moves the cursor past what was acknowledged (`moved` hears where to). */
  async function publishBatch(q: Kysely<RelayTables>, from: number, moved?: (position: number) => void): Promise<{ published: number; failure?: Error }> {
    const head = await deps.head();
    const rows = from >= head ? [] : await readEvents(q, [from, head, batchSize]);
    if (rows.length === 0) {
      metrics.outboxBacklog.set(0);
      return { published: 0 };
    }
    const events = rows.map(fromRow);
    const placed = events.map((event) => ({ event, partition: partitionOf(event.aggregateId, deps.partitions) }));
    const settled = Promise.allSettled(placed.map(({ event, partition }) => deps.publish(event, partition)));
    // After a reconnect the answers to what was in flight may never come: publish again at once
    // (what the broker did store, it drops as duplicates; the old messages reach it first).
    const results = await Promise.race([settled, new Promise<'abandoned'>((resolve) => (abandon = () => resolve('abandoned')))]);
    abandon = undefined;
    if (results === 'abandoned') return { published: 0, failure: new Error('the round was abandoned (reconnect or stop); publishing again') };
    const failed = results.findIndex((r) => r.status === 'rejected');
    const acknowledged = failed === -1 ? events : events.slice(0, failed);
    if (acknowledged.length > 0) {
      await moveCursor(q, [acknowledged.at(-1)!.sequence!, deps.stream]);
      moved?.(acknowledged.at(-1)!.sequence!);
    }
    if (failed === -1) return { published: acknowledged.length };
    const reason = (results[failed] as PromiseRejectedResult).reason as Error;
    const failure = new Error(`publishing event ${events[failed]!.eventId} (sequence ${events[failed]!.sequence}) failed: ${reason?.message ?? reason}`, { cause: reason });
    return { published: acknowledged.length, failure };
  }

  /** The backlog gauge, counted every second apart from the rounds (one may hang on a broker that is away). */
  async function countBacklog(): Promise<void> {
    const row = await db.selectFrom('transport_relay_cursor').select('position').where('stream', '=', deps.stream).executeTakeFirst();
    const after = Number(row?.position ?? 0);
    const count = await db.selectFrom('events').select((eb) => eb.fn.countAll<number>().as('n')).where('sequence', '>', after).executeTakeFirst();
    metrics.outboxBacklog.set(Number(count?.n ?? 0));
  }

  async function run(): Promise<void> {
    while (running) {
      dirty = false;
      try {
        const published = await relayOnce();
        failures = 0;
        if (published === batchSize) continue;
        // A round that published lets commits gather before the next: at a steady flow the
        // feed goes out in rounds of many events, not one round (two statements) per commit.
        if (typeof published === 'number' && published > 0) await pause(ROUND_GAP_MS);
        // Another process relays: look again after a poll, whatever commits here meanwhile
        // (it publishes them; trying the lock on every commit would only cost round trips).
        backingOff = published === 'busy';
        if (backingOff) dirty = false;
        await sleep(pollMs);
        backingOff = false;
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
      if (!backingOff) wakeUp?.();
    },
    resume() {
      abandon?.();
      failures = 0;
      wakeUp?.();
    },
    async stop() {
      running = false;
      clearInterval(gauge);
      stopWaiting?.();
      wakeUp?.();
      // A round still waiting on the broker after a while is given up; its events stay in the outbox.
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([loop, new Promise((resolve) => (timer = setTimeout(resolve, 2000)))]);
      clearTimeout(timer);
      abandon?.();
      await loop;
      await giveUpLead();
    },
  };
}
