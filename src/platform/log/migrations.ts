import { sql } from 'kysely';
import type { SchemaMigration } from '../storage/migrations.js';
import { columnTypes } from '../storage/migrations.js';

/** The event log: outbox and event store in one append-only table. */
export const eventLogMigrations: SchemaMigration[] = [
  {
    name: 'platform/0001-event-log',
    async up(db, dialect) {
      const t = columnTypes(dialect);
      await db.schema
        .createTable('events')
        .addColumn('sequence', t.serialKey, (c) => (dialect === 'sqlite' ? c.primaryKey().autoIncrement() : c.primaryKey()))
        .addColumn('event_id', 'text', (c) => c.notNull().unique())
        .addColumn('event_type', 'text', (c) => c.notNull())
        .addColumn('version', 'integer', (c) => c.notNull())
        .addColumn('aggregate_type', 'text', (c) => c.notNull())
        .addColumn('aggregate_id', 'text', (c) => c.notNull())
        .addColumn('occurred_at', 'text', (c) => c.notNull())
        .addColumn('correlation_id', 'text', (c) => c.notNull())
        .addColumn('causation_id', 'text')
        .addColumn('source', 'text', (c) => c.notNull())
        .addColumn('payload', 'text', (c) => c.notNull())
        // Set by the broker relay once the broker acknowledged the event (distributed mode).
        .addColumn('published_at', t.bigint)
        .execute();
      await db.schema.createIndex('events_type_seq').on('events').columns(['event_type', 'sequence']).execute();
      await db.schema.createIndex('events_aggregate_seq').on('events').columns(['aggregate_id', 'sequence']).execute();
      await db.schema.createIndex('events_correlation_seq').on('events').columns(['correlation_id', 'sequence']).execute();
      await sql`create index events_unpublished on events (sequence) where published_at is null`.execute(db);
    },
  },
  {
    // SPEC §8: the envelope's optional metadata (trace context, actor, reason), as JSON.
    name: 'platform/0005-event-metadata',
    async up(db) {
      await db.schema.alterTable('events').addColumn('metadata', 'text').execute();
    },
  },
];
