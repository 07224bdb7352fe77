import pino, { type Logger } from 'pino';
import { createBusinessModules, type ModuleApis } from './composition.js';
import type { Config } from './config.js';
import type { OrdersApi } from './modules/orders/index.js';
import { buildApp } from './http/app.js';
import { createEngine, type Engine, type EngineModule } from './platform/engine.js';
import { injectHandlerFaults } from './platform/delivery/fault-injection.js';
import { createEngineMetrics } from './platform/observability/metrics.js';
import { startTracing, traceLogOptions, tracingOff, type Tracing } from './platform/observability/tracing.js';
import { AppError } from './kernel/errors.js';
import { openStorage, parseDatabaseUrl, type Storage } from './platform/storage/database.js';
import { stopInOrder } from './platform/stopping.js';
import { ensureReachable } from './platform/storage/reachability.js';
import { createWriteTurnsFlag } from './platform/storage/sqlite-dialect.js';
import type { Transport } from './platform/transport/transport.js';
import { startDeliveryThread, type DeliveryThread } from './embedded/delivery-thread.js';
import { loadExtraModules } from './embedded/extra-modules.js';

/** A running orderflow process. */
export interface Orderflow {
  engine: Engine;
  storage: Storage;
  apis: ModuleApis;
  /** The HTTP address, when this process runs the `http` module. */
  address: string | undefined;
  /** Stops taking requests, finishes in-flight handlers, commits, closes the database. */
  stop(): Promise<void>;
}

export interface StartOptions {
  logger?: Logger;
  /**
   * More engine modules to run beside the business ones (tests use it to watch the flow).
   * Given as objects they run in this thread, and the embedded mode then keeps delivery here
   * too; given as the URL of a module whose `extraModules` export lists them, the delivery
   * thread loads them as well.
   */
  extraModules?: readonly EngineModule[];
  extraModulesUrl?: string;
  /** Tracing started by the caller (whose logger then carries trace ids); by default as `config.tracing` says, stopped with the process. */
  tracing?: Tracing;
  /**
   * The HS256 secret the API verifies tokens with, when it does not come from JWT_SECRET (the
   * CLI's start passes the embedded mode's secret file here). Never logged.
   */
  jwtSecret?: string;
}

/** The composition root: opens storage, migrates, starts delivery and, if asked, HTTP. */
export async function startOrderflow(config: Config, options: StartOptions = {}): Promise<Orderflow> {
  let tracing: Tracing = options.tracing ?? tracingOff;
  const logger = options.logger ?? pino({ level: config.logLevel, ...traceLogOptions(config.tracing, () => tracing) });
  tracing = options.tracing ?? (await startTracing(config.tracing, { logger, attributes: { 'orderflow.modules': config.modules.join(',') } }));
  // Embedded on a file: consumers and timers run in a delivery thread of their own, and this
  // thread (requests, placements) goes first at the write lock.
  const separateDelivery = parseDatabaseUrl(config.databaseUrl).dialect === 'sqlite' && !config.natsUrl && !config.databaseUrl.endsWith(':memory:') && !options.extraModules;
  const writeTurns = separateDelivery ? createWriteTurnsFlag() : undefined;
  const storage = await openStorage(config.databaseUrl, {
    sqliteSynchronous: config.sqliteSynchronous,
    timeoutMs: config.databaseTimeoutMs,
    preparedStatements: config.databasePreparedStatements,
    ...(writeTurns ? { writeTurns: { waiting: writeTurns, priority: true } } : {}),
  });
  await ensureReachable(storage).catch(async (error: unknown) => {
    await storage.close();
    throw error;
  });
  const extraModules = options.extraModules ?? (options.extraModulesUrl ? await loadExtraModules(options.extraModulesUrl) : []);
  let deliveryThread: DeliveryThread | undefined;
  const metrics = createEngineMetrics();
  const business = createBusinessModules(config, {
    onSagaSettled: (durationMs, state) => metrics.sagaDuration.observe({ outcome: state.toLowerCase() }, durationMs / 1000),
  });
  const engine = createEngine({
    storage,
    modules: injectHandlerFaults([...business.engineModules(config.modules), ...extraModules], config.faults),
    logger,
    metrics,
    tracing,
    retry: { maxRetries: config.delivery.maxRetries, baseDelayMs: config.delivery.retryBaseMs, maxDelayMs: 60_000 },
    batchSize: config.delivery.batchSize,
    inboxRetentionMs: config.inboxRetentionMs,
    // Distributed mode (SPEC §1): without NATS_URL events go through the in-process transport.
    // The NATS transport is loaded only when NATS_URL names a server: an embedded process does not hold the client's code.
    transport: config.natsUrl
      ? (await import('./platform/transport/nats.js')).createNatsTransportFactory({
          servers: config.natsUrl,
          stream: config.natsStream,
          subjectPrefix: config.natsSubjectPrefix,
          partitions: config.natsPartitions,
          batchSize: config.delivery.batchSize,
          streamMaxAgeMs: config.natsStreamMaxAgeMs,
        })
      : separateDelivery
        ? () => forwardTo(() => deliveryThread?.transport)
        : undefined,
    timers: !separateDelivery,
    workers: !separateDelivery,
    pruning: !separateDelivery,
  });
  const applied = await engine.migrate();
  if (applied.length > 0) logger.info({ migrations: applied }, 'migrations applied');
  if (separateDelivery) {
    deliveryThread = await startDeliveryThread(config, { extraModulesUrl: options.extraModulesUrl, writeTurns: writeTurns! }, logger);
    metrics.addSource(() => deliveryThread!.metrics());
  }
  const connected = business.connect(engine.runtime);
  // Embedded: placements are written by the delivery thread's connection, with its deliveries
  // (delivery-thread.ts); the API's other commands write from here.
  // This thread checks and prices a placement (reads); the delivery thread writes it.
  const thread = deliveryThread;
  const placeOrder: OrdersApi['placeOrder'] | undefined =
    thread &&
    (async (input, origin) => {
      const traceparent = tracing.activeTraceparent();
      return thread.placeOrder(await connected.orders.pricePlacement(input), origin, traceparent);
    });
  const apis: ModuleApis = placeOrder ? { ...connected, orders: { ...connected.orders, placeOrder } } : connected;
  await engine.start();

  const app = config.modules.includes('http') ? await buildApp({ engine, apis, config: { ...config, jwtSecret: options.jwtSecret ?? config.jwtSecret }, logger, tracing, traceUrl: config.traceUrl }) : undefined;
  let address: string | undefined;
  try {
    address = app ? await app.listen({ port: config.port, host: config.host }) : undefined;
  } catch (error) {
    await app?.close();
    await engine.stop();
    await deliveryThread?.stop();
    await storage.close();
    throw listenFailure(error, config);
  }
  logger.info({ database: storage.description, transport: engine.transport.name, modules: config.modules, address }, 'orderflow started');

  let stopping: Promise<void> | undefined;
  return {
    engine,
    storage,
    apis,
    address,
    stop: () =>
      (stopping ??= (async () => {
        await stopInOrder(
          {
            'the HTTP server (requests in flight)': () => app?.close(),
            'the engine': () => engine.stop(),
            'the delivery thread': () => deliveryThread?.stop(),
            'the database connections': () => storage.close(),
            // Last: the spans of everything above are exported before the process ends.
            'the export of traces': () => (options.tracing ? undefined : tracing.shutdown()),
          },
          logger,
        );
        logger.info('orderflow stopped');
      })()),
  };
}

/** Why the API could not listen, in one line naming the setting to change (SPEC §4: PORT, HOST). */
function listenFailure(error: unknown, config: Config): unknown {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  const where = `${config.host}:${config.port}`;
  const messages: Record<string, string> = {
    EADDRINUSE: `port ${config.port} is already in use on ${config.host}: stop the process that holds it, or set PORT to a free port`,
    EACCES: `no permission to listen on ${where}: set PORT to a port above 1023`,
    EADDRNOTAVAIL: `HOST ${config.host} is not an address of this machine: set HOST to one of its addresses, 127.0.0.1 or 0.0.0.0`,
    ENOTFOUND: `HOST ${config.host} does not resolve to an address: set HOST to an address of this machine, 127.0.0.1 or 0.0.0.0`,
  };
  const message = code ? messages[code] : undefined;
  return message ? new AppError('unavailable', 'CANNOT_LISTEN', message, { cause: error }) : error;
}

/** A transport whose calls go to one made later (the delivery thread starts after the migrations). */
function forwardTo(target: () => Transport | undefined): Transport {
  return {
    name: 'in-process',
    start: async () => target()?.start(),
    stop: async () => target()?.stop(),
    notify: (appended) => target()?.notify(appended),
    health: async () => (await target()?.health()) ?? { ok: false, detail: 'in-process: the delivery thread has not started' },
  };
}
