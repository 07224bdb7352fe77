import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Kysely } from 'kysely';
import type { Storage } from '../../src/platform/storage/database.js';
import { createScratchDatabase, dialects, type ScratchDatabase } from '../support/databases.js';
import { eventually, type TestTables } from '../support/kernel-test-module.js';
import { spawnTs } from '../support/processes.js';

const node = new URL('../fixtures/kernel-node.ts', import.meta.url);

describe.each(dialects)('crash safety of the kernel on %s (real processes, SIGKILL)', (dialect) => {
  let scratch: ScratchDatabase;
  let storage: Storage;
  let db: Kysely<TestTables>;
  beforeEach(async () => {
    scratch = await createScratchDatabase(dialect);
  });
  afterEach(async () => {
    await storage?.close();
    await scratch.drop();
  });

  it('delivers an event committed before a SIGKILL, never one whose transaction did not commit, and fires a timer set before the crash exactly once', async () => {
    const env = { DATABASE_URL: scratch.url };
    // 1. Commit an event (and a timer due in 1.5 s), then die before any delivery.
    const writer = spawnTs(node, { ...env, MODE: 'commit-then-hang' });
    const { committed } = await writer.waitFor('committed');
    expect((await writer.kill('SIGKILL')).signal).toBe('SIGKILL');
    // 2. Append an event and a state change inside a transaction, die before the commit.
    const uncommitted = spawnTs(node, { ...env, MODE: 'uncommitted' });
    const { appendedUncommitted } = await uncommitted.waitFor('appendedUncommitted');
    expect((await uncommitted.kill('SIGKILL')).signal).toBe('SIGKILL');

    storage = await scratch.open();
    db = storage.db as Kysely<TestTables>;
    const logged = await storage.db.selectFrom('events').select('event_id').execute();
    expect(logged.map((r: { event_id: string }) => r.event_id)).toEqual([committed]);
    expect(await db.selectFrom('test_totals').selectAll().execute()).toEqual([]);

    // 3. Restart: the committed event is delivered once, the timer fires once.
    const runner = spawnTs(node, { ...env, MODE: 'run' });
    await runner.waitFor('running');
    await eventually(async () => (await db.selectFrom('test_totals').selectAll().execute()).length === 1, 'delivery after restart');
    expect(await db.selectFrom('test_totals').selectAll().execute()).toEqual([{ aggregate_id: 'crash', total: 7, handled: 1 }]);
    await eventually(async () => (await db.selectFrom('test_fired').selectAll().execute()).length === 1, 'the timer after restart');
    expect(await runner.kill('SIGTERM')).toEqual({ code: 0, signal: null });

    // 4. Another restart changes nothing: no second delivery, no second firing, the ghost never appears.
    const again = spawnTs(node, { ...env, MODE: 'run' });
    await again.waitFor('running');
    await new Promise((r) => setTimeout(r, 600));
    expect(await again.kill('SIGTERM')).toEqual({ code: 0, signal: null });
    expect(await db.selectFrom('test_totals').selectAll().execute()).toEqual([{ aggregate_id: 'crash', total: 7, handled: 1 }]);
    expect((await db.selectFrom('test_fired').select('key').execute()).map((r) => r.key)).toEqual(['crash-timer']);
    const ids = (await storage.db.selectFrom('events').select('event_id').execute()).map((r: { event_id: string }) => r.event_id);
    expect(ids).not.toContain(appendedUncommitted);
  });
});
