import { sql } from 'kysely';
import { columnTypes, type SchemaMigration } from '../../../platform/storage/migrations.js';

/** The inventory module's tables. */
export const inventoryMigrations: readonly SchemaMigration[] = [
  {
    name: 'inventory/0001-tables',
    async up(db, dialect) {
      const { bigint } = columnTypes(dialect);
      // Byte order for ids on both databases, so listings and lock order agree with JavaScript's sort.
      const bytewise = dialect === 'postgres' ? sql`collate "C"` : sql``;
      await db.schema
        .createTable('inventory_products')
        .addColumn('product_id', 'text', (c) => c.modifyFront(bytewise).primaryKey())
        .addColumn('sku', 'text')
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('price', bigint, (c) => c.notNull())
        .addColumn('currency', 'text', (c) => c.notNull())
        .addColumn('on_hand', bigint, (c) => c.notNull())
        .addColumn('reserved', bigint, (c) => c.notNull())
        .addColumn('reorder_point', bigint, (c) => c.notNull())
        .addColumn('initial_stock', bigint, (c) => c.notNull())
        .addColumn('restocked', bigint, (c) => c.notNull())
        .addColumn('shipped', bigint, (c) => c.notNull())
        .addColumn('created_at', bigint, (c) => c.notNull())
        .addColumn('updated_at', bigint, (c) => c.notNull())
        // The last line of defence against overselling: the database refuses it whatever the code does.
        .addCheckConstraint('inventory_products_stock_check', sql`reserved >= 0 and reserved <= on_hand`)
        .execute();
      await db.schema
        .createTable('inventory_reservations')
        .addColumn('order_id', 'text', (c) => c.primaryKey())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('reason', 'text')
        .addColumn('created_at', bigint, (c) => c.notNull())
        .addColumn('updated_at', bigint, (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('inventory_reservation_lines')
        .addColumn('order_id', 'text', (c) => c.notNull())
        .addColumn('product_id', 'text', (c) => c.notNull())
        .addColumn('quantity', bigint, (c) => c.notNull())
        .addPrimaryKeyConstraint('inventory_reservation_lines_pk', ['order_id', 'product_id'])
        .execute();
      await db.schema
        .createTable('inventory_alerts')
        .addColumn('alert_id', 'text', (c) => c.primaryKey())
        .addColumn('product_id', 'text', (c) => c.notNull())
        .addColumn('available', bigint, (c) => c.notNull())
        .addColumn('reorder_point', bigint, (c) => c.notNull())
        .addColumn('opened_at', bigint, (c) => c.notNull())
        .addColumn('resolved_at', bigint)
        .execute();
      await db.schema
        .createIndex('inventory_alerts_one_open')
        .on('inventory_alerts')
        .column('product_id')
        .unique()
        .where(sql<boolean>`resolved_at is null`)
        .execute();
      await db.schema.createIndex('inventory_alerts_opened').on('inventory_alerts').columns(['opened_at', 'alert_id']).execute();
    },
  },
  {
    name: 'inventory/0002-backorders',
    async up(db, dialect) {
      const { bigint } = columnTypes(dialect);
      // 0/1 on both databases: one reader for the flag.
      await db.schema.alterTable('inventory_products').addColumn('allow_backorders', 'integer', (c) => c.notNull().defaultTo(0)).execute();
      // Units ordered and not yet on hand: the sum of the waiting backorders' remaining units, kept apart from `reserved`.
      await db.schema.alterTable('inventory_products').addColumn('backordered', bigint, (c) => c.notNull().defaultTo(0)).execute();
      await db.schema
        .createTable('inventory_backorders')
        .addColumn('order_id', 'text', (c) => c.notNull())
        .addColumn('product_id', 'text', (c) => c.notNull())
        .addColumn('quantity', bigint, (c) => c.notNull())
        .addColumn('allocated', bigint, (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('placed_seq', bigint, (c) => c.notNull())
        .addColumn('correlation_id', 'text', (c) => c.notNull())
        .addColumn('created_at', bigint, (c) => c.notNull())
        .addColumn('updated_at', bigint, (c) => c.notNull())
        .addPrimaryKeyConstraint('inventory_backorders_pk', ['order_id', 'product_id'])
        .addCheckConstraint('inventory_backorders_allocated_check', sql`allocated >= 0 and allocated <= quantity`)
        .execute();
      // A restock walks one product's waiting backorders in placement order.
      await db.schema.createIndex('inventory_backorders_queue').on('inventory_backorders').columns(['product_id', 'status', 'placed_seq', 'order_id']).execute();
    },
  },
  {
    name: 'inventory/0003-edit-holds',
    async up(db, dialect) {
      const { bigint } = columnTypes(dialect);
      await db.schema
        .createTable('inventory_edit_holds')
        .addColumn('edit_id', 'text', (c) => c.primaryKey())
        .addColumn('order_id', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('lines', 'text', (c) => c.notNull())
        .addColumn('created_at', bigint, (c) => c.notNull())
        .addColumn('updated_at', bigint, (c) => c.notNull())
        .execute();
      // An order's held edits, on cancellation.
      await db.schema.createIndex('inventory_edit_holds_order').on('inventory_edit_holds').columns(['order_id', 'status']).execute();
    },
  },
  {
    name: 'inventory/0004-alert-flag',
    async up(db) {
      // Whether the product has an open low-stock alert, on its row: a stock movement that leaves
      // the product above its reorder point reads it with the row it changes, instead of looking
      // for an alert (a statement per product line, twice per order). 0/1 on both databases.
      await db.schema.alterTable('inventory_products').addColumn('low_stock_alert_open', 'integer', (c) => c.notNull().defaultTo(0)).execute();
      await sql`update inventory_products set low_stock_alert_open = 1 where product_id in (select product_id from inventory_alerts where resolved_at is null)`.execute(db);
    },
  },
];
