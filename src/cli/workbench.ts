import pino from 'pino';
import { createBusinessModules, type ModuleApis } from '../composition.js';
import { moduleNames, type Config } from '../config.js';
import { createEngine, type Engine } from '../platform/engine.js';
import { openStorage, type Storage } from '../platform/storage/database.js';
import { ensureReachable } from '../platform/storage/reachability.js';

/** What a one-shot command works with: the database, migrated, and an engine that is not started. */
export interface Workbench {
  storage: Storage;
  engine: Engine;
  apis: ModuleApis;
  close(): Promise<void>;
}

/**
 * Opens the database of `config`, checks that it answers, applies pending migrations and
 * builds an engine on it without starting delivery: the running server keeps delivering.
 * With `consumers`, the engine knows every module's consumers (a discarded dead letter
 * releases parked events, and those run their consumer's handler in this process).
 */
export async function openWorkbench(config: Config, options: { consumers?: boolean } = {}): Promise<Workbench> {
  const storage = await openStorage(config.databaseUrl, { sqliteSynchronous: config.sqliteSynchronous, poolSize: 2 });
  try {
    await ensureReachable(storage);
    const business = createBusinessModules(config);
    const engine = createEngine({
      storage,
      modules: business.engineModules(options.consumers ? moduleNames : []),
      // Commands print their own output; only warnings and errors are logged, to stderr.
      logger: pino({ level: 'warn' }, pino.destination(2)),
      retry: { maxRetries: config.delivery.maxRetries, baseDelayMs: config.delivery.retryBaseMs, maxDelayMs: 60_000 },
    });
    await engine.migrate();
    return { storage, engine, apis: business.connect(engine.runtime), close: () => storage.close() };
  } catch (error) {
    await storage.close();
    throw error;
  }
}
