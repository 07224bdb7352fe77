import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openStorage, type Storage } from './database.js';

/** Two connections writing one SQLite file, as the embedded mode's two threads do. */
describe('SQLite with two writing connections', () => {
  let dir: string;
  let a: Storage;
  let b: Storage;
  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'orderflow-dialect-'));
    a = await openStorage(`sqlite:${join(dir, 'shared.db')}`);
    b = await openStorage(`sqlite:${join(dir, 'shared.db')}`);
    await sql`create table t (id integer primary key, v text not null)`.execute(a.db);
  });
  afterEach(async () => {
    await a.close();
    await b.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('waits for the other writer without freezing the event loop, then commits after it', async () => {
    // a holds the write lock across a timer; b asks for it meanwhile. Had b waited inside
    // SQLite (a sleeping busy handler on this thread), a's timer could not fire until b gave
    // up: b would fail with SQLITE_BUSY. Both committing, a first, shows b waited on timers.
    const order: string[] = [];
    const first = a.db.transaction().execute(async (trx) => {
      await sql`insert into t (v) values ('a')`.execute(trx);
      await new Promise((resolve) => setTimeout(resolve, 200));
      order.push('a');
    });
    await new Promise((resolve) => setTimeout(resolve, 20));
    const second = b.db.transaction().execute(async (trx) => {
      await sql`insert into t (v) values ('b')`.execute(trx);
      order.push('b');
    });
    await Promise.all([first, second]);
    expect(order).toEqual(['a', 'b']);
    expect((await sql<{ v: string }>`select v from t order by id`.execute(a.db)).rows.map((r) => r.v)).toEqual(['a', 'b']);
  });

  it('never fails a transaction that reads, then writes after the other connection committed', async () => {
    const increments = Array.from({ length: 40 }, (_, i) =>
      (i % 2 ? a : b).db.transaction().execute(async (trx) => {
        const { rows } = await sql<{ n: number }>`select count(*) as n from t`.execute(trx);
        await new Promise((resolve) => setTimeout(resolve, 1));
        await sql`insert into t (v) values (${String(rows[0]!.n)})`.execute(trx);
      }),
    );
    await Promise.all(increments);
    // Each transaction saw every earlier commit: the counts it wrote are 0..39, each once.
    const { rows } = await sql<{ v: string }>`select v from t order by id`.execute(a.db);
    expect(rows.map((r) => Number(r.v))).toEqual(Array.from({ length: 40 }, (_, i) => i));
  });

  // Regression test (fault campaign, issue 16): with the disk full, SQLite rolled the
  // transaction back itself; Kysely's ROLLBACK then failed ("no transaction is active") and that
  // error replaced the real one, so a full disk answered 500 instead of 503.
  it('a transaction SQLite already rolled back (a full disk) fails with its own error, and the connection works on', async () => {
    const full = Object.assign(new Error('database or disk is full'), { code: 'SQLITE_FULL' });
    const failed = a.db.transaction().execute(async (trx) => {
      await sql`insert into t (v) values ('lost')`.execute(trx);
      await sql`rollback`.execute(trx);
      throw full;
    });
    await expect(failed).rejects.toBe(full);
    await a.db.transaction().execute(async (trx) => void (await sql`insert into t (v) values ('kept')`.execute(trx)));
    expect((await sql<{ v: string }>`select v from t`.execute(b.db)).rows.map((r) => r.v)).toEqual(['kept']);
  });
});
