import { afterEach, describe, expect, it } from 'vitest';
import { createDeliveryStore } from '../../src/platform/delivery/delivery-store.js';
import { engineMigrations } from '../../src/platform/engine.js';
import type { Storage } from '../../src/platform/storage/database.js';
import { migrate } from '../../src/platform/storage/migrations.js';
import { createScratchDatabase, dialects, type ScratchDatabase } from '../support/databases.js';

/**
 * platform/0004-inbox-by-event re-keys the inbox by (event_id, consumer) on a running
 * deployment's database: the records already there stay, and they still make a redelivery of
 * their event a duplicate.
 */
describe.each(dialects)('the inbox re-keyed by event on %s', (dialect) => {
  let scratch: ScratchDatabase | undefined;
  let storage: Storage | undefined;
  afterEach(async () => {
    await storage?.close();
    await scratch?.drop();
  });

  it('keeps the records written before the migration, and they still refuse a second delivery', async () => {
    scratch = await createScratchDatabase(dialect);
    storage = await scratch.open();
    const all = engineMigrations([]);
    const upgrade = all.findIndex((m) => m.name === 'platform/0004-inbox-by-event');
    expect(upgrade).toBeGreaterThan(0);
    await migrate(storage, all.filter((m) => m.name !== 'platform/0004-inbox-by-event'));
    const before = [
      { consumer: 'orders', event_id: 'e-1', outcome: 'handled', attempts: 1, handled_at: 1 },
      { consumer: 'stats', event_id: 'e-1', outcome: 'handled', attempts: 2, handled_at: 2 },
      { consumer: 'orders', event_id: 'e-2', outcome: 'ignored', attempts: 1, handled_at: 3 },
    ];
    await storage.db.insertInto('inbox').values(before).execute();

    expect(await migrate(storage, all)).toEqual(['platform/0004-inbox-by-event']);

    const after = await storage.db.selectFrom('inbox').select(['consumer', 'event_id', 'outcome', 'attempts', 'handled_at']).orderBy('handled_at').execute();
    expect(after.map((r) => ({ ...r, attempts: Number(r.attempts), handled_at: Number(r.handled_at) }))).toEqual(before);
    const store = createDeliveryStore(dialect);
    await storage.db.transaction().execute(async (trx) => {
      expect(await store.markHandled(trx as never, 'orders', 'e-1', 'handled', 1, 4)).toBe(false);
      expect(await store.markHandled(trx as never, 'shipments', 'e-1', 'handled', 1, 4)).toBe(true);
      expect([...(await store.markHandledMany(trx as never, 'stats', ['e-1', 'e-2', 'e-3'], 5))].sort()).toEqual(['e-2', 'e-3']);
    });
    const count = await storage.db.selectFrom('inbox').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow();
    expect(Number(count.n)).toBe(6);
  });
});
