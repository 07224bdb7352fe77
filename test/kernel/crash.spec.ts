import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Kysely } from 'kysely';
import { createEngine } from '../../src/platform/engine.js';
import type { Storage } from '../../src/platform/storage/database.js';
import { createScratchDatabase, type ScratchDatabase } from '../support/databases.js';
import { counterEvent, createTestModule, eventually, testSchemas, type TestTables } from '../support/kernel-test-module.js';
import { killChildren, spawnTs, type Child } from '../support/processes.js';
import { createScratchStream, kernelSetups, natsAvailable, natsSetup, natsUrl, type ScratchStream } from '../support/transports.js';

const node = new URL('../fixtures/kernel-node.ts', import.meta.url);

describe.each(kernelSetups)('crash safety of the kernel on $name (real processes, SIGKILL)', (setup) => {
  let scratch: ScratchDatabase;
  let stream: ScratchStream | undefined;
  let storage: Storage;
  let db: Kysely<TestTables>;
  beforeEach(async () => {
    scratch = await createScratchDatabase(setup.dialect);
    stream = setup.transport === 'nats' ? createScratchStream() : undefined;
  });
  afterEach(async () => {
    await killChildren();
    await storage?.close();
    await scratch.drop();
    await stream?.drop();
  });

  it('delivers an event committed before a SIGKILL, never one whose transaction did not commit, and fires a timer set before the crash exactly once', async () => {
    const env: Record<string, string> = { DATABASE_URL: scratch.url, ...(stream ? { NATS_URL: natsUrl, NATS_STREAM: stream.stream } : {}) };
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

describe.skipIf(!natsAvailable)(`a consumer process killed on ${natsSetup.name} (real processes, SIGKILL)`, () => {
  const setup = natsSetup;
  let scratch: ScratchDatabase;
  let stream: ScratchStream;
  let storage: Storage;
  const children: Child[] = [];
  beforeEach(async () => {
    scratch = await createScratchDatabase(setup.dialect);
    stream = createScratchStream();
  });
  afterEach(async () => {
    await Promise.all(children.splice(0).map((c) => (c.process.exitCode === null && c.process.signalCode === null ? c.kill('SIGKILL') : undefined)));
    await storage?.close();
    await scratch.drop();
    await stream.drop();
  });

  it('hands its partitions to the survivor without losing, repeating or reordering an event', async () => {
    storage = await scratch.open();
    // This process only appends (it never starts delivery); the two children relay and consume.
    const writer = createEngine({ storage, modules: [createTestModule()], schemas: testSchemas });
    await writer.migrate();
    const env = { DATABASE_URL: scratch.url, NATS_URL: natsUrl, NATS_STREAM: stream.stream, NATS_LEASE_TTL_MS: '2000', MODE: 'run' };
    const [survivor, victim] = [spawnTs(node, env), spawnTs(node, env)];
    children.push(survivor, victim);
    await Promise.all([survivor.waitFor('running'), victim.waitFor('running')]);
    const owners = async () => {
      const rows = (await storage.db.selectFrom('transport_leases').select('owner').where('owner', 'is not', null).execute()) as { owner: string }[];
      return [...rows.reduce((m, r) => m.set(r.owner, (m.get(r.owner) ?? 0) + 1), new Map<string, number>()).values()].sort().join();
    };
    await eventually(async () => (await owners()) === '4,4', 'the partitions split 4 and 4');

    for (let round = 0; round < 10; round++) {
      await writer.unitOfWork.run('test', async (tx) => {
        for (let k = 0; k < 100; k++) {
          const n = round * 100 + k;
          tx.emit(counterEvent(`agg-${n % 50}`, n));
        }
      });
      if (round === 4) expect((await victim.kill('SIGKILL')).signal).toBe('SIGKILL');
      await new Promise((r) => setTimeout(r, 50));
    }
    const db = storage.db as Kysely<TestTables>;
    await eventually(async () => (await db.selectFrom('test_effects').select('id').execute()).length >= 1000, '1,000 effects', 30_000);
    await eventually(async () => (await owners()) === '8', 'the survivor owning all 8 partitions');
    const effects = await db.selectFrom('test_effects').selectAll().orderBy('id').execute();
    expect(effects).toHaveLength(1000);
    expect(new Set(effects.map((e) => e.event_id)).size).toBe(1000);
    const handled = new Map<string, number[]>();
    for (const e of effects) handled.set(e.aggregate_id, [...(handled.get(e.aggregate_id) ?? []), Number(e.sequence)]);
    for (const seqs of handled.values()) expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    expect(await survivor.kill('SIGTERM')).toEqual({ code: 0, signal: null });
  });
});
