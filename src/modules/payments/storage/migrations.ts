import type { SchemaMigration } from '../../../platform/storage/migrations.js';
import { columnTypes } from '../../../platform/storage/migrations.js';
import { gatewayMigrations } from '../gateway/simulated-gateway.js';

const paymentTables: SchemaMigration = {
  name: 'payments/0001-payments',
  async up(db, dialect) {
    const t = columnTypes(dialect);
    await db.schema
      .createTable('payments')
      .addColumn('payment_id', 'text', (c) => c.primaryKey())
      .addColumn('order_id', 'text', (c) => c.notNull().unique())
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('amount', t.bigint, (c) => c.notNull())
      .addColumn('currency', 'text', (c) => c.notNull())
      .addColumn('token', 'text')
      .addColumn('reason', 'text')
      .addColumn('refund_on_success', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('version', 'integer', (c) => c.notNull())
      .addColumn('correlation_id', 'text', (c) => c.notNull())
      .addColumn('created_at', t.bigint, (c) => c.notNull())
      .addColumn('updated_at', t.bigint, (c) => c.notNull())
      .addColumn('refunded_at', t.bigint)
      .execute();
    await db.schema
      .createTable('payment_cancelled_orders')
      .addColumn('order_id', 'text', (c) => c.primaryKey())
      .addColumn('reason', 'text', (c) => c.notNull())
      .addColumn('cancelled_at', t.bigint, (c) => c.notNull())
      .execute();
  },
};

/** The payments module's tables, its simulated gateway's included. */
export const paymentMigrations: SchemaMigration[] = [paymentTables, ...gatewayMigrations];
