import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import SqliteDatabase from 'better-sqlite3';
import { Kysely, PostgresDialect, sql } from 'kysely';
import type pg from 'pg';
import { AppError } from '../../kernel/errors.js';
import { createPinger, guardPool } from './postgres-timeouts.js';
import { createSqliteDialect, priorityWriterWaiting, type WriteTurns } from './sqlite-dialect.js';
import { SAFETY_NET_AUTOCHECKPOINT_PAGES, startSqliteCheckpointer } from './sqlite-checkpointer.js';
import { registerSqliteConnection } from './statements.js';

/** The two databases orderflow runs on. */
export type DialectName = 'sqlite' | 'postgres';

/** Where the data lives, parsed from `DATABASE_URL`. */
export type DatabaseLocation =
  | { dialect: 'sqlite'; path: string }
  | { dialect: 'postgres'; connectionString: string };

/** An open database: the Kysely instance every module queries through, and its dialect. */
export interface Storage {
  // Each module types its own tables on top (see `tablesOf`); the platform cannot know them all.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  readonly db: Kysely<any>;
  readonly dialect: DialectName;
  /** A description without credentials, for logs. */
  readonly description: string;
  /**
   * Resolves when the database answers a trivial query; on PostgreSQL within `withinMs` (default:
   * the connect timeout), on a connection of its own. Readiness gives it less than a second.
   */
  ping(withinMs?: number): Promise<void>;
  close(): Promise<void>;
  /** SQLite, a connection without priority at the write lock (`writeTurns`): whether one with priority waits for it now. */
  readonly priorityWriterWaiting?: () => boolean;
}

export interface StorageOptions {
  /** SQLite `synchronous` pragma: FULL (durable, default) or NORMAL (may lose the last commits on an OS crash). */
  sqliteSynchronous?: 'FULL' | 'NORMAL';
  /** PostgreSQL pool size. */
  poolSize?: number;
  /** PostgreSQL: milliseconds to wait for a connection before failing (default: `timeoutMs`, else 5 s). */
  connectTimeoutMs?: number;
  /**
   * PostgreSQL: a transaction of orderflow's left idle this long (its process paused or stuck
   * between two statements) is ended by the server. An append in flight holds back every
   * consumer (readers stop below it, see event-log.ts): this caps how long. Default 10 s.
   */
  idleInTransactionTimeoutMs?: number;
  /**
   * PostgreSQL: connect and statement timeout (`DATABASE_TIMEOUT_MS`). A statement without an
   * answer by then fails (503 STORAGE_UNAVAILABLE over HTTP) and its connection is destroyed
   * (postgres-timeouts.ts); the server cancels one running that long too. Unset: no limit.
   */
  timeoutMs?: number;
  /**
   * PostgreSQL: run the hot-path statements as named prepared statements, parsed and planned
   * once per connection (`DATABASE_PREPARED_STATEMENTS`, default true). Off behind a pooler
   * that hands one session's statements to several server connections (PgBouncer in
   * transaction mode before 1.21).
   */
  preparedStatements?: boolean;
  /** SQLite: run WAL checkpoints in a background thread (default true; one connection per file needs it). */
  checkpointer?: boolean;
  /** SQLite: turns at the write lock with the other threads' connections to the file (sqlite-dialect.ts). */
  writeTurns?: WriteTurns;
}

/** Parses `sqlite:<path>`, `sqlite::memory:` or `postgres://…`; anything else is refused. */
export function parseDatabaseUrl(url: string): DatabaseLocation {
  if (url.startsWith('sqlite:')) {
    const path = url.slice('sqlite:'.length);
    if (!path) throw new AppError('validation', 'BAD_DATABASE_URL', 'DATABASE_URL sqlite: needs a file path, e.g. sqlite:./data/orderflow.db');
    return { dialect: 'sqlite', path };
  }
  if (url.startsWith('postgres://') || url.startsWith('postgresql://')) return { dialect: 'postgres', connectionString: url };
  throw new AppError('validation', 'BAD_DATABASE_URL', 'DATABASE_URL must be sqlite:<path> or postgres://…');
}

/** Opens the database named by `url` with durable settings. */
export async function openStorage(url: string, options: StorageOptions = {}): Promise<Storage> {
  const location = parseDatabaseUrl(url);
  if (location.dialect === 'sqlite') return openSqlite(location.path, options);
  // Loaded only for PostgreSQL: an embedded process never holds the driver's code.
  const { default: driver } = await import('pg');
  return openPostgres(driver, location.connectionString, options);
}

/** Each SQLite connection's page cache, KiB. */
const PAGE_CACHE_KIB = 4096;

function openSqlite(path: string, options: StorageOptions): Storage {
  const inMemory = path === ':memory:';
  if (!inMemory) mkdirSync(dirname(resolve(path)), { recursive: true });
  const database = new SqliteDatabase(path);
  const synchronous = options.sqliteSynchronous ?? 'FULL';
  database.pragma('journal_mode = WAL');
  database.pragma(`synchronous = ${synchronous}`);
  // No waiting inside SQLite: a busy write lock is waited for asynchronously (sqlite-dialect.ts).
  database.pragma('busy_timeout = 0');
  database.pragma('foreign_keys = ON');
  // Savepoints keep their undo pages (the sub-journal) in memory, not in a temporary file.
  database.pragma('temp_store = MEMORY');
  // The page cache of this connection (better-sqlite3 builds SQLite with 16 MB): the hot pages are
  // few (time-ordered keys keep the writes at the right edge of each index); a page not here is
  // read from the operating system's cache, and the process stays smaller. (An in-memory
  // database has no file to read a page back from: it keeps the default.)
  if (!inMemory) database.pragma(`cache_size = -${PAGE_CACHE_KIB}`);
  // Checkpoints run in a worker thread of their own (a file database only).
  const checkpointer = inMemory || options.checkpointer === false ? undefined : startSqliteCheckpointer({ path, synchronous });
  // Another connection's checkpointer (checkpointer: false) serves this one too.
  if (!inMemory) database.pragma(`wal_autocheckpoint = ${SAFETY_NET_AUTOCHECKPOINT_PAGES}`);
  const connection = withStatementCache(database);
  const db = new Kysely({ dialect: createSqliteDialect(connection, options.writeTurns) });
  registerSqliteConnection(db, connection);
  return {
    db,
    dialect: 'sqlite',
    description: `sqlite:${path}`,
    ...(options.writeTurns && !options.writeTurns.priority ? { priorityWriterWaiting: priorityWriterWaiting(options.writeTurns) } : {}),
    ping: async () => {
      await sql`select 1`.execute(db);
    },
    close: async () => {
      await checkpointer?.stop();
      await db.destroy();
    },
  };
}

const STATEMENT_CACHE_SIZE = 2000;

/** A prepared statement as the storage runs it: reads give rows as objects keyed by column. */
type CachedStatement = Pick<SqliteDatabase.Statement, 'reader' | 'run'> & { all(params: readonly unknown[]): unknown[] };

/**
 * Kysely prepares every query anew; better-sqlite3 can reuse a prepared statement for the
 * same SQL text, which saves a parse and plan per query on the hot path. Statements are used
 * one at a time (one connection, one thread), so sharing them is safe. The hot path's texts
 * are few and fixed (see statements.ts); when the cache is full, the oldest entry goes.
 */
function withStatementCache(database: SqliteDatabase.Database) {
  const cache = new Map<string, CachedStatement>();
  return {
    close: () => database.close(),
    prepare(sqlText: string): CachedStatement {
      let statement = cache.get(sqlText);
      if (!statement) {
        statement = readingObjects(database.prepare(sqlText));
        if (cache.size >= STATEMENT_CACHE_SIZE) cache.delete(cache.keys().next().value!);
        cache.set(sqlText, statement);
      }
      return statement;
    },
  };
}

/**
 * A read's rows as objects, built in JavaScript from the arrays of better-sqlite3's raw mode. Its
 * own objects get their properties one by one through V8's slow path (a hidden-class transition
 * per column of every row: ~11% of the embedded mode's CPU); an object literal of the statement's
 * columns, compiled once per statement, makes every row in one step, all of one shape. Same
 * result: a property per column, named as SQLite names it, the last of two equal names winning.
 */
function readingObjects(statement: SqliteDatabase.Statement): CachedStatement {
  if (!statement.reader) return statement;
  const names = statement.columns().map((column) => column.name);
  // In a literal, a key "__proto__" would set the prototype, not a property.
  if (names.includes('__proto__')) return statement;
  const build = new Function('row', `return { ${names.map((name, i) => `${JSON.stringify(name)}: row[${i}]`).join(', ')} };`) as (row: unknown[]) => unknown;
  statement.raw(true);
  return {
    reader: true,
    run: (...params) => statement.run(...params),
    all(params) {
      const rows = statement.all(params) as unknown[];
      for (let i = 0; i < rows.length; i++) rows[i] = build(rows[i] as unknown[]);
      return rows;
    },
  };
}

function openPostgres(driver: typeof pg, connectionString: string, options: StorageOptions): Storage {
  const { timeoutMs } = options;
  const pool = new driver.Pool({
    connectionString,
    max: options.poolSize ?? 10,
    // Queries are written without waiting for the answer to the previous one. Kysely still awaits
    // each statement; what goes out together is a transaction's `begin` and its first statement
    // (postgres-timeouts.ts). Cursors are refused in this mode; orderflow uses none.
    pipeline: true,
    connectionTimeoutMillis: options.connectTimeoutMs ?? timeoutMs ?? 5000,
    // Also what ends a transaction whose client vanished in a silence (its goodbye lost), with its locks.
    idle_in_transaction_session_timeout: options.idleInTransactionTimeoutMs ?? 10_000,
    // The server's own limit for a statement the client gave up on (its socket destroyed): it
    // ends soon after the client's deadline, which comes first, so the caller sees a 503, not a
    // cancelled query.
    ...(timeoutMs ? { statement_timeout: timeoutMs + 500 } : {}),
    // Sequences and epoch-millisecond columns are bigint; they stay below 2^53.
    types: { getTypeParser: (oid: number, format?: string) => (oid === 20 ? Number : driver.types.getTypeParser(oid, format as 'text')) } as pg.CustomTypesConfig,
  });
  const pinger = createPinger({ connectionString }, driver.Client);
  const pingTimeoutMs = options.connectTimeoutMs ?? timeoutMs ?? 5000;
  // A client losing its server must not crash the process; the next query reports it. The
  // pool listens on idle clients only: one checked out (inside a transaction, between two
  // statements) emits 'error' with no listener, which throws — so every client gets one. The
  // pool drops a client that failed when it is released.
  pool.on('error', () => undefined);
  pool.on('connect', (client) => client.on('error', () => undefined));
  const db = new Kysely({ dialect: new PostgresDialect({ pool: guardPool(pool, { timeoutMs, prepared: options.preparedStatements ?? true }) }) });
  return {
    db,
    dialect: 'postgres',
    description: redact(connectionString),
    ping: (withinMs) => pinger.ping(withinMs ?? pingTimeoutMs),
    close: async () => {
      await pinger.close();
      await db.destroy();
    },
  };
}

function redact(connectionString: string): string {
  try {
    const parsed = new URL(connectionString);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return 'postgres://…';
  }
}
