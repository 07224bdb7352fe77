import { sql } from 'kysely';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openStorage, type Storage } from '../../src/platform/storage/database.js';
import { statement } from '../../src/platform/storage/statements.js';
import { createScratchDatabase, type ScratchDatabase } from '../support/databases.js';

const readProbe = statement<Record<string, unknown>>('select * from prepared_probe where id = ?');

/** Names of the prepared statements of the session `storage` runs on (a pool of one). */
async function preparedNames(storage: Storage): Promise<string[]> {
  const { rows } = await sql<{ name: string }>`select name from pg_prepared_statements order by name`.execute(storage.db);
  return rows.map((r) => r.name);
}

describe('PostgreSQL: hot-path statements as named prepared statements (DATABASE_PREPARED_STATEMENTS)', () => {
  let scratch: ScratchDatabase;
  let storage: Storage | undefined;
  beforeEach(async () => {
    scratch = await createScratchDatabase('postgres');
  });
  afterEach(async () => {
    await storage?.close();
    storage = undefined;
    await scratch.drop();
  });

  async function open(preparedStatements: boolean): Promise<Storage> {
    // One connection: every statement below runs in the same session.
    storage = await openStorage(scratch.url, { poolSize: 1, preparedStatements });
    await sql`create table prepared_probe (id text primary key, amount bigint not null)`.execute(storage.db);
    await sql`insert into prepared_probe values ('a', 1)`.execute(storage.db);
    return storage;
  }

  it('prepares a statement once per connection and runs it by name afterwards', async () => {
    const db = await open(true);
    expect(await readProbe(db.db, ['a'])).toEqual([{ id: 'a', amount: 1 }]);
    expect(await readProbe(db.db, ['a'])).toEqual([{ id: 'a', amount: 1 }]);
    const names = await preparedNames(db);
    expect(names.filter((n) => n.startsWith('orderflow_'))).toHaveLength(1);
  });

  it('prepares nothing when turned off', async () => {
    const db = await open(false);
    expect(await readProbe(db.db, ['a'])).toEqual([{ id: 'a', amount: 1 }]);
    expect(await preparedNames(db)).toEqual([]);
  });

  it('a table changed under a prepared statement (a newer release migrated it) costs one failed statement, then the connection is replaced', async () => {
    const db = await open(true);
    await readProbe(db.db, ['a']);
    // What a newer release's migration does while this process runs: the row gains a column.
    const admin = await openStorage(scratch.url, { poolSize: 1, preparedStatements: false });
    try {
      await sql`alter table prepared_probe add column note text`.execute(admin.db);
    } finally {
      await admin.close();
    }
    const first = await readProbe(db.db, ['a']).then(
      (rows) => ({ rows, error: undefined }),
      (error: { code?: string }) => ({ rows: undefined, error }),
    );
    // PostgreSQL refuses to run the old plan with the new row shape; the next statement runs on a new connection.
    expect(first.error?.code).toBe('0A000');
    expect(await readProbe(db.db, ['a'])).toEqual([{ id: 'a', amount: 1, note: null }]);
    expect(await readProbe(db.db, ['a'])).toEqual([{ id: 'a', amount: 1, note: null }]);
  });
});
