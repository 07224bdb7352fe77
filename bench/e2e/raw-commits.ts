/**
 * The storage's own limit, measured as bench:kernel does: back-to-back transactions, each
 * inserting one row into a throwaway table through Kysely on a connection opened by
 * orderflow's `openStorage` (so with the same durability settings the servers use: SQLite WAL
 * with synchronous=FULL, PostgreSQL's defaults). Anything that commits once per event is
 * capped by this rate; group commit is what lets orderflow do better.
 *
 * SQLite: a file beside the servers' database (same folder, same disk, same pragmas), so the
 * servers' file is not touched. PostgreSQL: a table in the servers' scratch database.
 */
import { randomBytes } from 'node:crypto';
import type { Kysely } from 'kysely';
import { openStorage } from '../../src/platform/storage/database.js';

export interface Rate {
  count: number;
  seconds: number;
  perSecond: number;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyDb = Kysely<any>;

/** Single-row durable commits per second on `databaseUrl` for `durationMs`. */
export async function measureRawCommits(databaseUrl: string, durationMs: number): Promise<Rate> {
  const storage = await openStorage(databaseUrl, { poolSize: 1 });
  const table = `bench_commits_${randomBytes(4).toString('hex')}`;
  const db = storage.db as AnyDb;
  try {
    await db.schema.createTable(table).addColumn('id', 'integer', (c) => c.primaryKey()).addColumn('note', 'text', (c) => c.notNull()).execute();
    let commits = 0;
    const startedAt = performance.now();
    while (performance.now() - startedAt < durationMs) {
      await db.transaction().execute((trx) => trx.insertInto(table).values({ id: commits, note: 'bench' }).execute());
      // better-sqlite3 is synchronous: give the event loop a turn now and then (signals, timers).
      if (++commits % 64 === 0) await new Promise((resolve) => setImmediate(resolve));
    }
    const seconds = (performance.now() - startedAt) / 1000;
    await db.schema.dropTable(table).execute();
    return { count: commits, seconds: Number(seconds.toFixed(3)), perSecond: Number((commits / seconds).toFixed(1)) };
  } finally {
    await storage.close();
  }
}

/** Pools two measurements (before and after the load) into one rate. */
export function pooled(before: Rate, after: Rate): Rate & { beforePerSecond: number; afterPerSecond: number } {
  const count = before.count + after.count;
  const seconds = before.seconds + after.seconds;
  return { count, seconds: Number(seconds.toFixed(3)), perSecond: Number((count / seconds).toFixed(1)), beforePerSecond: before.perSecond, afterPerSecond: after.perSecond };
}
