/**
 * Kernel throughput: how close does event delivery come to the database's own durable
 * commit rate? Run with `npm run bench:kernel` (add `-- --quick` for a shorter run).
 *
 * Method, once per dialect (a SQLite file in a temp dir opened with the durable defaults,
 * and a scratch PostgreSQL database), both in the same run:
 *  1. Raw commits/s: back-to-back transactions, each inserting one row into a throwaway
 *     table through the engine's own Kysely instance (`storage.db`), for a fixed time.
 *     That is the ceiling for anything that commits once per event. Half the time is spent
 *     before step 2 and half after, and the two are pooled: fsync rates on a shared disk
 *     drift by several times within a minute, and the ratio should compare like with like.
 *  2. Delivered events/s: M aggregates each get a `ChainStep {step: 0}`, all seeded in one
 *     transaction before the engine starts. The test module's one consumer (`test.counter`)
 *     handles each step and emits the next until `chainUntil` = K, so M·(K+1) events are
 *     handled. The clock runs from `engine.start()` until the log holds M·(K+1) ChainStep
 *     events and the consumer's checkpoint has reached the last of them (the final step
 *     handled too). The engine runs with batchSize 256, pollMs 50 and its silent logger.
 *  3. Ratio = delivered / raw. One commit per event caps it at 1; group commit (a batch of
 *     events per delivery transaction) is what can lift it above. The target is ≥ 0.5.
 *
 * Results are printed per dialect and written to bench/results/kernel-<timestamp>.json.
 * Scratch databases are dropped whatever happens, Ctrl-C included; any error exits non-zero.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Kysely } from 'kysely';
import { createEngine } from '../src/platform/engine.js';
import type { DialectName, Storage } from '../src/platform/storage/database.js';
import { createScratchDatabase, dialects } from '../test/support/databases.js';
import { createTestModule, testSchemas } from '../test/support/kernel-test-module.js';

const quick = process.argv.includes('--quick');
const settings = {
  rawMs: quick ? 1_000 : 3_000,
  chains: 200,
  chainUntil: quick ? 10 : 80,
  timeoutMs: quick ? 10_000 : 25_000,
  batchSize: 256,
  pollMs: 50,
};

interface Rate {
  count: number;
  seconds: number;
  perSecond: number;
}

interface DialectResult {
  dialect: DialectName;
  rawCommits: Rate & { beforePerSecond: number; afterPerSecond: number };
  deliveredEvents: Rate;
  ratio: number;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyDb = Kysely<any>;

/** Cleanups still owed, so that Ctrl-C drops the scratch databases too. */
const pendingCleanups = new Set<() => Promise<void>>();

function rate(count: number, startedAt: number): Rate {
  const seconds = (performance.now() - startedAt) / 1000;
  return { count, seconds: round(seconds, 3), perSecond: round(count / seconds, 1) };
}

function round(value: number, digits: number): number {
  return Number(value.toFixed(digits));
}

async function measureRawCommits(db: AnyDb, durationMs: number): Promise<Rate> {
  await db.schema.createTable('bench_commits').addColumn('id', 'integer', (c) => c.primaryKey()).addColumn('note', 'text', (c) => c.notNull()).execute();
  let commits = 0;
  const startedAt = performance.now();
  while (performance.now() - startedAt < durationMs) {
    await db.transaction().execute((trx) => trx.insertInto('bench_commits').values({ id: commits, note: 'bench' }).execute());
    // better-sqlite3 is synchronous: without a turn of the event loop now and then, Ctrl-C
    // is never handled and tsx kills the process before the scratch files are removed.
    if (++commits % 64 === 0) await new Promise((resolve) => setImmediate(resolve));
  }
  const result = rate(commits, startedAt);
  await db.schema.dropTable('bench_commits').execute();
  return result;
}

/** How far the chains got: ChainStep events in the log, and whether the consumer handled them all. */
async function chainProgress(db: AnyDb): Promise<{ events: number; caughtUp: boolean }> {
  const log = await db
    .selectFrom('events')
    .select((eb) => [eb.fn.countAll().as('n'), eb.fn.max('sequence').as('head')])
    .where('event_type', '=', 'ChainStep')
    .executeTakeFirstOrThrow();
  const checkpoint = await db.selectFrom('consumer_checkpoints').select('position').where('consumer', '=', 'test.counter').executeTakeFirst();
  return { events: Number(log.n), caughtUp: Number(checkpoint?.position ?? 0) >= Number(log.head ?? 0) };
}

async function measureChains(storage: Storage): Promise<Rate> {
  const { chains, chainUntil, batchSize, pollMs, timeoutMs } = settings;
  const module = createTestModule({ failFor: new Set(), chainUntil });
  const engine = createEngine({ storage, modules: [module], schemas: testSchemas, batchSize, pollMs });
  await engine.migrate();
  await engine.unitOfWork.run('test', async (tx) => {
    for (let i = 0; i < chains; i++) tx.emit({ eventType: 'ChainStep', aggregateType: 'Product', aggregateId: `chain-${i}`, payload: { step: 0 } });
  });
  const expected = chains * (chainUntil + 1);
  const startedAt = performance.now();
  try {
    await engine.start();
    for (;;) {
      const progress = await chainProgress(storage.db);
      if (progress.events >= expected && progress.caughtUp) return rate(expected, startedAt);
      if (performance.now() - startedAt > timeoutMs) {
        throw new Error(`${storage.dialect}: chains incomplete after ${timeoutMs} ms (${progress.events}/${expected} events in the log, caught up: ${progress.caughtUp})`);
      }
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  } finally {
    await engine.stop();
  }
}

async function benchDialect(dialect: DialectName): Promise<DialectResult> {
  const scratch = await createScratchDatabase(dialect);
  let storage: Storage | undefined;
  const cleanup = async () => {
    await storage?.close().catch(() => undefined);
    await scratch.drop();
  };
  pendingCleanups.add(cleanup);
  try {
    storage = await scratch.open();
    const before = await measureRawCommits(storage.db, settings.rawMs / 2);
    const deliveredEvents = await measureChains(storage);
    const after = await measureRawCommits(storage.db, settings.rawMs / 2);
    const count = before.count + after.count;
    const seconds = before.seconds + after.seconds;
    const rawCommits = { count, seconds: round(seconds, 3), perSecond: round(count / seconds, 1), beforePerSecond: before.perSecond, afterPerSecond: after.perSecond };
    return { dialect, rawCommits, deliveredEvents, ratio: round(deliveredEvents.perSecond / rawCommits.perSecond, 2) };
  } finally {
    pendingCleanups.delete(cleanup);
    await cleanup();
  }
}

function printTable(result: DialectResult): void {
  const row = (label: string, value: string, detail: string) => console.log(`  ${label.padEnd(20)}${value.padStart(10)}   ${detail}`);
  const { rawCommits: raw, deliveredEvents: delivered } = result;
  console.log(`\n${result.dialect}`);
  row('raw commits/s', raw.perSecond.toFixed(0), `${raw.count} single-row transactions in ${raw.seconds.toFixed(2)} s (before ${raw.beforePerSecond.toFixed(0)}, after ${raw.afterPerSecond.toFixed(0)})`);
  row('delivered events/s', delivered.perSecond.toFixed(0), `${delivered.count} events (${settings.chains} chains × ${settings.chainUntil + 1} steps) in ${delivered.seconds.toFixed(2)} s`);
  row('ratio', result.ratio.toFixed(2), `target ≥ 0.5, aim ≥ 1 — ${result.ratio >= 0.5 ? 'met' : 'NOT met'}`);
}

function writeResults(results: DialectResult[]): string {
  const startedAt = new Date().toISOString();
  const folder = new URL('./results/', import.meta.url);
  mkdirSync(folder, { recursive: true });
  const file = new URL(`kernel-${startedAt.replace(/[:.]/g, '-')}.json`, folder);
  writeFileSync(file, `${JSON.stringify({ at: startedAt, quick, node: process.version, settings, results }, null, 2)}\n`);
  return fileURLToPath(file);
}

async function main(): Promise<void> {
  console.log(`kernel bench${quick ? ' (quick)' : ''}: raw ${settings.rawMs} ms, ${settings.chains} chains to step ${settings.chainUntil}, batchSize ${settings.batchSize}, pollMs ${settings.pollMs}`);
  const results: DialectResult[] = [];
  for (const dialect of dialects) {
    const result = await benchDialect(dialect);
    printTable(result);
    results.push(result);
  }
  console.log(`\nresults written to ${writeResults(results)}`);
}

process.once('SIGINT', () => {
  console.error('\ninterrupted: dropping scratch databases');
  void Promise.allSettled([...pendingCleanups].map((cleanup) => cleanup())).finally(() => process.exit(130));
});

main().catch((error: unknown) => {
  console.error('kernel bench failed:', error);
  process.exitCode = 1;
});
