/**
 * The delivery thread of the embedded mode (see delivery-thread.ts): every consumer and the
 * durable timers run here, on a SQLite connection of this thread's own, so that their batches
 * never hold up the thread that answers HTTP requests. Started by the request thread after it
 * has migrated the database; it talks to it only through messages.
 */
import { parentPort, receiveMessageOnPort, workerData } from 'node:worker_threads';
import pino from 'pino';
import { createBusinessModules } from '../composition.js';
import { loadExtraModules } from './extra-modules.js';
import type { OrderView } from '../modules/orders/index.js';
import { createEngine } from '../platform/engine.js';
import { injectHandlerFaults } from '../platform/delivery/fault-injection.js';
import { createEngineMetrics } from '../platform/observability/metrics.js';
import { startTracing, traceLogOptions, tracingOff, type Tracing } from '../platform/observability/tracing.js';
import { openStorage } from '../platform/storage/database.js';
import { errorToWire, type DeliveryWorkerData, type FromDeliveryThread, type PlacementMessage, type ToDeliveryThread } from './delivery-thread.js';

const port = parentPort!;
const { config, extraModulesUrl, writeTurns, placementsWaiting, placements } = workerData as DeliveryWorkerData;
const send = (message: FromDeliveryThread) => port.postMessage(message);

try {
  let tracing: Tracing = tracingOff;
  const logger = pino({ level: config.logLevel, ...traceLogOptions(config.tracing, () => tracing) }).child({ thread: 'delivery' });
  tracing = await startTracing(config.tracing, { logger, attributes: { 'orderflow.modules': config.modules.join(','), 'thread.name': 'delivery' } });
  // The request thread's connection runs the background checkpoints; one is enough.
  const connection = await openStorage(config.databaseUrl, {
    sqliteSynchronous: config.sqliteSynchronous,
    checkpointer: false,
    // Requests go first: this thread holds back while the request thread waits for the lock.
    writeTurns: { waiting: writeTurns, priority: false },
  });
  // Placements go first too: a delivery round gives way to those handed to this thread.
  const requestThreadWaiting = connection.priorityWriterWaiting;
  const storage = { ...connection, priorityWriterWaiting: () => Atomics.load(placementsWaiting, 0) > 0 || (requestThreadWaiting?.() ?? false) };
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
    // A round running now takes in the placements that arrived meanwhile (commitPlacement joins
    // the unit of work's group at once), instead of leaving them to the round after it.
    collectWaitingWork: () => {
      for (let received = receiveMessageOnPort(placements); received; received = receiveMessageOnPort(placements)) place(received.message as PlacementMessage);
    },
  });
  const apis = business.connect(engine.runtime);
  await engine.start();

  /** Writes a placement handed over by the request thread, and answers it once committed (or refused). */
  function place(message: PlacementMessage): void {
    let committed: Promise<OrderView>;
    try {
      committed = tracing.withParent(message.traceparent, () => apis.orders.commitPlacement(message.placement, message.origin));
    } catch (error) {
      // Thrown before it had a promise to reject (inside a round's collection too): answered all the same.
      committed = Promise.reject(error);
    }
    committed
      .then(
        (order) => send({ type: 'placed', id: message.id, order }),
        (error: unknown) => send({ type: 'place-failed', id: message.id, error: errorToWire(error) }),
      )
      .finally(() => Atomics.sub(placementsWaiting, 0, 1));
  }
  placements.on('message', place);

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
          // Nothing else keeps this thread alive: closing the ports lets it end.
          placements.close();
          port.close();
        })();
        return;
    }
  });
  send({ type: 'ready' });
} catch (error) {
  send({ type: 'failed', message: (error as Error).stack ?? String(error) });
}
