import { sql } from 'kysely';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openStorage, type Storage } from '../../src/platform/storage/database.js';
import { statement } from '../../src/platform/storage/statements.js';
import { createScratchDatabase, type ScratchDatabase } from '../support/databases.js';

const insertProbe = statement('insert into pipelined_probe (id, amount) values (?, ?)');
const addToProbe = statement('update pipelined_probe set amount = amount + ? where id = ?');
const readProbe = statement<{ id: string; amount: number }>('select id, amount from pipelined_probe where id = ?');

/**
 * Writes sent without waiting for their answers (`Statement.send`): the server runs them in
 * order behind the statements before them, and a failure among them can never pass unseen.
 */
describe('PostgreSQL: statements sent ahead in a transaction (Statement.send)', () => {
  let scratch: ScratchDatabase;
  let storage: Storage;
  beforeEach(async () => {
    scratch = await createScratchDatabase('postgres');
    storage = await openStorage(scratch.url, { poolSize: 4 });
    await sql`create table pipelined_probe (id text primary key, amount bigint not null check (amount >= 0))`.execute(storage.db);
  });
  afterEach(async () => {
    await storage.close();
    await scratch.drop();
  });

  /** 'committed', or the code of the error the transaction failed with. */
  const outcomeOf = (transaction: Promise<unknown>) =>
    transaction.then(
      () => 'committed',
      (error: { code?: string }) => error.code,
    );

  const rows = async () => (await sql<{ id: string; amount: string }>`select id, amount from pipelined_probe order by id`.execute(storage.db)).rows.map((r) => [r.id, Number(r.amount)]);

  it('runs in order and commits with the transaction, the next statement seeing what was sent before it', async () => {
    const seen = await storage.db.transaction().execute(async (trx) => {
      await insertProbe.send(trx, ['a', 1]);
      await addToProbe.send(trx, [2, 'a']);
      return readProbe(trx, ['a']);
    });
    expect(seen.map((r) => Number(r.amount))).toEqual([3]);
    expect(await rows()).toEqual([['a', 3]]);
  });

  it('a failure sent ahead fails the commit with its own error, and nothing of the transaction is written', async () => {
    await insertProbe(storage.db, ['a', 1]);
    const outcome = await outcomeOf(
      storage.db.transaction().execute(async (trx) => {
        await insertProbe.send(trx, ['b', 5]);
        // Violates the check: the server runs the commit behind it as a rollback.
        await addToProbe.send(trx, [-10, 'a']);
      }),
    );
    expect(outcome).toBe('23514');
    expect(await rows()).toEqual([['a', 1]]);
  });

  it('a later statement waited for fails with the first failure, not with "current transaction is aborted"', async () => {
    await insertProbe(storage.db, ['a', 1]);
    const outcome = await outcomeOf(
      storage.db.transaction().execute(async (trx) => {
        await insertProbe.send(trx, ['a', 2]);
        await readProbe(trx, ['a']);
      }),
    );
    expect(outcome).toBe('23505');
    expect(await rows()).toEqual([['a', 1]]);
  });

  it('a deadlock met by a statement sent ahead is told as a deadlock (40P01), so the transaction can run again', async () => {
    await insertProbe(storage.db, ['a', 10]);
    await insertProbe(storage.db, ['b', 10]);
    let release!: () => void;
    const bothLocked = new Promise<void>((resolve) => (release = resolve));
    let locked = 0;
    const lockedOne = () => {
      if (++locked === 2) release();
    };
    // Two transactions take a and b in opposite orders; each sends its second update ahead and then waits on a read.
    const crossing = (first: string, second: string) =>
      outcomeOf(
        storage.db.transaction().execute(async (trx) => {
          await addToProbe(trx, [1, first]);
          lockedOne();
          await bothLocked;
          await addToProbe.send(trx, [1, second]);
          await readProbe(trx, [first]);
        }),
      );
    const outcomes = await Promise.all([crossing('a', 'b'), crossing('b', 'a')]);
    // One of them lost the deadlock, the other committed.
    expect(outcomes.sort()).toEqual(['40P01', 'committed']);
    const total = (await rows()).reduce((sum, [, amount]) => sum + (amount as number), 0);
    expect(total).toBe(22);
  });

  it('a failure undone by a rollback to a savepoint does not fail the commit', async () => {
    await insertProbe(storage.db, ['a', 1]);
    await storage.db.transaction().execute(async (trx) => {
      await sql`savepoint probe`.execute(trx);
      await insertProbe.send(trx, ['a', 2]);
      await sql`rollback to savepoint probe`.execute(trx);
      await insertProbe.send(trx, ['c', 3]);
    });
    expect(await rows()).toEqual([['a', 1], ['c', 3]]);
  });
});
