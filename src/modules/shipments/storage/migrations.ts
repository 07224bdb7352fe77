import type { SchemaMigration } from '../../../platform/storage/migrations.js';
import { columnTypes } from '../../../platform/storage/migrations.js';

/** The shipments module's tables. */
export const shipmentMigrations: SchemaMigration[] = [
  {
    name: 'shipments/0001-shipments',
    async up(db, dialect) {
      const t = columnTypes(dialect);
      await db.schema
        .createTable('shipments')
        .addColumn('shipment_id', 'text', (c) => c.primaryKey())
        .addColumn('order_id', 'text', (c) => c.notNull().unique())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('tracking_number', 'text', (c) => c.notNull().unique())
        .addColumn('items', 'text', (c) => c.notNull())
        .addColumn('shipping_address', 'text', (c) => c.notNull())
        .addColumn('customer_id', 'text')
        .addColumn('payment_id', 'text', (c) => c.notNull())
        .addColumn('correlation_id', 'text', (c) => c.notNull())
        .addColumn('created_at', t.bigint, (c) => c.notNull())
        .addColumn('updated_at', t.bigint, (c) => c.notNull())
        .addColumn('dispatched_at', t.bigint)
        .addColumn('delivered_at', t.bigint)
        .addColumn('cancelled_at', t.bigint)
        .execute();
      await db.schema
        .createTable('shipment_cancelled_orders')
        .addColumn('order_id', 'text', (c) => c.primaryKey())
        .addColumn('reason', 'text', (c) => c.notNull())
        .addColumn('cancelled_at', t.bigint, (c) => c.notNull())
        .execute();
    },
  },
];
