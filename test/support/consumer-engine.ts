import type { Consumer } from '../../src/platform/delivery/consumer.js';
import { createEngine, type Engine } from '../../src/platform/engine.js';
import type { DialectName, Storage } from '../../src/platform/storage/database.js';
import { createScratchDatabase } from './databases.js';
import { createTestModule, testSchemas } from './kernel-test-module.js';

/** An engine of the given test consumers on the kernel suite's tables, on a scratch database; nothing started. */
export interface ConsumerEngine {
  storage: Storage;
  engine: Engine;
  /** `test_totals` as `{ aggregateId: [total, handled] }`. */
  totals(): Promise<Record<string, [number, number]>>;
  close(): Promise<void>;
}

/** `storage` replaces parts of the storage the engine sees (a `priorityWriterWaiting` of the test's, say). */
export async function createConsumerEngine(dialect: DialectName, consumers: readonly Consumer[], storageParts: Partial<Storage> = {}): Promise<ConsumerEngine> {
  const scratch = await createScratchDatabase(dialect);
  const storage: Storage = { ...(await scratch.open()), ...storageParts };
  const { migrations } = createTestModule();
  // Retries far off: a test sees a failure recorded, never retried under it.
  const engine = createEngine({ storage, modules: [{ name: 'test', migrations, consumers }], schemas: testSchemas, retry: { maxRetries: 3, baseDelayMs: 60_000, maxDelayMs: 60_000 } });
  await engine.migrate();
  await engine.dispatcher.register();
  return {
    storage,
    engine,
    totals: async () =>
      Object.fromEntries(
        (await storage.db.selectFrom('test_totals').selectAll().orderBy('aggregate_id').execute()).map((r) => [r.aggregate_id as string, [Number(r.total), Number(r.handled)] as [number, number]]),
      ),
    async close() {
      try {
        await engine.stop();
        await storage.close();
      } finally {
        await scratch.drop();
      }
    },
  };
}
