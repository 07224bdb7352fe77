import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import { createBusinessModules, type ModuleApis, type ModuleSettings } from '../../src/composition.js';
import { moduleNames, type ModuleName } from '../../src/config.js';
import { createEngine, type Engine } from '../../src/platform/engine.js';
import { createEngineMetrics } from '../../src/platform/observability/metrics.js';
import type { DialectName, Storage } from '../../src/platform/storage/database.js';
import { createScratchDatabase, type ScratchDatabase } from '../support/databases.js';
import { eventually } from '../support/kernel-test-module.js';

export interface FlowHarness {
  scratch: ScratchDatabase;
  storage: Storage;
  engine: Engine;
  apis: ModuleApis;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  db: Kysely<any>;
  /** Stops the engine and starts another on the same database running `running` (all by default). */
  restart(running?: readonly ModuleName[]): Promise<void>;
  /** Waits until the log has stopped growing and no delivery or retry is pending. */
  settle(): Promise<void>;
  close(): Promise<void>;
}

export const fastSettings: ModuleSettings = { sagaTimeoutMs: 30_000, paymentSuccessRate: 1, paymentLatencyMs: 0 };

/** All four modules on a scratch database of `dialect`, delivering through the real dispatcher. */
export async function createFlowHarness(
  dialect: DialectName,
  settings: Partial<ModuleSettings> = {},
  running: readonly ModuleName[] = moduleNames,
  options: { logger?: Logger } = {},
): Promise<FlowHarness> {
  const scratch = await createScratchDatabase(dialect);
  const storage = await scratch.open();
  const metrics = createEngineMetrics();
  const modules = createBusinessModules(
    { ...fastSettings, ...settings },
    { random: () => 0.5, onSagaSettled: (ms, state) => metrics.sagaDuration.observe({ outcome: state.toLowerCase() }, ms / 1000) },
  );
  const build = (names: readonly ModuleName[]) =>
    createEngine({ storage, modules: modules.engineModules(names), metrics, logger: options.logger, pollMs: 20, retry: { maxRetries: 3, baseDelayMs: 20, maxDelayMs: 500 } });
  let engine = build(running);
  await engine.migrate();
  await engine.start();
  /** Every consumer's checkpoint has reached the last event of the types it handles (a consumer that emits nothing can lag a quiet log). */
  async function consumersCaughtUp(): Promise<boolean> {
    for (const consumer of engine.dispatcher.consumers()) {
      const types = Object.keys(consumer.handlers);
      if (types.length === 0) continue;
      const last = await storage.db.selectFrom('events').select((eb) => eb.fn.max('sequence').as('last')).where('event_type', 'in', types).executeTakeFirst();
      const checkpoint = await storage.db.selectFrom('consumer_checkpoints').select('position').where('consumer', '=', consumer.name).where('partition', '=', 0).executeTakeFirst();
      if (Number(checkpoint?.position ?? 0) < Number(last?.last ?? 0)) return false;
    }
    return true;
  }

  const harness: FlowHarness = {
    scratch,
    storage,
    engine,
    apis: modules.connect(engine.runtime),
    db: storage.db,
    async restart(names = moduleNames) {
      await engine.stop();
      engine = build(names);
      harness.engine = engine;
      harness.apis = modules.connect(engine.runtime);
      await engine.start();
    },
    async settle() {
      let last = -1;
      let stableSince = Date.now();
      await eventually(async () => {
        const head = await engine.log.head();
        const pendingRetries = (await engine.deadLetters.list({ status: 'retrying' })).length;
        if (head !== last || pendingRetries > 0 || !(await consumersCaughtUp())) {
          last = head;
          stableSince = Date.now();
          return false;
        }
        return Date.now() - stableSince > 150;
      }, 'the flows to settle', 30_000);
    },
    async close() {
      await engine.stop();
      await storage.close();
      await scratch.drop();
    },
  };
  return harness;
}

export const address = { street: '1 Main St', city: 'Springfield', postalCode: '12345', country: 'US' };
