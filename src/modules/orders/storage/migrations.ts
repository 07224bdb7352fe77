import type { SchemaMigration } from '../../../platform/storage/migrations.js';
import { columnTypes } from '../../../platform/storage/migrations.js';

/** The orders module's schema. */
export const ordersMigrations: readonly SchemaMigration[] = [
  {
    name: 'orders/0001-orders-items-sagas-counters',
    async up(db, dialect) {
      const { bigint } = columnTypes(dialect);
      await db.schema
        .createTable('orders')
        .addColumn('order_id', 'text', (c) => c.primaryKey())
        .addColumn('order_number', 'text', (c) => c.notNull().unique())
        .addColumn('customer_id', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('currency', 'text', (c) => c.notNull())
        .addColumn('total_amount', bigint, (c) => c.notNull())
        .addColumn('shipping_address', 'text', (c) => c.notNull())
        .addColumn('billing_address', 'text')
        .addColumn('source_channel', 'text')
        .addColumn('payment_token', 'text')
        .addColumn('correlation_id', 'text', (c) => c.notNull())
        .addColumn('saga_id', 'text', (c) => c.notNull())
        .addColumn('cancellation_reason', 'text')
        .addColumn('cancelled_by', 'text')
        .addColumn('rejection_reason', 'text')
        .addColumn('payment_failure_reason', 'text')
        .addColumn('payment_id', 'text')
        .addColumn('shipment_id', 'text')
        .addColumn('tracking_number', 'text')
        .addColumn('dispatched_at', bigint)
        .addColumn('delivered_at', bigint)
        .addColumn('status_history', 'text', (c) => c.notNull())
        .addColumn('version', 'integer', (c) => c.notNull())
        .addColumn('created_at', bigint, (c) => c.notNull())
        .addColumn('updated_at', bigint, (c) => c.notNull())
        .execute();
      // Listing is newest first, optionally by status or customer; (created_at, order_id) is the cursor.
      await db.schema.createIndex('orders_created').on('orders').columns(['created_at', 'order_id']).execute();
      await db.schema.createIndex('orders_status_created').on('orders').columns(['status', 'created_at', 'order_id']).execute();
      await db.schema.createIndex('orders_customer_created').on('orders').columns(['customer_id', 'created_at', 'order_id']).execute();

      await db.schema
        .createTable('order_items')
        .addColumn('order_id', 'text', (c) => c.notNull().references('orders.order_id'))
        .addColumn('line_no', 'integer', (c) => c.notNull())
        .addColumn('product_id', 'text', (c) => c.notNull())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('quantity', 'integer', (c) => c.notNull())
        .addColumn('unit_price', bigint, (c) => c.notNull())
        .addPrimaryKeyConstraint('order_items_pk', ['order_id', 'line_no'])
        .execute();

      await db.schema
        .createTable('order_sagas')
        .addColumn('saga_id', 'text', (c) => c.primaryKey())
        .addColumn('order_id', 'text', (c) => c.notNull().unique().references('orders.order_id'))
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('steps', 'text', (c) => c.notNull())
        .addColumn('compensations', 'text', (c) => c.notNull())
        .addColumn('pending_compensations', 'text', (c) => c.notNull())
        .addColumn('deadline', bigint, (c) => c.notNull())
        .addColumn('started_at', bigint, (c) => c.notNull())
        .addColumn('completed_at', bigint)
        .addColumn('updated_at', bigint, (c) => c.notNull())
        .execute();

      // One row per year; `update … set last_number = last_number + 1 … returning` hands out numbers.
      await db.schema
        .createTable('order_number_counters')
        .addColumn('year', 'integer', (c) => c.primaryKey())
        .addColumn('last_number', bigint, (c) => c.notNull())
        .execute();
    },
  },
  {
    name: 'orders/0002-returns',
    async up(db, dialect) {
      const { bigint } = columnTypes(dialect);
      await db.schema
        .createTable('order_returns')
        .addColumn('return_id', 'text', (c) => c.primaryKey())
        .addColumn('order_id', 'text', (c) => c.notNull().references('orders.order_id'))
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('lines', 'text', (c) => c.notNull())
        .addColumn('amount', bigint, (c) => c.notNull())
        .addColumn('currency', 'text', (c) => c.notNull())
        .addColumn('reason', 'text')
        .addColumn('rejection_reason', 'text')
        .addColumn('restocked', 'integer')
        .addColumn('refunded_amount', bigint)
        .addColumn('created_at', bigint, (c) => c.notNull())
        .addColumn('updated_at', bigint, (c) => c.notNull())
        .execute();
      await db.schema.createIndex('order_returns_order').on('order_returns').column('order_id').execute();
    },
  },
  {
    name: 'orders/0003-stock-reviews',
    // What inventory reported short of an order held for review, and the admin's override.
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
  {
    name: 'orders/0004-item-edits',
    async up(db) {
      // The item edit under way (JSON, null when none) and how many were applied: with none, the
      // lines are still the placement's (PostgreSQL's step lock reads them in its first statement).
      await db.schema.alterTable('orders').addColumn('pending_edit', 'text').execute();
      await db.schema.alterTable('orders').addColumn('edit_count', 'integer', (c) => c.notNull().defaultTo(0)).execute();
      await db.schema.alterTable('orders').addColumn('last_edit', 'text').execute();
    },
  },
];
