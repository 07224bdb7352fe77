import pino, { type Logger } from 'pino';
import type { Config } from './config.js';
import { buildApp } from './http/app.js';
import { createEngine, type Engine, type EngineModule } from './platform/engine.js';
import { createEngineMetrics } from './platform/observability/metrics.js';
import { openStorage, type Storage } from './platform/storage/database.js';

/** A running orderflow process. */
export interface Orderflow {
  engine: Engine;
  storage: Storage;
  /** The HTTP address, when this process runs the `http` module. */
  address: string | undefined;
  /** Stops taking requests, finishes in-flight handlers, commits, closes the database. */
  stop(): Promise<void>;
}

/** The modules this process runs, per `MODULES` (the business modules register here). */
export function selectModules(_config: Config): EngineModule[] {
  return [];
}

/** The composition root: opens storage, migrates, starts delivery and, if asked, HTTP. */
export async function startOrderflow(config: Config, logger: Logger = pino({ level: config.logLevel })): Promise<Orderflow> {
  const storage = await openStorage(config.databaseUrl, { sqliteSynchronous: config.sqliteSynchronous });
  const engine = createEngine({
    storage,
    modules: selectModules(config),
    logger,
    metrics: createEngineMetrics(),
    retry: { maxRetries: config.delivery.maxRetries, baseDelayMs: config.delivery.retryBaseMs, maxDelayMs: 60_000 },
    batchSize: config.delivery.batchSize,
  });
  const applied = await engine.migrate();
  if (applied.length > 0) logger.info({ migrations: applied }, 'migrations applied');
  await engine.start();

  const app = config.modules.includes('http') ? await buildApp({ engine, logger }) : undefined;
  const address = app ? await app.listen({ port: config.port, host: '0.0.0.0' }) : undefined;
  logger.info({ database: storage.description, transport: engine.transport.name, modules: config.modules, address }, 'orderflow started');

  let stopping: Promise<void> | undefined;
  return {
    engine,
    storage,
    address,
    stop: () =>
      (stopping ??= (async () => {
        await app?.close();
        await engine.stop();
        await storage.close();
        logger.info('orderflow stopped');
      })()),
  };
}
