import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { httpMigrations, idempotencyPruning } from '../../src/http/index.js';
import { manualClock } from '../../src/kernel/clock.js';
import { createEngineMetrics } from '../../src/platform/observability/metrics.js';
import { createPruner, type PruneTask } from '../../src/platform/retention/pruner.js';
import type { Storage } from '../../src/platform/storage/database.js';
import { migrate } from '../../src/platform/storage/migrations.js';
import { createScratchDatabase, dialects, type ScratchDatabase } from '../support/databases.js';

const HOUR = 3_600_000;

describe.each(dialects)('background pruning on %s', (dialect) => {
  let scratch: ScratchDatabase | undefined;
  let storage: Storage | undefined;
  afterEach(async () => {
    await storage?.close();
    await scratch?.drop();
  });

  it('deletes expired rows in batches of its size, one statement each, and nothing younger', async () => {
    scratch = await createScratchDatabase(dialect);
    storage = await scratch.open();
    await migrate(storage, httpMigrations);
    const clock = manualClock(Date.UTC(2026, 5, 1));
    const row = (n: number, ageMs: number) => ({ caller: 'c', idempotency_key: `k-${n}`, fingerprint: 'x', state: 'done', response_status: 201, response_body: '{}', created_at: clock.now() - ageMs, completed_at: null });
    for (let i = 0; i < 2000; i += 500) {
      await storage.db.insertInto('http_idempotency_keys').values(Array.from({ length: 500 }, (_, n) => row(i + n, 25 * HOUR + n))).execute();
    }
    await storage.db.insertInto('http_idempotency_keys').values([row(5000, 23 * HOUR), row(5001, 0)]).execute();

    const inner = idempotencyPruning(24 * HOUR);
    const batches: number[] = [];
    const counting: PruneTask = {
      name: inner.name,
      async prune(batch) {
        const deleted = await inner.prune(batch);
        batches.push(deleted);
        return deleted;
      },
    };
    const metrics = createEngineMetrics();
    const pruner = createPruner({ db: storage.db, dialect, tasks: [counting], clock, logger: pino({ level: 'silent' }), metrics, batchSize: 300, pauseMs: 1 });
    expect(await pruner.runOnce()).toEqual({ idempotency_keys: 2000 });
    // 6 full batches, then the rest; a batch short of full ends the pass.
    expect(batches).toEqual([300, 300, 300, 300, 300, 300, 200]);
    const left = await storage.db.selectFrom('http_idempotency_keys').select('idempotency_key').orderBy('idempotency_key').execute();
    expect(left.map((r: { idempotency_key: string }) => r.idempotency_key)).toEqual(['k-5000', 'k-5001']);
    expect((await metrics.prunedRows.get()).values).toMatchObject([{ labels: { task: 'idempotency_keys' }, value: 2000 }]);
  });
});
