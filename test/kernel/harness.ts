import type { Kysely } from 'kysely';
import { createEngine, type Engine, type EngineOptions } from '../../src/platform/engine.js';
import type { DialectName, Storage } from '../../src/platform/storage/database.js';
import { createScratchDatabase, type ScratchDatabase } from '../support/databases.js';
import { createTestModule, testSchemas, type TestControls, type TestTables } from '../support/kernel-test-module.js';

export interface KernelHarness {
  scratch: ScratchDatabase;
  storage: Storage;
  engine: Engine;
  controls: TestControls;
  db: Kysely<TestTables>;
  /** A second engine on the same database, as after a restart. */
  restart(options?: Partial<EngineOptions>): Promise<Engine>;
  close(): Promise<void>;
}

export async function createKernelHarness(dialect: DialectName, options: Partial<EngineOptions> = {}): Promise<KernelHarness> {
  const scratch = await createScratchDatabase(dialect);
  const storage = await scratch.open();
  const controls: TestControls = { failFor: new Set(), chainUntil: 0 };
  const module = createTestModule(controls);
  const build = (extra: Partial<EngineOptions>) =>
    createEngine({ storage, modules: [module], schemas: testSchemas, pollMs: 50, retry: { maxRetries: 3, baseDelayMs: 40, maxDelayMs: 2000 }, ...options, ...extra });
  let engine = build({});
  await engine.migrate();
  const harness: KernelHarness = {
    scratch,
    storage,
    engine,
    controls,
    db: storage.db as Kysely<TestTables>,
    async restart(extra = {}) {
      await engine.stop();
      engine = build(extra);
      harness.engine = engine;
      return engine;
    },
    async close() {
      await engine.stop();
      await storage.close();
      await scratch.drop();
    },
  };
  return harness;
}
