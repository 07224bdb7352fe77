import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { jetstreamManager, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream';
import { connect, headers, type NatsConnection } from '@nats-io/transport-node';
import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import { AppError } from '../../kernel/errors.js';
import type { EventEnvelope } from '../../kernel/envelope.js';
import type { Consumer } from '../delivery/consumer.js';
import { createSharedHead, type EventLog } from '../log/event-log.js';
import type { Dispatcher } from '../delivery/dispatcher.js';
import type { TransportFactory } from '../engine.js';
import type { EngineMetrics } from '../observability/metrics.js';
import type { Tracing } from '../observability/tracing.js';
import type { Storage } from '../storage/database.js';
import { stopInOrder } from '../stopping.js';
import { createLeaseStore } from './nats/lease-store.js';
import { createPartitionLeases, type Lease, type PartitionLeases } from './nats/partition-leases.js';
import { createConsumerLogReader, type ConsumerLogReader } from './nats/log-reader.js';
import { eventSubject, wakeSubject, type StreamNames } from './nats/partitioning.js';
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
  /** Events read per round and per delivery transaction at most (default 256). */
  batchSize?: number;
  /**
   * Longest wait of a consumer before it looks at the log again when no wake-up came (default
   * 250 ms). Commits wake the consumers of every process over NATS at once; this is for a
   * wake-up lost while NATS is away.
   */
  pollMs?: number;
  /** A partition lease not renewed for this long is free for another process (default 8 s). */
  leaseTtlMs?: number;
  /** How often leases are renewed and partitions rebalanced (default 2 s). */
  leaseRenewMs?: number;
  /** Longest wait of the outbox relay when no commit woke it (default 100 ms). */
  relayPollMs?: number;
  /** The stream's maximum message age (default 0: no limit); consumers read the log, not the stream. */
  streamMaxAgeMs?: number;
}

interface NatsTransportDeps extends Required<Omit<NatsTransportOptions, 'servers' | 'stream' | 'subjectPrefix'>> {
  servers: string | string[];
  names: StreamNames;
  storage: Storage;
  log: EventLog;
  dispatcher: Dispatcher;
  logger: Logger;
  metrics: EngineMetrics;
  tracing: Tracing;
}

const HEALTH_TIMEOUT_MS = 1500;
const REPAIR_EVERY_MS = 5000;

/** The distributed transport for `createEngine({ transport })`: outbox relay to JetStream, partitioned durable consumers. */
export function createNatsTransportFactory(options: NatsTransportOptions): TransportFactory {
  const deps = {
    servers: options.servers,
    names: { stream: options.stream, prefix: options.subjectPrefix ?? options.stream.toLowerCase() },
    partitions: options.partitions ?? 8,
    batchSize: options.batchSize ?? 256,
    pollMs: options.pollMs ?? 250,
    leaseTtlMs: options.leaseTtlMs ?? 8000,
    leaseRenewMs: options.leaseRenewMs ?? 2000,
    relayPollMs: options.relayPollMs ?? 100,
    streamMaxAgeMs: options.streamMaxAgeMs ?? 0,
  };
  return (parts) => createNatsTransport({ ...deps, storage: parts.storage, log: parts.log, dispatcher: parts.dispatcher, logger: parts.logger.child({ transport: 'nats' }), metrics: parts.metrics, tracing: parts.tracing });
}

/**
 * Consumers read the log: each process works the partitions it leased (the processes running
 * a consumer share its partitions by lease), reading their events straight from the log up
 * to its stable head (see log-reader). NATS carries a wake-up: after a commit that appended
 * events, a core NATS message tells every process to read, so an event crosses processes in
 * one read instead of a relay round and a broker delivery. The relay publishes the log to a
 * JetStream stream (one process at a time), the feed for systems outside orderflow; it is off
 * the path of orderflow's own consumers. With NATS away, consumers keep reading the log (they
 * poll every `pollMs`) and the feed catches up once NATS is back.
 */
function createNatsTransport(deps: NatsTransportDeps): Transport {
  const { storage, dispatcher, logger, metrics, names, partitions, tracing } = deps;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const db = storage.db as Kysely<any>;
  const owner = `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
  const consumers = new Map<string, Consumer>(dispatcher.consumers().map((c) => [c.name, c]));
  let nc: NatsConnection | undefined;
  let jsm: JetStreamManager | undefined;
  let js: JetStreamClient | undefined;
  let relay: Relay | undefined;
  let leases: PartitionLeases | undefined;
  let connected = false;
  let started = false;
  let lastRepair = 0;
  let wakePending = false;
  const wakeTypes = new Set<string>();
  const topology = { ...names, partitions, maxAgeMs: deps.streamMaxAgeMs };
  const head = createSharedHead(deps.log, deps.pollMs);
  const readers = new Map<string, ConsumerLogReader>(
    [...consumers.values()].map((consumer) => [
      consumer.name,
      createConsumerLogReader({
        consumer,
        log: deps.log,
        head,
        db,
        dispatcher,
        metrics,
        logger,
        partitions,
        batchSize: deps.batchSize,
        pollMs: deps.pollMs,
        onAppended: (events) => notify(events),
        onFailure: repairTopology,
      }),
    ]),
  );

  async function publish(event: EventEnvelope, partition: number): Promise<void> {
    // For people reading the stream: the event's place in the log.
    const h = headers();
    h.set('Orderflow-Sequence', String(event.sequence));
    const subject = eventSubject(names, partition, event.eventType);
    const send = () => js!.publish(subject, JSON.stringify(event), { msgID: event.eventId, headers: h, expect: { streamName: names.stream } });
    if (!tracing.enabled) {
      await send();
      return;
    }
    // A producer span in the event's trace; a reader of the stream continues it from the header.
    const span = tracing.startSpan(`send ${names.stream}`, {
      kind: 'producer',
      parent: event.metadata?.traceparent ?? null,
      attributes: {
        'messaging.system': 'nats',
        'messaging.operation.type': 'send',
        'messaging.operation.name': 'publish',
        'messaging.destination.name': subject,
        'messaging.message.id': event.eventId,
        'orderflow.event_type': event.eventType,
        'orderflow.sequence': event.sequence,
        'orderflow.correlation_id': event.correlationId,
      },
    });
    if (span.traceparent) h.set('traceparent', span.traceparent);
    try {
      await send();
    } catch (error) {
      span.fail(error);
      throw error;
    } finally {
      span.end();
    }
  }

  /** Wakes this process's readers of any of these event types (all of them without types). */
  function wakeReaders(types?: ReadonlySet<string>): void {
    head.invalidate();
    for (const [name, reader] of readers) {
      if (!types || Object.keys(consumers.get(name)!.handlers).some((t) => types.has(t))) reader.wake();
    }
  }

  /**
   * The log grew: wake this process's readers of those types and its relay, and (once per turn
   * of the event loop) every other process, naming the types appended so that a process
   * wakes only the consumers that have something to read.
   */
  function notify(appended: readonly EventEnvelope[]): void {
    const types = new Set(appended.map((e) => e.eventType));
    wakeReaders(appended.length > 0 ? types : undefined);
    relay?.wake();
    if (appended.length === 0 || !connected) return;
    for (const type of types) wakeTypes.add(type);
    if (wakePending) return;
    wakePending = true;
    setImmediate(() => {
      wakePending = false;
      const payload = [...wakeTypes].join(',');
      wakeTypes.clear();
      try {
        nc?.publish(wakeSubject(names), payload);
      } catch {
        // Closing or away: the others poll the log.
      }
    });
  }

  /** After a failure, makes sure the stream still exists (at most every few seconds): a broker that lost its storage gets it back. */
  function repairTopology(): void {
    if (!jsm || !connected || Date.now() - lastRepair < REPAIR_EVERY_MS) return;
    lastRepair = Date.now();
    ensureTopology(jsm, topology).catch((error: unknown) => logger.warn({ err: error }, 'checking the stream failed'));
  }

  /** Connects (reconnecting forever afterwards), makes the stream, the checkpoint rows of every partition, and listens for wake-ups. */
  async function open(): Promise<void> {
    let connection: NatsConnection;
    try {
      connection = await connect({
        servers: deps.servers,
        name: `orderflow ${owner}`,
        maxReconnectAttempts: -1,
        reconnectTimeWait: 1000,
        timeout: 5000,
        // Otherwise every request (each JetStream publish) builds two Error objects up front to
        // keep its caller's stack for a timeout that almost never comes (~2% of a process's CPU).
        noAsyncTraces: true,
      });
    } catch (error) {
      throw new AppError('unavailable', 'NATS_UNAVAILABLE', `cannot connect to NATS at ${String(deps.servers)} (NATS_URL): ${(error as Error).message}`, { cause: error });
    }
    try {
      const manager = await jetstreamManager(connection, { timeout: 5000 });
      await ensureTopology(manager, topology);
      await dispatcher.register(partitions);
      // Another process appended: wake the consumers of the types it names (all, if it names none).
      connection.subscribe(wakeSubject(names), {
        callback: (_error, message) => {
          const named = message?.string() ?? '';
          wakeReaders(named ? new Set(named.split(',')) : undefined);
        },
      });
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
        // Wake-ups sent while away were lost: read now.
        wakeReaders();
      }
    }
  }

  return {
    name: 'nats',

    async start() {
      if (started) return;
      await open();
      started = true;
      relay = createRelay({ db, dialect: storage.dialect, stream: names.stream, head: () => head.get(), partitions, publish, logger, metrics, batchSize: deps.batchSize, pollMs: deps.relayPollMs, onFailure: repairTopology });
      relay.start();
      leases = createPartitionLeases({
        store: createLeaseStore(db, storage.dialect),
        owner,
        consumers: [...consumers.keys()],
        partitions,
        ttlMs: deps.leaseTtlMs,
        renewMs: deps.leaseRenewMs,
        logger,
        startWorker: (lease: Lease) => readers.get(lease.consumer)!.add(lease),
      });
      await leases.start();
      logger.info({ stream: names.stream, partitions, owner, partitionsOwned: leases.owned().length }, 'NATS transport started');
    },

    notify,

    async stop() {
      if (!started) return;
      started = false;
      // Readers first: they commit their batch; the relay then publishes what they emitted.
      await stopInOrder(
        {
          'the partition readers (their batches in flight) and the leases': () => leases?.stop(),
          'the relay (its round in flight)': () => relay?.stop(),
          'the NATS connection (draining)': () => nc?.drain().catch((error: unknown) => logger.warn({ err: error }, 'draining the NATS connection failed')),
        },
        logger,
      );
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
