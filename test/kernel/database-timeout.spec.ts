import { sql } from 'kysely';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { toProblem } from '../../src/http/index.js';
import { openStorage, type Storage } from '../../src/platform/storage/database.js';
import { createScratchDatabase, type ScratchDatabase } from '../support/databases.js';
import { startTcpProxy, type TcpProxy } from '../support/tcp-proxy.js';

const TIMEOUT_MS = 600;

/** How long `work` took, and what it threw (undefined when it succeeded). */
async function timed(work: () => Promise<unknown>): Promise<{ ms: number; error: unknown }> {
  const started = performance.now();
  try {
    await work();
    return { ms: performance.now() - started, error: undefined };
  } catch (error) {
    return { ms: performance.now() - started, error };
  }
}

describe('DATABASE_TIMEOUT_MS: PostgreSQL that stops answering (every byte dropped)', () => {
  let scratch: ScratchDatabase;
  let proxy: TcpProxy;
  let storage: Storage;
  beforeEach(async () => {
    scratch = await createScratchDatabase('postgres');
    const direct = new URL(scratch.url);
    proxy = await startTcpProxy({ host: direct.hostname, port: Number(direct.port || 5432) });
    const through = new URL(scratch.url);
    through.port = String(proxy.port);
    // One connection: a stuck one that went back to the pool would be the only one there is.
    storage = await openStorage(through.toString(), { poolSize: 1, timeoutMs: TIMEOUT_MS });
    await sql`select 1`.execute(storage.db);
  });
  afterEach(async () => {
    await storage.close();
    await proxy.close();
    await scratch.drop();
  });

  it('a statement fails with a 503-class error within the timeout, its connection is destroyed, and the next one after the database returns is answered at once', async () => {
    const pid = async () => (await sql<{ pid: number }>`select pg_backend_pid() as pid`.execute(storage.db)).rows[0]!.pid;
    const before = await pid();
    proxy.blackhole();
    const stuck = await timed(() => sql`select 1`.execute(storage.db));
    expect(stuck.error).toMatchObject({ code: 'ETIMEDOUT', message: expect.stringContaining('DATABASE_TIMEOUT_MS') });
    expect(stuck.ms).toBeGreaterThanOrEqual(TIMEOUT_MS - 20);
    expect(stuck.ms).toBeLessThan(TIMEOUT_MS + 400);
    expect(toProblem(stuck.error).problem).toMatchObject({ status: 503, code: 'STORAGE_UNAVAILABLE' });

    // A transaction: its first statement times out, and the rollback does not wait another timeout.
    const transaction = await timed(() => storage.db.transaction().execute(async (trx) => sql`select 1`.execute(trx)));
    expect(transaction.error).toBeDefined();
    expect(toProblem(transaction.error).problem).toMatchObject({ status: 503, code: 'STORAGE_UNAVAILABLE' });
    expect(transaction.ms).toBeLessThan(TIMEOUT_MS + 400);

    // A ping gives up by its own deadline (readiness gives it 750 ms), on a connection of its own.
    const ping = await timed(() => storage.ping(300));
    expect(ping.error).toMatchObject({ code: 'ETIMEDOUT' });
    expect(ping.ms).toBeLessThan(500);

    proxy.heal();
    // The one pooled connection was destroyed: the next statement gets a new one and its answer.
    const after = await timed(() => pid());
    expect(after.error).toBeUndefined();
    expect(after.ms).toBeLessThan(TIMEOUT_MS);
    expect(await pid()).not.toBe(before);
    await storage.ping();
  });
});
