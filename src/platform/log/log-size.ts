import { sql } from 'kysely';
import type { Storage } from '../storage/database.js';

/** How big the event log (kept forever: it is the system of record) and the database are. */
export interface LogSize {
  /** Events in the log. */
  events: number;
  /** Bytes of the `events` table with its indexes (PostgreSQL; undefined on SQLite, where measuring it reads every page). */
  eventLogBytes: number | undefined;
  /** Bytes of the whole database: the SQLite file's pages in use, or PostgreSQL's `pg_database_size`. */
  databaseBytes: number;
}

/** Measures the log; `count(*)` reads an index through, so callers measure now and then, not per request. */
export async function measureLogSize(storage: Pick<Storage, 'db' | 'dialect'>): Promise<LogSize> {
  const { db, dialect } = storage;
  const events = await sql<{ n: number | string }>`select count(*) as n from events`.execute(db);
  if (dialect === 'postgres') {
    const { rows } = await sql<{ log: string; database: string }>`select pg_total_relation_size('events') as log, pg_database_size(current_database()) as database`.execute(db);
    return { events: Number(events.rows[0]?.n ?? 0), eventLogBytes: Number(rows[0]?.log ?? 0), databaseBytes: Number(rows[0]?.database ?? 0) };
  }
  const { rows } = await sql<{ bytes: number }>`select (page_count - freelist_count) * page_size as bytes from pragma_page_count(), pragma_freelist_count(), pragma_page_size()`.execute(db);
  return { events: Number(events.rows[0]?.n ?? 0), eventLogBytes: undefined, databaseBytes: Number(rows[0]?.bytes ?? 0) };
}
