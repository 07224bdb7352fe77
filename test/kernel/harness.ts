import type { Kysely } from 'kysely';
import { createEngine, type Engine, type EngineOptions } from '../../src/platform/engine.js';
import type { Storage } from '../../src/platform/storage/database.js';
import { createScratchDatabase, type ScratchDatabase } from '../support/databases.js';
import { createTestModule, testSchemas, type TestControls, type TestTables } from '../support/kernel-test-module.js';
import { createScratchStream, type KernelSetup, type ScratchStream } from '../support/transports.js';

export interface KernelHarness {
  setup: KernelSetup;
  scratch: ScratchDatabase;
  /** The test's own JetStream stream, on a NATS setup. */
  stream: ScratchStream | undefined;
  storage: Storage;
  engine: Engine;
  controls: TestControls;
  db: Kysely<TestTables>;
  /** Another engine on the same database and transport (stream), as another process would be; the test stops it. */
  engineBeside(options?: Partial<EngineOptions>): Engine;
  /** A second engine on the same database, as after a restart. */
  restart(options?: Partial<EngineOptions>): Promise<Engine>;
  close(): Promise<void>;
}

export async function createKernelHarness(setup: KernelSetup, options: Partial<EngineOptions> = {}): Promise<KernelHarness> {
  const scratch = await createScratchDatabase(setup.dialect);
  const storage = await scratch.open();
  const stream = setup.transport === 'nats' ? createScratchStream() : undefined;
  const transport = stream?.transport();
  const controls: TestControls = { failFor: new Set(), chainUntil: 0 };
  const module = createTestModule(controls);
  const build = (extra: Partial<EngineOptions>) =>
    createEngine({ storage, modules: [module], schemas: testSchemas, pollMs: 50, retry: { maxRetries: 3, baseDelayMs: 40, maxDelayMs: 2000 }, ...(transport ? { transport } : {}), ...options, ...extra });
  let engine = build({});
  await engine.migrate();
  const harness: KernelHarness = {
    setup,
    scratch,
    stream,
    storage,
    engine,
    controls,
    db: storage.db as Kysely<TestTables>,
    engineBeside: (extra = {}) => build(extra),
    async restart(extra = {}) {
      await engine.stop();
      engine = build(extra);
      harness.engine = engine;
      return engine;
    },
    async close() {
      try {
        await engine.stop();
        await storage.close();
      } finally {
        await scratch.drop();
        await stream?.drop();
      }
    },
  };
  return harness;
}
