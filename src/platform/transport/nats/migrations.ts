import { sql } from 'kysely';
import type { SchemaMigration } from '../../storage/migrations.js';
import { columnTypes } from '../../storage/migrations.js';

/** Rows the NATS transport keeps beside the log (unused by the in-process transport). */
export interface NatsTransportTables {
  /** The processes running a consumer, each alive until `expires_at` unless it heartbeats. */
  transport_members: { consumer: string; owner: string; expires_at: number };
  /** Which process fetches a (consumer, partition); `owner` null when released. */
  transport_leases: { consumer: string; partition: number; owner: string | null; expires_at: number };
  /** How far the relay has published the log to a stream (the last sequence the broker acknowledged). */
  transport_relay_cursor: { stream: string; position: number };
}

export const natsTransportMigrations: SchemaMigration[] = [
  {
    name: 'platform/0003-nats-transport',
    async up(db, dialect) {
      const t = columnTypes(dialect);
      await db.schema
        .createTable('transport_members')
        .addColumn('consumer', 'text', (c) => c.notNull())
        .addColumn('owner', 'text', (c) => c.notNull())
        .addColumn('expires_at', t.bigint, (c) => c.notNull())
        .addPrimaryKeyConstraint('transport_members_pk', ['consumer', 'owner'])
        .execute();
      await db.schema
        .createTable('transport_leases')
        .addColumn('consumer', 'text', (c) => c.notNull())
        .addColumn('partition', 'integer', (c) => c.notNull())
        .addColumn('owner', 'text')
        .addColumn('expires_at', t.bigint, (c) => c.notNull().defaultTo(0))
        .addPrimaryKeyConstraint('transport_leases_pk', ['consumer', 'partition'])
        .execute();
      await db.schema
        .createTable('transport_event_partitions')
        .addColumn('sequence', t.bigint, (c) => c.primaryKey())
        .addColumn('partition', 'integer', (c) => c.notNull())
        .addColumn('event_type', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('transport_event_partitions_lookup').on('transport_event_partitions').columns(['partition', 'event_type', 'sequence']).execute();
    },
  },
  {
    // Consumers read their partitions from the log itself; the broker is the wake-up signal and
    // the published feed. The relay keeps one cursor per stream instead of marking every event,
    // so the per-event bookkeeping goes: the partition index and the unpublished-events index
    // (which SQLite grew on every append, with no relay to empty it).
    name: 'platform/0004-relay-cursor',
    async up(db, dialect) {
      const t = columnTypes(dialect);
      await db.schema
        .createTable('transport_relay_cursor')
        .addColumn('stream', 'text', (c) => c.primaryKey())
        .addColumn('position', t.bigint, (c) => c.notNull())
        .execute();
      await db.schema.dropTable('transport_event_partitions').ifExists().execute();
      await sql`drop index if exists events_unpublished`.execute(db);
    },
  },
];
