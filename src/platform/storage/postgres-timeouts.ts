import type { PostgresPool, PostgresPoolClient } from 'kysely';
import type pg from 'pg';

/**
 * A database that stops answering (packets dropped, not refused) would hold every query and
 * every request on it for as long as TCP keeps the socket: minutes. These guards give each
 * statement `timeoutMs`; one that does not answer in time fails with an error the HTTP layer
 * maps to 503 STORAGE_UNAVAILABLE (code ETIMEDOUT), and its connection is destroyed, never
 * reused: an answer may still be on its way, or the socket may be dead for good.
 */
export class StorageTimeout extends Error {
  readonly code = 'ETIMEDOUT';
  constructor(what: string, ms: number, setting = ' (DATABASE_TIMEOUT_MS)') {
    super(`the database did not answer ${what} within ${ms} ms${setting}`);
  }
}

/** Ends the client's socket now; its pending queries fail and the pool drops it when released. */
function destroy(client: pg.PoolClient): void {
  client.end().catch(() => undefined);
}

/**
 * The client with a deadline on every statement. After a timeout the client is broken: later
 * statements (the transaction's rollback) fail at once, and its release destroys it.
 */
export function guardClient(client: pg.PoolClient, timeoutMs: number): PostgresPoolClient {
  let broken: StorageTimeout | undefined;
  const query = (text: unknown, parameters?: readonly unknown[]): unknown => {
    // A cursor (Kysely's streaming) runs as given: its reads are awaited by the caller.
    if (typeof text !== 'string') return client.query(text as never);
    if (broken) return Promise.reject(broken);
    const running = client.query(text, parameters as unknown[]);
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        broken = new StorageTimeout('a statement', timeoutMs);
        destroy(client);
        reject(broken);
      }, timeoutMs);
    });
    // Once the deadline has passed, the statement's own failure (the socket ended) is nobody's.
    running.catch(() => undefined);
    return Promise.race([running, deadline]).finally(() => clearTimeout(timer));
  };
  return {
    query: query as PostgresPoolClient['query'],
    release: () => client.release(broken),
  };
}

/** The pool, handing out guarded clients (Kysely's PostgresDialect takes it). */
export function guardPool(pool: pg.Pool, timeoutMs: number): PostgresPool {
  return {
    connect: async () => guardClient(await pool.connect(), timeoutMs),
    end: () => pool.end(),
  };
}

/**
 * Readiness pings on a connection of their own, not the pool's: a pool busy with delivery says
 * nothing about the database, and readiness must answer within a second either way. The
 * connection is made on first use and destroyed after any failure (made again at the next).
 */
export function createPinger(config: pg.ClientConfig, Client: typeof pg.Client) {
  let client: pg.Client | undefined;
  let connecting: Promise<pg.Client> | undefined;
  let closed = false;

  const connect = (ms: number) =>
    (connecting ??= (async () => {
      const fresh = new Client({ ...config, connectionTimeoutMillis: ms });
      fresh.on('error', () => undefined);
      try {
        await fresh.connect();
        // Closed while it connected: it must not stay open.
        if (closed) throw new Error('the storage is closed');
        return (client = fresh);
      } catch (error) {
        fresh.end().catch(() => undefined);
        throw error;
      } finally {
        connecting = undefined;
      }
    })());

  const drop = () => {
    client?.end().catch(() => undefined);
    client = undefined;
  };

  return {
    /** Resolves when the database answers `select 1` within `ms` (connecting included). */
    async ping(ms: number): Promise<void> {
      let timer: NodeJS.Timeout | undefined;
      const deadline = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new StorageTimeout('a health check', ms, '')), ms)));
      try {
        await Promise.race([(async () => (client ?? (await connect(ms))).query('select 1'))(), deadline]);
      } catch (error) {
        drop();
        throw error;
      } finally {
        clearTimeout(timer);
      }
    },
    close: async () => {
      closed = true;
      drop();
    },
  };
}
