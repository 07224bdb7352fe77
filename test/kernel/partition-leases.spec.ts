import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Storage } from '../../src/platform/storage/database.js';
import { migrate } from '../../src/platform/storage/migrations.js';
import { createLeaseStore } from '../../src/platform/transport/nats/lease-store.js';
import { natsTransportMigrations } from '../../src/platform/transport/nats/migrations.js';
import { createPartitionLeases, type Lease, type PartitionLeases } from '../../src/platform/transport/nats/partition-leases.js';
import { createScratchDatabase, dialects, type ScratchDatabase } from '../support/databases.js';
import { eventually } from '../support/kernel-test-module.js';

describe.each(dialects)('partition leases on %s', (dialect) => {
  let scratch: ScratchDatabase;
  let storage: Storage;
  const members: PartitionLeases[] = [];
  /** The workers running now, by owner. */
  const working = new Map<string, Lease[]>();

  beforeEach(async () => {
    scratch = await createScratchDatabase(dialect);
    storage = await scratch.open();
    await migrate(storage, natsTransportMigrations);
  });
  afterEach(async () => {
    await Promise.all(members.splice(0).map((m) => m.stop()));
    working.clear();
    await storage.close();
    await scratch.drop();
  });

  function member(owner: string, timing: { ttlMs?: number; renewMs?: number } = {}): PartitionLeases {
    const leases = createPartitionLeases({
      store: createLeaseStore(storage.db, storage.dialect),
      owner,
      consumers: ['c1', 'c2'],
      partitions: 8,
      ttlMs: timing.ttlMs ?? 1500,
      renewMs: timing.renewMs ?? 100,
      logger: pino({ level: 'silent' }),
      startWorker(lease) {
        working.set(owner, [...(working.get(owner) ?? []), lease]);
        let stop!: () => void;
        const done = new Promise<void>((resolve) => (stop = resolve));
        void done.then(() => working.set(owner, (working.get(owner) ?? []).filter((l) => l !== lease)));
        return { done, stop: async () => stop(), nudge: () => undefined };
      },
    });
    members.push(leases);
    return leases;
  }

  /** Partitions per owner of consumer c1, from the database; and whether any partition has two workers. */
  async function shares(): Promise<string> {
    const rows = (await storage.db.selectFrom('transport_leases').select(['owner']).where('consumer', '=', 'c1').where('owner', 'is not', null).execute()) as { owner: string }[];
    const counts = new Map<string, number>();
    for (const r of rows) counts.set(r.owner, (counts.get(r.owner) ?? 0) + 1);
    return [...counts.values()].sort().join();
  }
  const workersOf = (consumer: string) => [...working.values()].flat().filter((l) => l.consumer === consumer).map((l) => l.partition);

  it('shares each consumer\'s partitions fairly, one worker per partition, and gives them back on stop', async () => {
    const [a, b, c] = [member('a'), member('b'), member('c')];
    await a.start();
    expect(await shares()).toBe('8');
    await Promise.all([b.start(), c.start()]);
    await eventually(async () => (await shares()) === '2,3,3', 'shares 3, 3, 2');
    await eventually(async () => workersOf('c1').length === 8 && workersOf('c2').length === 8, 'a worker per partition');
    expect(new Set(workersOf('c1')).size).toBe(8);

    await c.stop();
    await eventually(async () => (await shares()) === '4,4', 'shares 4, 4 once c left');
    await eventually(async () => workersOf('c1').length === 8, 'a worker per partition');
    expect(new Set(workersOf('c1')).size).toBe(8);
    expect(working.get('c') ?? []).toEqual([]);
  });

  it('frees the partitions of a member that stopped renewing once its leases ran out', async () => {
    // "crashed" renews only at start, then never again (its process is gone).
    const crashed = member('crashed', { ttlMs: 600, renewMs: 3_600_000 });
    await crashed.start();
    const [lease] = working.get('crashed')!;
    expect(lease!.valid()).toBe(true);
    const survivor = member('survivor', { ttlMs: 600 });
    await survivor.start();
    await eventually(async () => (await shares()) === '8' && (working.get('survivor') ?? []).length === 16, 'the survivor taking every partition');
    // The crashed member no longer trusts its leases either.
    expect(lease!.valid()).toBe(false);
  });
});
