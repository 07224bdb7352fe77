import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { jetstreamManager, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream';
import { connect, headers, type NatsConnection } from '@nats-io/transport-node';
import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import { AppError } from '../../kernel/errors.js';
import type { EventEnvelope } from '../../kernel/envelope.js';
import type { Consumer } from '../delivery/consumer.js';
import type { EventLog } from '../log/event-log.js';
import type { Dispatcher } from '../delivery/dispatcher.js';
import type { TransportFactory } from '../engine.js';
import type { EngineMetrics } from '../observability/metrics.js';
import type { Storage } from '../storage/database.js';
import { createLeaseStore } from './nats/lease-store.js';
import { createPartitionLeases, type Lease, type PartitionLeases } from './nats/partition-leases.js';
import { startPartitionWorker } from './nats/partition-worker.js';
import { durableName, eventSubject, type StreamNames } from './nats/partitioning.js';
import { createRelay, type Relay } from './nats/relay.js';
import { ensureTopology } from './nats/topology.js';
import type { DependencyHealth, Transport } from './transport.js';

/** Settings of the NATS JetStream transport; only `servers` and `stream` have no default. */
export interface NatsTransportOptions {
  /** `nats://host:port`, or several. */
  servers: string | string[];
  /** The JetStream stream of the events, created if missing. */
  stream: string;
  /** Subjects are `<prefix>.events.<partition>.<eventType>`; default: the stream name in lower case. */
  subjectPrefix?: string;
  /** Partitions of the stream (default 8); fixed for the stream's lifetime. */
  partitions?: number;
  /** Events per fetch and per delivery transaction at most (default 256). */
  batchSize?: number;
  /** How long the broker waits for an ack before redelivering (default 10 s). */
  ackWaitMs?: number;
  /** How long one pull request waits for messages (default 5 s, at least 1 s). */
  fetchExpiresMs?: number;
  /** A partition lease not renewed for this long is free for another process (default 8 s). */
  leaseTtlMs?: number;
  /** How often leases are renewed and partitions rebalanced (default 2 s). */
  leaseRenewMs?: number;
  /** Longest wait of the outbox relay when no local commit woke it (default 100 ms). */
  relayPollMs?: number;
  /** How often consumer lag is sampled from the broker (default 5 s). */
  lagSampleMs?: number;
  /** An event published this long ago that never arrived is delivered from the log (default 30 s). */
  sweepGraceMs?: number;
}

interface NatsTransportDeps extends Required<Omit<NatsTransportOptions, 'servers' | 'stream' | 'subjectPrefix'>> {
  servers: string | string[];
  names: StreamNames;
  storage: Storage;
  log: EventLog;
  dispatcher: Dispatcher;
  logger: Logger;
  metrics: EngineMetrics;
}

const HEALTH_TIMEOUT_MS = 1500;
const REPAIR_EVERY_MS = 5000;

/** Runs what it is given one at a time, in the order given. */
type Lane = <T>(work: () => Promise<T>) => Promise<T>;

function createLane(): Lane {
  let tail: Promise<unknown> = Promise.resolve();
  return (work) => {
    const run = tail.then(work, work);
    tail = run.catch(() => undefined);
    return run;
  };
}

/** The distributed transport for `createEngine({ transport })`: outbox relay to JetStream, partitioned durable consumers. */
export function createNatsTransportFactory(options: NatsTransportOptions): TransportFactory {
  const deps = {
    servers: options.servers,
    names: { stream: options.stream, prefix: options.subjectPrefix ?? options.stream.toLowerCase() },
    partitions: options.partitions ?? 8,
    batchSize: options.batchSize ?? 256,
    ackWaitMs: options.ackWaitMs ?? 10_000,
    fetchExpiresMs: Math.max(1000, options.fetchExpiresMs ?? 5000),
    leaseTtlMs: options.leaseTtlMs ?? 8000,
    leaseRenewMs: options.leaseRenewMs ?? 2000,
    relayPollMs: options.relayPollMs ?? 100,
    lagSampleMs: options.lagSampleMs ?? 5000,
    sweepGraceMs: options.sweepGraceMs ?? 30_000,
  };
  return (parts) => createNatsTransport({ ...deps, storage: parts.storage, log: parts.log, dispatcher: parts.dispatcher, logger: parts.logger.child({ transport: 'nats' }), metrics: parts.metrics });
}

/**
 * Events leave the outbox through the relay (one process at a time) and reach each consumer
 * through one durable pull consumer per partition; the processes running a consumer share
 * its partitions by lease. Delivery goes through the dispatcher, so the inbox makes every
 * redelivery harmless, and the log, not the broker, decides the order (see partition-worker).
 */
function createNatsTransport(deps: NatsTransportDeps): Transport {
  const { storage, dispatcher, logger, metrics, names, partitions } = deps;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const db = storage.db as Kysely<any>;
  const owner = `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
  const consumers = new Map<string, Consumer>(dispatcher.consumers().map((c) => [c.name, c]));
  let nc: NatsConnection | undefined;
  let jsm: JetStreamManager | undefined;
  let js: JetStreamClient | undefined;
  let relay: Relay | undefined;
  let leases: PartitionLeases | undefined;
  let lagTimer: NodeJS.Timeout | undefined;
  let connected = false;
  let started = false;
  let lastRepair = 0;
  const topology = { ...names, partitions, ackWaitMs: deps.ackWaitMs, maxAckPending: deps.batchSize * 4 };
  // One delivery transaction at a time per consumer in this process. The partitions of a
  // consumer are fetched concurrently, but their transactions update the same rows when the
  // handlers share some (a product's stock, a statistics counter): run side by side, batches
  // lock them in different orders and deadlock each other, and a process working 8 partitions
  // of 2 consumers needs more connections than its pool has. Across processes the instances
  // still work in parallel, each on its own partitions.
  const lanes = new Map<string, Lane>([...consumers.keys()].map((name) => [name, createLane()]));

  async function publish(event: EventEnvelope, partition: number): Promise<void> {
    // For people reading the stream; consumers take the sequence from the envelope.
    const h = headers();
    h.set('Orderflow-Sequence', String(event.sequence));
    await js!.publish(eventSubject(names, partition, event.eventType), JSON.stringify(event), { msgID: event.eventId, headers: h, expect: { streamName: names.stream } });
  }

  function startWorker(lease: Lease) {
    return startPartitionWorker({
      lease,
      consumer: consumers.get(lease.consumer)!,
      messages: () => js!.consumers.get(names.stream, durableName(lease.consumer, lease.partition)),
      db,
      dispatcher,
      logger,
      batchSize: deps.batchSize,
      fetchExpiresMs: deps.fetchExpiresMs,
      ackWaitMs: deps.ackWaitMs,
      sweepGraceMs: deps.sweepGraceMs,
      onAppended: () => relay?.wake(),
      serialize: lanes.get(lease.consumer)!,
      onFailure: repairTopology,
    });
  }

  /**
   * After a failure, makes sure the stream and durables still exist (at most every few
   * seconds): a broker that lost its storage gets them back, and the log fills in the rest.
   */
  function repairTopology(): void {
    if (!jsm || !connected || Date.now() - lastRepair < REPAIR_EVERY_MS) return;
    lastRepair = Date.now();
    ensureTopology(jsm, topology, [...consumers.keys()]).catch((error: unknown) => logger.warn({ err: error }, 'checking the stream and its consumers failed'));
  }

  async function sampleLag(): Promise<void> {
    if (!connected || !jsm) return;
    for (const consumer of consumers.keys()) {
      let lag = 0;
      for (let p = 0; p < partitions; p++) {
        const info = await jsm.consumers.info(names.stream, durableName(consumer, p));
        lag += info.num_pending + info.num_ack_pending;
      }
      metrics.consumerLag.set({ consumer }, lag);
    }
  }

  /** Connects (reconnecting forever afterwards), makes the stream and durables, and the checkpoint rows of every partition. */
  async function open(): Promise<void> {
    const durables = new Map([...consumers.keys()].map((c) => [durableName(c, 0), c]));
    if (durables.size < consumers.size) throw new AppError('internal', 'NATS_DURABLE_NAME_CLASH', `two consumers map to one durable name: ${[...consumers.keys()].join(', ')}`);
    let connection: NatsConnection;
    try {
      connection = await connect({ servers: deps.servers, name: `orderflow ${owner}`, maxReconnectAttempts: -1, reconnectTimeWait: 1000, timeout: 5000 });
    } catch (error) {
      throw new AppError('unavailable', 'NATS_UNAVAILABLE', `cannot connect to NATS at ${String(deps.servers)}: ${(error as Error).message}`, { cause: error });
    }
    try {
      const manager = await jetstreamManager(connection, { timeout: 5000 });
      await ensureTopology(manager, topology, [...consumers.keys()]);
      await dispatcher.register(partitions);
      [nc, jsm, js, connected] = [connection, manager, manager.jetstream(), true];
      void watchStatus(connection);
    } catch (error) {
      await connection.close();
      throw error;
    }
  }

  async function watchStatus(connection: NatsConnection): Promise<void> {
    for await (const status of connection.status()) {
      if (status.type === 'disconnect') {
        connected = false;
        logger.warn({ server: connection.getServer() }, 'NATS connection lost; reconnecting');
      } else if (status.type === 'reconnect') {
        connected = true;
        logger.info({ server: connection.getServer() }, 'NATS connection back');
        relay?.resume();
        leases?.nudge();
      }
    }
  }

  return {
    name: 'nats',

    async start() {
      if (started) return;
      await open();
      started = true;
      relay = createRelay({ db, dialect: storage.dialect, head: () => deps.log.head(), partitions, publish, logger, metrics, batchSize: deps.batchSize, pollMs: deps.relayPollMs, onFailure: repairTopology });
      relay.start();
      leases = createPartitionLeases({
        store: createLeaseStore(db, storage.dialect),
        owner,
        consumers: [...consumers.keys()],
        partitions,
        ttlMs: deps.leaseTtlMs,
        renewMs: deps.leaseRenewMs,
        logger,
        startWorker,
      });
      await leases.start();
      lagTimer = setInterval(() => void sampleLag().catch((error: unknown) => logger.debug({ err: error }, 'sampling consumer lag failed')), deps.lagSampleMs);
      logger.info({ stream: names.stream, partitions, owner, partitionsOwned: leases.owned().length }, 'NATS transport started');
    },

    notify() {
      relay?.wake();
    },

    async stop() {
      if (!started) return;
      started = false;
      clearInterval(lagTimer);
      // Workers first: they commit and ack their batch; the relay then publishes what they emitted.
      await leases?.stop();
      await relay?.stop();
      await nc?.drain().catch((error: unknown) => logger.warn({ err: error }, 'draining the NATS connection failed'));
      connected = false;
    },

    async health(): Promise<DependencyHealth> {
      if (!nc || nc.isClosed() || !connected || !jsm) return { ok: false, detail: `nats: not connected (${String(deps.servers)})` };
      const manager = jsm;
      let timer: NodeJS.Timeout | undefined;
      try {
        await Promise.race([
          manager.getAccountInfo(),
          new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(`JetStream did not answer within ${HEALTH_TIMEOUT_MS} ms`)), HEALTH_TIMEOUT_MS))),
        ]);
        return { ok: true, detail: `nats ${nc.getServer()} stream ${names.stream}` };
      } catch (error) {
        return { ok: false, detail: `nats: ${(error as Error).message}` };
      } finally {
        clearTimeout(timer);
      }
    },
  };
}
