import type { PostgresPool, PostgresPoolClient } from 'kysely';
import type pg from 'pg';
import { preparedStatementName } from './statements.js';

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
export function guardClient(client: pg.PoolClient, options: GuardOptions): PostgresPoolClient {
  const { timeoutMs, prepared } = options;
  let broken: Error | undefined;
  // See `deferBegin` below: a `begin` not sent yet, going out with the transaction's first statement.
  let beginDeferred = false;
  const socket = (client as unknown as { connection?: { stream?: { cork?(): void; uncork?(): void } } }).connection?.stream;
  const pipelined = (client as unknown as { pipeline?: boolean }).pipeline === true && typeof socket?.cork === 'function';
  // The first statement that failed in the open transaction (see `checked`).
  let failure: unknown;
  const query = (text: unknown, parameters?: readonly unknown[]): unknown => {
    // A cursor (Kysely's streaming) runs as given: its reads are awaited by the caller.
    if (typeof text !== 'string') return client.query(text as never);
    if (text === 'begin') failure = undefined;
    return sendInOrder(text, parameters);
  };
  /**
   * A statement's answer, told the way its caller can act on. Statements may be sent before the
   * one ahead of them answered (pipelined, `Statement.send`), so a failure may be seen first by a
   * later statement, which the server refused with "current transaction is aborted" (25P02), or
   * by the commit, which the server then ran as a rollback. Both fail with the first failure — a
   * deadlock stays a deadlock, to be run again — and a commit answered by a rollback never passes
   * for a commit. A `rollback to savepoint` puts the transaction right again. Attached to pg's
   * own promise as the statement is sent: answers are handled in the order they came.
   */
  const checked = (text: string, running: Promise<unknown>): Promise<unknown> =>
    running.then(
      (result) => {
        if (text === 'commit' && (result as { command?: string } | undefined)?.command === 'ROLLBACK') {
          const cause = failure ?? new Error('the transaction was rolled back at its commit: a statement in it failed');
          failure = undefined;
          throw cause;
        }
        if (text === 'commit' || text === 'rollback' || text.startsWith('rollback to savepoint')) failure = undefined;
        return result;
      },
      (error: { code?: string }) => {
        if (error?.code === '25P02' && failure !== undefined) throw failure;
        failure ??= error;
        throw error;
      },
    );
  const sendInOrder = (text: string, parameters?: readonly unknown[]): unknown => {
    if (broken) return Promise.reject(broken);
    if (pipelined && text === 'begin') {
      beginDeferred = true;
      return Promise.resolve(NOTHING_SENT);
    }
    if (!beginDeferred) return send(text, parameters);
    beginDeferred = false;
    // A transaction that ran no statement: there is nothing to commit or roll back.
    if (text === 'commit' || text === 'rollback') return Promise.resolve(NOTHING_SENT);
    // Both in one write; the server answers both before it waits for more.
    socket!.cork!();
    let began: Promise<unknown>;
    let running: Promise<unknown>;
    try {
      began = send('begin', []) as Promise<unknown>;
      running = send(text, parameters) as Promise<unknown>;
    } finally {
      socket!.uncork!();
    }
    // The statement ran inside the transaction only if `begin` went through: its failure is the answer.
    running.catch(() => undefined);
    return began.then(() => running);
  };
  const send = (text: string, parameters?: readonly unknown[]): unknown => {
    if (broken) return Promise.reject(broken);
    const name = prepared ? preparedStatementName(text) : undefined;
    const running = checked(text, name ? client.query({ name, text, values: parameters as unknown[] }) : client.query(text, parameters as unknown[]));
    if (name) {
      // A prepared statement whose tables changed shape under it (a migration run by a newer
      // process) keeps failing on this connection: the connection is dropped, the next gets it right.
      running.catch((error: { code?: string }) => {
        if (error?.code === '0A000' || error?.code === '26000') broken ??= error as Error;
      });
    }
    if (!timeoutMs) return running;
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

/**
 * What a `begin` held back answers (the shape Kysely reads of a result). On a client in pg's
 * pipeline mode (`openPostgres`), a transaction's `begin` is not sent on its own: it goes out in
 * one write with the transaction's first statement, which the server receives behind it without
 * waiting for its answer — a round trip less per transaction (a quarter of a delivery's
 * bookkeeping). A `begin` cannot fail on a healthy connection; on a broken one the statement fails
 * too, and either failure is the statement's.
 */
const NOTHING_SENT = { command: 'BEGIN', rowCount: null, rows: [] };

export interface GuardOptions {
  /** A deadline for every statement (`DATABASE_TIMEOUT_MS`); none when undefined. */
  timeoutMs: number | undefined;
  /** Run the hot-path statements (statements.ts) as named prepared statements. */
  prepared: boolean;
}

/** The pool, handing out guarded clients (Kysely's PostgresDialect takes it). */
export function guardPool(pool: pg.Pool, options: GuardOptions): PostgresPool {
  return {
    connect: async () => guardClient(await pool.connect(), options),
    end: () => pool.end(),
  };
}

/**
 * Pings on a connection of their own, made for the ping and ended after it: a pool busy with
 * delivery says nothing about the database (and readiness must answer within a second either
 * way), and a process keeps no extra connection open for it.
 */
export function createPinger(config: pg.ClientConfig, Client: typeof pg.Client) {
  const clients = new Set<pg.Client>();
  return {
    /** Resolves when the database answers `select 1` within `ms`, connecting included. */
    async ping(ms: number): Promise<void> {
      const client = new Client({ ...config, connectionTimeoutMillis: ms });
      client.on('error', () => undefined);
      clients.add(client);
      let timer: NodeJS.Timeout | undefined;
      const deadline = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new StorageTimeout('a health check', ms, '')), ms)));
      const answered = (async () => {
        await client.connect();
        await client.query('select 1');
      })();
      // After the deadline its failure (the socket ended below) is nobody's.
      answered.catch(() => undefined);
      try {
        await Promise.race([answered, deadline]);
      } finally {
        clearTimeout(timer);
        clients.delete(client);
        // Ends it, or destroys its socket when the database did not answer.
        client.end().catch(() => undefined);
      }
    },
    /** Ends the pings still waiting. */
    close: async () => {
      for (const client of clients) client.end().catch(() => undefined);
      clients.clear();
    },
  };
}
