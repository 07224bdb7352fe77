import { sql } from 'kysely';
import type { SchemaMigration } from '../storage/migrations.js';
import { columnTypes } from '../storage/migrations.js';

/** Tables of delivery: checkpoints, inbox, failures (retrying and dead letters), parked events, timers. */
export const deliveryMigrations: SchemaMigration[] = [
  {
    name: 'platform/0002-delivery',
    async up(db, dialect) {
      const t = columnTypes(dialect);
      await db.schema
        .createTable('consumer_checkpoints')
        .addColumn('consumer', 'text', (c) => c.notNull())
        .addColumn('partition', 'integer', (c) => c.notNull())
        .addColumn('position', t.bigint, (c) => c.notNull().defaultTo(0))
        .addColumn('updated_at', t.bigint, (c) => c.notNull())
        .addPrimaryKeyConstraint('consumer_checkpoints_pk', ['consumer', 'partition'])
        .execute();

      // One row per event a consumer handled (or an operator discarded): the idempotency record.
      await db.schema
        .createTable('inbox')
        .addColumn('consumer', 'text', (c) => c.notNull())
        .addColumn('event_id', 'text', (c) => c.notNull())
        .addColumn('outcome', 'text', (c) => c.notNull())
        .addColumn('attempts', 'integer', (c) => c.notNull())
        .addColumn('handled_at', t.bigint, (c) => c.notNull())
        .addPrimaryKeyConstraint('inbox_pk', ['consumer', 'event_id'])
        .execute();
      await db.schema.createIndex('inbox_event').on('inbox').column('event_id').execute();

      // A delivery whose handler failed: retrying, then dead (a dead letter), then discarded or re-driven.
      await db.schema
        .createTable('failed_deliveries')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('consumer', 'text', (c) => c.notNull())
        .addColumn('partition', 'integer', (c) => c.notNull())
        .addColumn('event_id', 'text', (c) => c.notNull())
        .addColumn('sequence', t.bigint, (c) => c.notNull())
        .addColumn('event_type', 'text', (c) => c.notNull())
        .addColumn('aggregate_id', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('reason', 'text', (c) => c.notNull())
        .addColumn('attempts', 'integer', (c) => c.notNull())
        .addColumn('last_error', 'text', (c) => c.notNull())
        .addColumn('history', 'text', (c) => c.notNull())
        .addColumn('first_failed_at', t.bigint, (c) => c.notNull())
        .addColumn('last_failed_at', t.bigint, (c) => c.notNull())
        .addColumn('next_attempt_at', t.bigint)
        .addColumn('resolved_at', t.bigint)
        .execute();
      await db.schema.createIndex('failed_deliveries_consumer_event').unique().on('failed_deliveries').columns(['consumer', 'event_id']).execute();
      await db.schema.createIndex('failed_deliveries_blocking').on('failed_deliveries').columns(['consumer', 'aggregate_id', 'status']).execute();
      await db.schema.createIndex('failed_deliveries_status').on('failed_deliveries').columns(['status', 'first_failed_at']).execute();

      // Events held back because an earlier event of the same aggregate failed for that consumer.
      await db.schema
        .createTable('parked_deliveries')
        .addColumn('consumer', 'text', (c) => c.notNull())
        .addColumn('event_id', 'text', (c) => c.notNull())
        .addColumn('partition', 'integer', (c) => c.notNull())
        .addColumn('sequence', t.bigint, (c) => c.notNull())
        .addColumn('aggregate_id', 'text', (c) => c.notNull())
        .addColumn('blocked_by', 'text', (c) => c.notNull())
        .addColumn('parked_at', t.bigint, (c) => c.notNull())
        .addPrimaryKeyConstraint('parked_deliveries_pk', ['consumer', 'event_id'])
        .execute();
      await db.schema.createIndex('parked_deliveries_aggregate').on('parked_deliveries').columns(['consumer', 'aggregate_id', 'sequence']).execute();

      await db.schema
        .createTable('timers')
        .addColumn('key', 'text', (c) => c.primaryKey())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('due_at', t.bigint, (c) => c.notNull())
        .addColumn('payload', 'text', (c) => c.notNull())
        .addColumn('attempts', 'integer', (c) => c.notNull())
        .addColumn('created_at', t.bigint, (c) => c.notNull())
        .addColumn('last_error', 'text')
        .execute();
      await db.schema.createIndex('timers_due').on('timers').column('due_at').execute();
    },
  },
  {
    // A timer that failed its retries is kept as a dead letter (timer-failures.ts): it stays in
    // the table, marked, and does not fire until it is re-driven.
    name: 'platform/0003-dead-timers',
    async up(db, dialect) {
      await db.schema.alterTable('timers').addColumn('dead_at', columnTypes(dialect).bigint).execute();
    },
  },
  {
    // The inbox is keyed by (event_id, consumer): the key serves both the idempotency check and
    // the look-ups by event (the timeline, the pruning), so the separate `inbox_event` index
    // goes. On SQLite the table is WITHOUT ROWID, clustered by that key: a handled event writes
    // one B-tree instead of three, and as event ids are time-ordered (UUIDv7) it writes at the
    // right edge of it. Every delivery writes the inbox; it was a fifth of the delivery thread's
    // SQLite time (docs/benchmarks.md).
    name: 'platform/0004-inbox-by-event',
    async up(db, dialect) {
      if (dialect === 'postgres') {
        await sql`alter table inbox drop constraint inbox_pk, add constraint inbox_pk primary key (event_id, consumer)`.execute(db);
        await sql`drop index inbox_event`.execute(db);
        return;
      }
      await sql`create table inbox_by_event (
        event_id text not null, consumer text not null, outcome text not null, attempts integer not null, handled_at integer not null,
        constraint inbox_pk primary key (event_id, consumer)) without rowid`.execute(db);
      await sql`insert into inbox_by_event (event_id, consumer, outcome, attempts, handled_at) select event_id, consumer, outcome, attempts, handled_at from inbox`.execute(db);
      await sql`drop table inbox`.execute(db);
      await sql`alter table inbox_by_event rename to inbox`.execute(db);
    },
  },
];
