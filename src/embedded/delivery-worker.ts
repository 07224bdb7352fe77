/**
 * The delivery thread of the embedded mode (see delivery-thread.ts): every consumer and the
 * durable timers run here, on a SQLite connection of this thread's own, so that their batches
 * never hold up the thread that answers HTTP requests. Started by the request thread after it
 * has migrated the database; it talks to it only through messages.
 */
import { parentPort, workerData } from 'node:worker_threads';
import pino from 'pino';
import { createBusinessModules } from '../composition.js';
import { loadExtraModules } from './extra-modules.js';
import { createEngine } from '../platform/engine.js';
import { injectHandlerFaults } from '../platform/delivery/fault-injection.js';
import { createEngineMetrics } from '../platform/observability/metrics.js';
import { startTracing, traceLogOptions, tracingOff, type Tracing } from '../platform/observability/tracing.js';
import { openStorage } from '../platform/storage/database.js';
import type { DeliveryWorkerData, FromDeliveryThread, ToDeliveryThread } from './delivery-thread.js';

const port = parentPort!;
const { config, extraModulesUrl, writeTurns } = workerData as DeliveryWorkerData;
const send = (message: FromDeliveryThread) => port.postMessage(message);

try {
  let tracing: Tracing = tracingOff;
  const logger = pino({ level: config.logLevel, ...traceLogOptions(config.tracing, () => tracing) }).child({ thread: 'delivery' });
  tracing = await startTracing(config.tracing, { logger, attributes: { 'orderflow.modules': config.modules.join(','), 'thread.name': 'delivery' } });
  // The request thread's connection runs the background checkpoints; one is enough.
  const storage = await openStorage(config.databaseUrl, {
    sqliteSynchronous: config.sqliteSynchronous,
    checkpointer: false,
    // Requests go first: this thread holds back while the request thread waits for the lock.
    writeTurns: { waiting: writeTurns, priority: false },
  });
  const metrics = createEngineMetrics();
  const business = createBusinessModules(config, {
    onSagaSettled: (durationMs, state) => metrics.sagaDuration.observe({ outcome: state.toLowerCase() }, durationMs / 1000),
  });
  const engine = createEngine({
    storage,
    modules: injectHandlerFaults([...business.engineModules(config.modules), ...(extraModulesUrl ? await loadExtraModules(extraModulesUrl) : [])], config.faults),
    logger,
    metrics,
    tracing,
    retry: { maxRetries: config.delivery.maxRetries, baseDelayMs: config.delivery.retryBaseMs, maxDelayMs: 60_000 },
    batchSize: config.delivery.batchSize,
    inboxRetentionMs: config.inboxRetentionMs,
  });
  business.connect(engine.runtime);
  await engine.start();

  port.on('message', (message: ToDeliveryThread) => {
    switch (message.type) {
      case 'wake':
        engine.wake(message.scope);
        return;
      case 'metrics':
        void metrics.registry.getMetricsAsJSON().then((series) => send({ type: 'metrics', id: message.id, series }));
        return;
      case 'stop':
        void (async () => {
          await engine.stop();
          await storage.close();
          await tracing.shutdown();
          send({ type: 'stopped' });
          // Nothing else keeps this thread alive: closing the port lets it end.
          port.close();
        })();
        return;
    }
  });
  send({ type: 'ready' });
} catch (error) {
  send({ type: 'failed', message: (error as Error).stack ?? String(error) });
}
