import type { Kysely } from 'kysely';
import pino, { type Logger } from 'pino';
import { Gauge } from 'prom-client';
import { systemClock, type Clock, type Random } from '../kernel/clock.js';
import type { EventEnvelope } from '../kernel/envelope.js';
import { createEventSchemas, type EventSchemas } from '../kernel/event-schemas.js';
import { uuidGenerator, type IdGenerator } from '../kernel/ids.js';
import { defaultRetryPolicy, type Consumer, type RetryPolicy } from './delivery/consumer.js';
import { createDeadLetters, type DeadLetters } from './delivery/dead-letters.js';
import { createDispatcher, RETRY_TIMER, retryTimerKind, type Dispatcher } from './delivery/dispatcher.js';
import { inboxPruning } from './delivery/inbox-pruning.js';
import { deliveryMigrations } from './delivery/migrations.js';
import { createTimerFailures } from './delivery/timer-failures.js';
import { createTimerWorker, type TimerHandler } from './delivery/timer-worker.js';
import { createTimerStore, type Timer, type TimerStore } from './delivery/timers.js';
import { createEventLog, type EventLog } from './log/event-log.js';
import { eventLogMigrations } from './log/migrations.js';
import type { TxContext } from './log/tx-context.js';
import { createUnitOfWork, type UnitOfWork } from './log/unit-of-work.js';
import { tracingOff, type Tracing } from './observability/tracing.js';
import { stopTogether } from './stopping.js';
import { createPruner, type Pruner, type PruneTask } from './retention/pruner.js';
import { createEngineMetrics, type EngineMetrics } from './observability/metrics.js';
import type { Storage } from './storage/database.js';
import { migrate, type SchemaMigration } from './storage/migrations.js';
import { createInProcessTransport } from './transport/in-process.js';
import { natsTransportMigrations } from './transport/nats/migrations.js';
import type { DependencyHealth, Transport } from './transport/transport.js';

/** What a module contributes to the engine: its tables, its consumers and its timer handlers. */
export interface EngineModule {
  readonly name: string;
  readonly migrations: readonly SchemaMigration[];
  readonly consumers: readonly Consumer[];
  /**
   * Timer handlers by kind; each runs in the transaction that claims the timer and logs through
   * `log`, the process logger's child for this module and timer (as a consumer's handler logs through `ctx.log`).
   */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  readonly timers?: Readonly<Record<string, (timer: Timer, tx: TxContext<any>, log: Logger) => Promise<void>>>;
  /** Expired rows of its tables to delete in the background (retention/pruner.ts). */
  readonly pruning?: readonly PruneTask[];
  /**
   * Background loops of its own, made once the engine runs and started and stopped with its
   * delivery (the webhooks sender: work done outside any transaction, such as an HTTP call).
   */
  readonly workers?: readonly BackgroundWorker[];
}

/** A module's background loop, made from the runtime when the engine starts; `wake` is called on `Engine.wake()` (another thread or process committed work for it). */
export type BackgroundWorker = (runtime: ModuleRuntime) => { start(): void; wake(): void; stop(): Promise<void> };

/**
 * What a module's commands and queries run against once the engine exists: the outbox API,
 * the database (each module reads only its own tables), time, ids and the metrics registry.
 */
export interface ModuleRuntime {
  readonly unitOfWork: UnitOfWork;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  readonly db: Kysely<any>;
  readonly dialect: Storage['dialect'];
  readonly clock: Clock;
  readonly ids: IdGenerator;
  readonly logger: Logger;
  readonly metrics: EngineMetrics;
  /** Tells this process's delivery (and, in the embedded mode, the delivery thread's) there is work: `Engine.wake()`. */
  readonly wake: () => void;
}

/** Builds the transport once the engine's parts exist (the NATS adapter plugs in here). */
export type TransportFactory = (parts: { storage: Storage; log: EventLog; dispatcher: Dispatcher; logger: Logger; metrics: EngineMetrics; tracing: Tracing }) => Transport;

export interface EngineOptions {
  storage: Storage;
  modules: readonly EngineModule[];
  schemas?: EventSchemas;
  transport?: TransportFactory;
  clock?: Clock;
  random?: Random;
  ids?: IdGenerator;
  logger?: Logger;
  metrics?: EngineMetrics;
  /** Spans of appends, deliveries and handlers (default off: `startTracing`). */
  tracing?: Tracing;
  retry?: RetryPolicy;
  /** Events per delivery transaction at most. */
  batchSize?: number;
  pollMs?: number;
  /** Start the timer worker (default true); tests of crash windows turn it off. */
  timers?: boolean;
  /** How long inbox records are kept after their event was handled and passed by every checkpoint of its consumer (default 15 min). */
  inboxRetentionMs?: number;
  /** Run the modules' background workers (default true; the embedded mode runs them in the delivery thread). */
  workers?: boolean;
  /** Run the modules' pruning in the background (default true; one engine per process needs it). */
  pruning?: boolean | { everyMs?: number; batchSize?: number };
  /**
   * SQLite: hands over at once, synchronously, grouped work that waits for this process's writer
   * outside its event loop (the embedded delivery thread's placements, sent by the request
   * thread), so that a delivery round running now takes it into its transaction (`joinRound`)
   * instead of the next round after it.
   */
  collectWaitingWork?: () => void;
}

/** The running kernel: the outbox API for modules, the event store, dead letters and the delivery loops. */
export interface Engine {
  readonly storage: Storage;
  readonly unitOfWork: UnitOfWork;
  readonly log: EventLog;
  readonly deadLetters: DeadLetters;
  readonly timers: TimerStore;
  readonly dispatcher: Dispatcher;
  readonly metrics: EngineMetrics;
  readonly logger: Logger;
  readonly transport: Transport;
  /** Handed to modules so their commands and queries can run. */
  readonly runtime: ModuleRuntime;
  /** Applies every pending migration of the platform and the modules. */
  migrate(): Promise<string[]>;
  /** Starts delivery and timers. */
  start(): Promise<void>;
  /** Finishes in-flight handlers, commits, stops; the storage stays open (its owner closes it). */
  stop(): Promise<void>;
  /** Background pruning of expired bookkeeping rows; `runOnce()` prunes now. */
  readonly pruner: Pruner;
  /**
   * Looks at the log and the timers now: another connection committed (the embedded mode's
   * request thread). `'log'`: it only appended events and timers (a placement), which the
   * modules' background workers do not wait for; `'all'` (default) wakes those too (an API
   * action for them, such as a webhook redelivery).
   */
  wake(scope?: 'log' | 'all'): void;
  health(): Promise<{ storage: DependencyHealth; transport: DependencyHealth }>;
}

export function engineMigrations(modules: readonly EngineModule[]): SchemaMigration[] {
  return [...eventLogMigrations, ...deliveryMigrations, ...natsTransportMigrations, ...modules.flatMap((m) => m.migrations)];
}

/** Readiness answers within a second: a health check gives the database this long. */
const READINESS_PING_MS = 750;

export function createEngine(options: EngineOptions): Engine {
  const { storage, modules } = options;
  const clock = options.clock ?? systemClock;
  const random = options.random ?? Math.random;
  const ids = options.ids ?? uuidGenerator;
  const logger = options.logger ?? pino({ level: 'silent' });
  const metrics = options.metrics ?? createEngineMetrics();
  const tracing = options.tracing ?? tracingOff;
  const schemas = options.schemas ?? createEventSchemas();
  const log = createEventLog(storage.db, storage.dialect);
  if (storage.dialect === 'postgres' && !metrics.registry.getSingleMetric('orderflow_log_oldest_append_in_flight_seconds')) {
    new Gauge({
      name: 'orderflow_log_oldest_append_in_flight_seconds',
      help: 'Age of the oldest transaction with an append not yet committed; consumers wait for it (capped by the idle-in-transaction timeout)',
      registers: [metrics.registry],
      async collect() {
        this.set(await log.oldestAppendInFlight().catch(() => 0));
      },
    });
  }
  // Assigned below; the timer store calls it only once the engine runs.
  // eslint-disable-next-line prefer-const
  let timerWorker: ReturnType<typeof createTimerWorker> | undefined;
  const timers = createTimerStore(storage.db, storage.dialect, (dueAt) => timerWorker?.hint(dueAt));
  const consumers = modules.flatMap((m) => m.consumers);
  const dispatcher = createDispatcher({
    db: storage.db,
    dialect: storage.dialect,
    log,
    timers,
    schemas,
    consumers,
    ids,
    clock,
    random,
    retry: options.retry ?? defaultRetryPolicy,
    logger,
    metrics,
    tracing,
  });
  const transport = (options.transport ?? ((parts) => createInProcessTransport({
        ...parts,
        db: parts.storage.db,
        batchSize: options.batchSize,
        pollMs: options.pollMs,
        // SQLite runs one transaction at a time on its one connection: a round commits once.
        rounds: parts.storage.dialect === 'sqlite',
        boundedByHead: parts.storage.dialect === 'postgres',
        priorityWriterWaiting: parts.storage.priorityWriterWaiting,
        // Placements waiting for their group commit commit with the round instead, taken in at the
        // round's start, between its batches and before its commit.
        joinRound: (trx) => {
          options.collectWaitingWork?.();
          return unitOfWork.joinGroup(trx);
        },
      })))({
    storage,
    log,
    dispatcher,
    logger,
    metrics,
    tracing,
  });

  /** After any commit: wake the transport and the timers (the dispatcher counts its own appends). */
  function committed(appended: EventEnvelope[]): void {
    transport.notify(appended);
    timerWorker?.committed();
  }

  const unitOfWork = createUnitOfWork({
    db: storage.db,
    log,
    timers,
    random,
    ids,
    clock,
    groupCommit: storage.dialect === 'sqlite',
    tracing,
    onCommit: (appended) => {
      for (const event of appended) metrics.eventsAppended.inc({ event_type: event.eventType });
      committed(appended);
    },
  });
  const timerHandlers: Record<string, TimerHandler> = {};
  // Each consumer's retries are a timer kind of their own, fired only where the consumer runs.
  for (const consumer of consumers) {
    timerHandlers[retryTimerKind(consumer.name)] = async (key) => {
      committed(await dispatcher.retryFailed(key));
      return true;
    };
  }
  for (const module of modules) {
    for (const [kind, handle] of Object.entries(module.timers ?? {})) {
      const log = logger.child({ module: module.name, timerKind: kind });
      timerHandlers[kind] = (key) => unitOfWork.fireTimer(module.name, key, (timer, tx) => handle(timer, tx, log.child({ timer: timer.key })));
    }
  }
  const retry = options.retry ?? defaultRetryPolicy;
  const timerFailures = createTimerFailures(storage.db, ids);
  timerWorker = createTimerWorker({
    timers,
    handlers: timerHandlers,
    clock,
    logger,
    metrics,
    failures: timerFailures,
    retry,
    random,
    givesUp: (kind) => !kind.startsWith(`${RETRY_TIMER}:`),
    pollMs: options.pollMs,
  });
  const deadLetters = createDeadLetters({ db: storage.db, log, dispatcher, timerFailures, clock, afterChange: committed });
  const pruning = typeof options.pruning === 'object' ? options.pruning : {};
  const pruner = createPruner({
    db: storage.db,
    dialect: storage.dialect,
    tasks: [inboxPruning(options.inboxRetentionMs), ...modules.flatMap((m) => m.pruning ?? [])],
    clock,
    logger,
    metrics,
    ...pruning,
  });
  let started = false;
  let workers: ReturnType<BackgroundWorker>[] = [];
  const runtime: ModuleRuntime = { unitOfWork, db: storage.db, dialect: storage.dialect, clock, ids, logger, metrics, wake: () => wake() };
  function wake(scope: 'log' | 'all' = 'all'): void {
    transport.notify([]);
    timerWorker?.poke();
    if (scope === 'all') for (const worker of workers) worker.wake();
  }

  return {
    storage,
    unitOfWork,
    log,
    deadLetters,
    timers,
    dispatcher,
    metrics,
    logger,
    transport,
    pruner,
    runtime,
    migrate: () => migrate(storage, engineMigrations(modules)),
    async start() {
      if (started) return;
      started = true;
      await dispatcher.register();
      await transport.start();
      if (options.timers !== false) timerWorker?.start();
      if (options.pruning !== false) pruner.start();
      if (options.workers !== false) {
        workers = modules.flatMap((m) => m.workers ?? []).map((make) => make(runtime));
        for (const worker of workers) worker.start();
      }
    },
    async stop() {
      if (!started) return;
      started = false;
      await stopTogether(
        {
          [`the ${transport.name} transport (deliveries in flight)`]: () => transport.stop(),
          'the timer worker': () => timerWorker?.stop(),
          'the pruner': () => pruner.stop(),
          ...Object.fromEntries(workers.map((worker, i) => [`background worker ${i + 1}`, () => worker.stop()])),
        },
        logger,
      );
      workers = [];
    },
    wake,
    async health() {
      const storageHealth = await storage.ping(READINESS_PING_MS).then(
        async (): Promise<DependencyHealth> => {
          // Readers of the log wait for the oldest append in flight: worth saying once it is slow.
          const waiting = await log.oldestAppendInFlight().catch(() => 0);
          return { ok: true, detail: waiting >= 1 ? `${storage.dialect}; an append in flight for ${waiting.toFixed(1)} s holds back delivery` : storage.dialect };
        },
        (error: unknown): DependencyHealth => ({ ok: false, detail: `${storage.dialect}: ${(error as Error).message}` }),
      );
      return { storage: storageHealth, transport: await transport.health() };
    },
  };
}
