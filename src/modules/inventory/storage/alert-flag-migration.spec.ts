import { sql } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import { engineMigrations } from '../../../platform/engine.js';
import type { Storage } from '../../../platform/storage/database.js';
import { migrate } from '../../../platform/storage/migrations.js';
import { createScratchDatabase, dialects, type ScratchDatabase } from '../../../../test/support/databases.js';
import { inventoryMigrations } from './migrations.js';

/**
 * inventory/0004-alert-flag puts on each product row whether its low-stock alert is open; a
 * database migrated with alerts already open must get the flag right for them, or their stock
 * movements would never look for the alert again (and never close it).
 */
describe.each(dialects)('the low-stock alert flag added to a database in use, on %s', (dialect) => {
  let scratch: ScratchDatabase | undefined;
  let storage: Storage | undefined;
  afterEach(async () => {
    await storage?.close();
    await scratch?.drop();
  });

  it('is set for the products with an open alert, and only for them', async () => {
    scratch = await createScratchDatabase(dialect);
    storage = await scratch.open();
    const all = engineMigrations([{ name: 'inventory', migrations: inventoryMigrations, consumers: [] }]);
    await migrate(storage, all.filter((m) => m.name !== 'inventory/0004-alert-flag'));
    for (const id of ['low', 'restocked', 'never']) {
      await sql`insert into inventory_products (product_id, sku, name, price, currency, on_hand, reserved, reorder_point, initial_stock, restocked, shipped, created_at, updated_at)
        values (${id}, null, ${id}, 100, 'USD', 5, 0, 10, 5, 0, 0, 1, 1)`.execute(storage.db);
    }
    await sql`insert into inventory_alerts (alert_id, product_id, available, reorder_point, opened_at, resolved_at) values ('a-1', 'low', 5, 10, 1, null), ('a-2', 'restocked', 5, 10, 1, 2)`.execute(storage.db);

    expect(await migrate(storage, all)).toEqual(['inventory/0004-alert-flag']);

    const rows = await sql<{ product_id: string; low_stock_alert_open: number }>`select product_id, low_stock_alert_open from inventory_products order by product_id`.execute(storage.db);
    expect(rows.rows.map((r) => [r.product_id, Number(r.low_stock_alert_open)])).toEqual([
      ['low', 1],
      ['never', 0],
      ['restocked', 0],
    ]);
  });
});
