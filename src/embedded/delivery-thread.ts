import { setFlagsFromString } from 'node:v8';
import { MessageChannel, Worker, type MessagePort } from 'node:worker_threads';
import type { MetricObjectWithValues, MetricValue } from 'prom-client';
import type { Logger } from 'pino';
import type { Config } from '../config.js';
import type { CommandOrigin } from '../kernel/envelope.js';
import { AppError, appError, isErrorCode } from '../kernel/errors.js';
import type { OrderView, PricedPlacement } from '../modules/orders/index.js';
import type { Transport } from '../platform/transport/transport.js';

/** What the delivery thread starts from. */
export interface DeliveryWorkerData {
  config: Config;
  /** A module whose `extraModules` export lists engine modules to run beside the business ones (tests). */
  extraModulesUrl: string | undefined;
  /** The request thread's flag of writes waiting for the lock (sqlite-dialect.ts, WriteTurns). */
  writeTurns: Int32Array;
  /** Slot 0: placements handed to the delivery thread and not yet answered (its rounds give way to them). */
  placementsWaiting: Int32Array;
  /**
   * Where placements arrive (`PlacementMessage`), a channel of their own: a delivery round takes
   * them off it between two batches (`receiveMessageOnPort`) without touching other messages.
   */
  placements: MessagePort;
}

/** A placement handed to the delivery thread, priced already (on the request thread). */
export interface PlacementMessage {
  id: number;
  placement: PricedPlacement;
  origin: CommandOrigin | undefined;
  traceparent: string | undefined;
}

/** Messages the request thread sends the delivery thread. */
export type ToDeliveryThread =
  | { type: 'wake'; scope: 'log' | 'all' }
  | { type: 'metrics'; id: number }
  | { type: 'stop' };
/** Messages the delivery thread sends back. */
export type FromDeliveryThread =
  | { type: 'ready' }
  | { type: 'failed'; message: string }
  | { type: 'placed'; id: number; order: OrderView }
  | { type: 'place-failed'; id: number; error: ErrorOnTheWire }
  | { type: 'metrics'; id: number; series: MetricObjectWithValues<MetricValue<string>>[] }
  | { type: 'stopped' };

/**
 * An error as it crosses between threads: what the HTTP layer reads of it (an AppError's code and
 * details; another error's name, message and driver code, with its causes').
 */
export interface ErrorOnTheWire {
  name: string;
  message: string;
  code?: string | undefined;
  details?: Record<string, unknown> | undefined;
  app: boolean;
  cause?: ErrorOnTheWire | undefined;
}

const MAX_CAUSES = 5;

export function errorToWire(error: unknown, depth = 0): ErrorOnTheWire {
  if (!(error instanceof Error)) return { name: 'Error', message: String(error), app: false };
  const { code, cause } = error as Error & { code?: unknown; cause?: unknown };
  return {
    name: error.name,
    message: error.message,
    code: typeof code === 'string' ? code : undefined,
    details: error instanceof AppError ? error.details : undefined,
    app: error instanceof AppError,
    cause: cause === undefined || depth >= MAX_CAUSES ? undefined : errorToWire(cause, depth + 1),
  };
}

export function errorFromWire(wire: ErrorOnTheWire): Error {
  const cause = wire.cause ? errorFromWire(wire.cause) : undefined;
  if (wire.app && wire.code !== undefined && isErrorCode(wire.code)) return appError(wire.code, wire.message, { ...(wire.details ? { details: wire.details } : {}), ...(cause ? { cause } : {}) });
  const error = new Error(wire.message, cause === undefined ? undefined : { cause });
  error.name = wire.name;
  if (wire.code !== undefined) (error as Error & { code: string }).code = wire.code;
  return error;
}

/**
 * The embedded mode runs in two threads on one SQLite file. The request thread (the main one)
 * answers HTTP and serves reads; the delivery thread places orders (group commit) and runs every
 * consumer and the durable timers. Each thread has a connection of its own, but the hot path's
 * writes (placements and deliveries) all go through the delivery thread's: SQLite lets one
 * connection write at a time, and a connection that writes alone keeps its page cache from one
 * transaction to the next (another connection's commit empties it) and never waits for the
 * lock. The request thread's own writes (the API's other commands) wait for the lock without
 * blocking its event loop (sqlite-dialect.ts); a commit there wakes the delivery thread at once,
 * which finds everything else in the log, as after a restart.
 */
export interface DeliveryThread {
  /** A transport for the request thread's engine: its commits wake the delivery thread. */
  readonly transport: Transport;
  /**
   * Writes a priced placement on the delivery thread (the orders module's `commitPlacement`, in
   * the transaction of the round running there or grouped with the placements around it, in the
   * span `traceparent` names); resolves once it has committed.
   */
  placeOrder(placement: PricedPlacement, origin: CommandOrigin | undefined, traceparent: string | undefined): Promise<OrderView>;
  /** The delivery thread's metrics, to report with the request thread's. */
  metrics(): Promise<MetricObjectWithValues<MetricValue<string>>[]>;
  /** Finishes in-flight batches, commits, closes the thread's connection. */
  stop(): Promise<void>;
}

const METRICS_TIMEOUT_MS = 2_000;
const STOP_TIMEOUT_MS = 15_000;

/** Starts the delivery thread on `config` (the database must be migrated already) and waits until it runs. */
export async function startDeliveryThread(config: Config, options: { extraModulesUrl?: string | undefined; writeTurns: Int32Array }, logger: Logger): Promise<DeliveryThread> {
  const placementsWaiting = new Int32Array(new SharedArrayBuffer(4));
  const placements = new MessageChannel();
  const worker = spawnWorker({ config, extraModulesUrl: options.extraModulesUrl, writeTurns: options.writeTurns, placementsWaiting, placements: placements.port2 });
  const pendingMetrics = new Map<number, (series: MetricObjectWithValues<MetricValue<string>>[]) => void>();
  let nextMetricsId = 0;
  const pendingPlacements = new Map<number, { resolve(order: OrderView): void; reject(error: Error): void }>();
  let nextPlacementId = 0;
  /** Why placements cannot be handed over any more (the thread stopped or failed). */
  let gone: string | undefined;
  let stopping: Promise<void> | undefined;
  /** The wake-up queued for this turn of the event loop: 'all' when one of its calls was not a commit of events. */
  let wakeQueued: 'log' | 'all' | undefined;

  await new Promise<void>((resolve, reject) => {
    const settle = (error?: Error) => {
      worker.off('message', onMessage);
      worker.off('error', onError);
      worker.off('exit', onExit);
      if (error) reject(error);
      else resolve();
    };
    const onMessage = (message: FromDeliveryThread) => {
      if (message.type === 'ready') settle();
      if (message.type === 'failed') settle(new Error(`the delivery thread did not start: ${message.message}`));
    };
    const onError = (error: Error) => settle(error);
    const onExit = (code: number) => settle(new Error(`the delivery thread exited with code ${code} while starting`));
    worker.on('message', onMessage);
    worker.on('error', onError);
    worker.on('exit', onExit);
  });
  worker.on('message', (message: FromDeliveryThread) => {
    if (message.type === 'metrics') pendingMetrics.get(message.id)?.(message.series);
    else if (message.type === 'placed' || message.type === 'place-failed') {
      const pending = pendingPlacements.get(message.id);
      pendingPlacements.delete(message.id);
      if (message.type === 'placed') pending?.resolve(message.order);
      else pending?.reject(errorFromWire(message.error));
    }
  });
  // A placement the thread never answers is not known to be written: the caller gets a 503, and
  // a retry with the same Idempotency-Key (or a look at GET /orders) tells.
  const abandonPlacements = (why: string) => {
    gone ??= why;
    for (const { reject } of pendingPlacements.values()) reject(new AppError('unavailable', 'STORAGE_UNAVAILABLE', `${why}: the placement's outcome is unknown`));
    pendingPlacements.clear();
  };
  worker.on('exit', () => {
    abandonPlacements('the delivery thread ended');
    placements.port1.close();
  });
  // Without its delivery thread the process would accept orders it never completes: a crash
  // of that thread ends the process (nothing is lost: the log holds every commit, and the next
  // start delivers it), so a supervisor restarts it.
  worker.on('error', (error) => logger.fatal({ err: error }, 'the delivery thread failed; stopping'));
  worker.on('exit', (code) => {
    if (stopping) return;
    logger.fatal({ code }, 'the delivery thread ended unexpectedly; stopping');
    process.exit(1);
  });

  const post = (message: ToDeliveryThread) => worker.postMessage(message);
  return {
    placeOrder(placement, origin, traceparent) {
      if (stopping) gone ??= 'the delivery thread is stopping';
      if (gone) return Promise.reject(new AppError('unavailable', 'STORAGE_UNAVAILABLE', `${gone}: orders cannot be placed`));
      const id = nextPlacementId++;
      return new Promise<OrderView>((resolve, reject) => {
        pendingPlacements.set(id, { resolve, reject });
        // Counted before it is posted: a round in progress there gives way to it.
        Atomics.add(placementsWaiting, 0, 1);
        placements.port1.postMessage({ id, placement, origin, traceparent } satisfies PlacementMessage);
      });
    },
    transport: {
      name: 'in-process',
      start: async () => undefined,
      stop: async () => undefined,
      // Several commits in one turn of the event loop wake the thread once. Appended events
      // (placements) wake its delivery and timers; a bare wake-up (`Engine.wake()`, an API
      // action for a module's background worker) wakes the workers too.
      notify(appended) {
        if (stopping) return;
        const scope = appended.length > 0 ? 'log' : 'all';
        if (wakeQueued) {
          if (scope === 'all') wakeQueued = 'all';
          return;
        }
        wakeQueued = scope;
        queueMicrotask(() => {
          const queued = wakeQueued ?? 'all';
          wakeQueued = undefined;
          if (!stopping) post({ type: 'wake', scope: queued });
        });
      },
      health: async () => (stopping ? { ok: false, detail: 'in-process: the delivery thread is stopping' } : { ok: true, detail: 'in-process (delivery thread)' }),
    },
    metrics() {
      if (stopping) return Promise.resolve([]);
      const id = nextMetricsId++;
      return new Promise((resolve) => {
        const timer = setTimeout(() => finish([]), METRICS_TIMEOUT_MS);
        function finish(series: MetricObjectWithValues<MetricValue<string>>[]) {
          clearTimeout(timer);
          pendingMetrics.delete(id);
          resolve(series);
        }
        pendingMetrics.set(id, finish);
        post({ type: 'metrics', id });
      });
    },
    stop() {
      stopping ??= new Promise<void>((resolve) => {
        // The thread ends by itself once it has closed its connection and its port;
        // terminate() is only the fallback for one that does not.
        const timer = setTimeout(() => void worker.terminate(), STOP_TIMEOUT_MS);
        timer.unref();
        worker.once('exit', () => {
          clearTimeout(timer);
          resolve();
        });
        post({ type: 'stop' });
      });
      return stopping;
    },
  };
}

/**
 * The delivery thread's young generation, MiB (resourceLimits; two semi-spaces of 8 MiB, where
 * V8's default lets them grow to 16 MiB each). A round's objects live across scavenges: much
 * smaller and they are promoted and collected by the costlier full collections (the closed-loop
 * peak fell by up to a fifth at 8 MiB in docs/benchmarks.md), larger and the process keeps more
 * garbage between scavenges.
 */
const DELIVERY_YOUNG_GENERATION_MB = 24;

/**
 * The worker runs this file's sibling: compiled JavaScript as it is, or, when orderflow runs
 * from its TypeScript sources (tsx), the .ts file with tsx registered in the new thread first.
 */
function spawnWorker(workerData: DeliveryWorkerData): Worker {
  const fromSources = import.meta.url.endsWith('.ts');
  const entry = new URL(`./delivery-worker.${fromSources ? 'ts' : 'js'}`, import.meta.url);
  // `npm start` gives the request thread a small young generation (`node --max-semi-space-size`),
  // and V8 would give every thread created later the same, over a worker's resourceLimits. The
  // flag is read only when a thread's heap is set up: cleared here, the delivery thread gets the
  // size below (the request thread keeps its own).
  setFlagsFromString('--max-semi-space-size=0');
  const resourceLimits = { maxYoungGenerationSizeMb: DELIVERY_YOUNG_GENERATION_MB };
  const transferList = [workerData.placements];
  if (!fromSources) return new Worker(entry, { workerData, resourceLimits, transferList });
  const bootstrap = `import('tsx/esm/api').then(({ register }) => { register(); return import(${JSON.stringify(entry.href)}); })`;
  return new Worker(bootstrap, { eval: true, workerData, resourceLimits, transferList });
}
