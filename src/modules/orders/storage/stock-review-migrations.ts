import type { SchemaMigration } from '../../../platform/storage/migrations.js';
import { columnTypes } from '../../../platform/storage/migrations.js';

/** What inventory reported short of an order held for review, and the admin's override. */
export const stockReviewMigrations: readonly SchemaMigration[] = [
  {
    name: 'orders/0003-stock-reviews',
    async up(db, dialect) {
      const { bigint } = columnTypes(dialect);
      await db.schema
        .createTable('order_stock_reviews')
        .addColumn('order_id', 'text', (c) => c.primaryKey().references('orders.order_id'))
        .addColumn('shortages', 'text', (c) => c.notNull())
        .addColumn('override', 'text')
        .addColumn('created_at', bigint, (c) => c.notNull())
        .addColumn('updated_at', bigint, (c) => c.notNull())
        .execute();
    },
  },
];
