import { Worker } from 'node:worker_threads';
import type { MetricObjectWithValues, MetricValue } from 'prom-client';
import type { Logger } from 'pino';
import type { Config } from '../config.js';
import type { Transport } from '../platform/transport/transport.js';

/** What the delivery thread starts from. */
export interface DeliveryWorkerData {
  config: Config;
  /** A module whose `extraModules` export lists engine modules to run beside the business ones (tests). */
  extraModulesUrl: string | undefined;
  /** The request thread's flag of writes waiting for the lock (sqlite-dialect.ts, WriteTurns). */
  writeTurns: Int32Array;
}

/** Messages the request thread sends the delivery thread. */
export type ToDeliveryThread = { type: 'wake'; scope: 'log' | 'all' } | { type: 'metrics'; id: number } | { type: 'stop' };
/** Messages the delivery thread sends back. */
export type FromDeliveryThread =
  | { type: 'ready' }
  | { type: 'failed'; message: string }
  | { type: 'metrics'; id: number; series: MetricObjectWithValues<MetricValue<string>>[] }
  | { type: 'stopped' };

/**
 * The embedded mode runs in two threads on one SQLite file. The request thread (the main one)
 * answers HTTP, places orders (group commit) and serves reads; the delivery thread runs every
 * consumer and the durable timers, each thread on a connection of its own. SQLite lets one
 * connection write at a time; the other waits for the lock without blocking its event loop
 * (sqlite-dialect.ts). A commit on the request thread wakes the delivery thread at once; the
 * delivery thread finds everything else in the log, as after a restart.
 */
export interface DeliveryThread {
  /** A transport for the request thread's engine: its commits wake the delivery thread. */
  readonly transport: Transport;
  /** The delivery thread's metrics, to report with the request thread's. */
  metrics(): Promise<MetricObjectWithValues<MetricValue<string>>[]>;
  /** Finishes in-flight batches, commits, closes the thread's connection. */
  stop(): Promise<void>;
}

const METRICS_TIMEOUT_MS = 2_000;
const STOP_TIMEOUT_MS = 15_000;

/** Starts the delivery thread on `config` (the database must be migrated already) and waits until it runs. */
export async function startDeliveryThread(config: Config, options: { extraModulesUrl?: string | undefined; writeTurns: Int32Array }, logger: Logger): Promise<DeliveryThread> {
  const worker = spawnWorker({ config, extraModulesUrl: options.extraModulesUrl, writeTurns: options.writeTurns });
  const pendingMetrics = new Map<number, (series: MetricObjectWithValues<MetricValue<string>>[]) => void>();
  let nextMetricsId = 0;
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
 * The worker runs this file's sibling: compiled JavaScript as it is, or, when orderflow runs
 * from its TypeScript sources (tsx), the .ts file with tsx registered in the new thread first.
 */
function spawnWorker(workerData: DeliveryWorkerData): Worker {
  const fromSources = import.meta.url.endsWith('.ts');
  const entry = new URL(`./delivery-worker.${fromSources ? 'ts' : 'js'}`, import.meta.url);
  if (!fromSources) return new Worker(entry, { workerData });
  const bootstrap = `import('tsx/esm/api').then(({ register }) => { register(); return import(${JSON.stringify(entry.href)}); })`;
  return new Worker(bootstrap, { eval: true, workerData });
}
