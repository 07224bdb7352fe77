import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import { createBusinessModules, type ModuleApis, type ModuleSettings } from '../../src/composition.js';
import { moduleNames, type ModuleName } from '../../src/config.js';
import { createEngine, type Engine, type EngineOptions } from '../../src/platform/engine.js';
import { createEngineMetrics } from '../../src/platform/observability/metrics.js';
import type { DialectName, Storage } from '../../src/platform/storage/database.js';
import { createScratchDatabase, type ScratchDatabase } from '../support/databases.js';
import { untilSettled } from '../support/settle.js';

export interface FlowHarness {
  scratch: ScratchDatabase;
  storage: Storage;
  engine: Engine;
  apis: ModuleApis;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  db: Kysely<any>;
  /** Stops the engine and starts another on the same database running `running` (all by default). */
  restart(running?: readonly ModuleName[]): Promise<void>;
  /**
   * Waits until every consumer of the engine has caught up with the log, no retry is pending
   * and the log has stopped growing: what a test waits for before it reads another module's state.
   */
  settle(): Promise<void>;
  /**
   * Makes a scheduled timer (one far from due) due now, as if its time had come: a test
   * orders a story's timers by conditions instead of racing real delays against each other.
   */
  fireTimer(key: string): Promise<void>;
  close(): Promise<void>;
}

/**
 * Every payment succeeds at once. The saga deadline is far beyond any test: on a loaded machine
 * a flow that takes long is slow, not timed out (the deadline's own tests set theirs).
 */
export const fastSettings: ModuleSettings = { sagaTimeoutMs: 600_000, paymentSuccessRate: 1, paymentLatencyMs: 0 };

/** All four modules on a scratch database of `dialect`, delivering through the real dispatcher. */
export async function createFlowHarness(
  dialect: DialectName,
  settings: Partial<ModuleSettings> = {},
  running: readonly ModuleName[] = moduleNames,
  options: { logger?: Logger; engine?: Partial<EngineOptions> } = {},
): Promise<FlowHarness> {
  const scratch = await createScratchDatabase(dialect);
  const storage = await scratch.open();
  const metrics = createEngineMetrics();
  const modules = createBusinessModules(
    { ...fastSettings, ...settings },
    { random: () => 0.5, onSagaSettled: (ms, state) => metrics.sagaDuration.observe({ outcome: state.toLowerCase() }, ms / 1000) },
  );
  const build = (names: readonly ModuleName[]) =>
    createEngine({ storage, modules: modules.engineModules(names), metrics, logger: options.logger, pollMs: 20, retry: { maxRetries: 3, baseDelayMs: 20, maxDelayMs: 500 }, ...options.engine });
  let engine = build(running);
  await engine.migrate();
  await engine.start();
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
    settle() {
      return untilSettled(storage.db, engine.dispatcher.consumers().map((c) => ({ name: c.name, types: Object.keys(c.handlers) })));
    },
    async fireTimer(key) {
      const timer = await engine.timers.get(key);
      if (!timer) throw new Error(`no timer ${key} is scheduled`);
      await engine.unitOfWork.run('test', (tx) => tx.schedule({ key, kind: timer.kind, dueAt: tx.now, payload: timer.payload }));
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
