import { columnTypes, type SchemaMigration } from '../../../platform/storage/migrations.js';

/** The stats module's tables: the counters and the per-order facts they are maintained from. */
export const statsMigrations: readonly SchemaMigration[] = [
  {
    name: 'stats/0001-tables',
    async up(db, dialect) {
      const { bigint } = columnTypes(dialect);
      await db.schema
        .createTable('stats_orders')
        .addColumn('order_id', 'text', (c) => c.primaryKey())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('currency', 'text', (c) => c.notNull())
        .addColumn('total_amount', bigint, (c) => c.notNull())
        .addColumn('paid_amount', bigint, (c) => c.notNull())
        .addColumn('refunded_amount', bigint, (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('stats_counters')
        .addColumn('metric', 'text', (c) => c.notNull())
        .addColumn('dimension', 'text', (c) => c.notNull())
        .addColumn('value', bigint, (c) => c.notNull())
        .addPrimaryKeyConstraint('stats_counters_pk', ['metric', 'dimension'])
        .execute();
    },
  },
];
