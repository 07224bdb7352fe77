import type { CompiledQuery} from 'kysely';
import { SqliteDialect, type DatabaseConnection, type Driver, type QueryResult, type TransactionSettings } from 'kysely';
import type { SqlitePreparer } from './statements.js';

/** How long a statement keeps trying while another connection holds the write lock. */
const BUSY_DEADLINE_MS = 5_000;

/**
 * SQLite through better-sqlite3, for a database that more than one connection writes (the
 * delivery thread and the request thread of the embedded mode, or a CLI command beside a
 * running server). It differs from Kysely's own driver in two ways:
 *
 * - Transactions begin IMMEDIATE: they take the write lock up front. A deferred transaction
 *   that reads first and then writes fails at once (SQLITE_BUSY_SNAPSHOT) when another
 *   connection committed in between; an immediate one never does.
 * - Waiting for the lock happens here, asynchronously: the connection's own busy handler
 *   (`busy_timeout`) would sleep inside the synchronous call and freeze the thread's event
 *   loop — the very thread that answers HTTP requests. A statement or a BEGIN that finds the
 *   lock taken is tried again after a short timer, up to a deadline, and only then fails.
 */
export function createSqliteDialect(database: SqlitePreparer & { close(): void }, turns?: WriteTurns): SqliteDialect {
  return new (class extends SqliteDialect {
    override createDriver(): Driver {
      return new SqliteDriver(database, turns);
    }
  })({ database: database as never });
}

/**
 * Turns at the write lock between connections of one process in different threads. SQLite's
 * lock is not fair: a thread that begins its next transaction the moment it committed (the
 * delivery thread working through a backlog) wins it again and again, and the other one —
 * polling with timers — can wait for seconds. A connection with `priority` raises a shared
 * flag while it waits; the others do not begin while the flag is up (for a few milliseconds
 * at most), so a placement gets the lock between two delivery batches.
 */
export interface WriteTurns {
  /**
   * Over a SharedArrayBuffer, shared by every connection of the file in this process
   * (`createWriteTurnsFlag`): slot WAITING counts the priority writers waiting, slot RELEASES
   * the write transactions ended. A connection waiting for the lock sleeps on RELEASES and is
   * woken the moment another thread's transaction ends, not at its next timer.
   */
  readonly waiting: Int32Array;
  /** This connection goes first (the thread that answers requests). */
  readonly priority: boolean;
}

/** The flags of `WriteTurns`, to hand to the other threads (shareable through workerData). */
export function createWriteTurnsFlag(): Int32Array {
  return new Int32Array(new SharedArrayBuffer(8));
}

/** Slots of `WriteTurns.waiting`. */
const WAITING = 0;
const RELEASES = 1;

/** Whether a connection with priority is waiting for the write lock now. */
export function priorityWriterWaiting(turns: WriteTurns): () => boolean {
  return () => Atomics.load(turns.waiting, WAITING) > 0;
}

/** `Atomics.waitAsync` (Node has it; TypeScript's lib from es2024 only): resolves when `slot` is notified or no longer `value`, or after `timeoutMs`. */
const waitAsync = (Atomics as unknown as { waitAsync(array: Int32Array, slot: number, value: number, timeoutMs: number): { value: Promise<string> | string } }).waitAsync;

/** How long a connection without priority holds back for a waiting priority writer, at most. */
const YIELD_MAX_MS = 50;

class SqliteDriver implements Driver {
  readonly #connection: SqliteConnection;
  #locked: Promise<void> | undefined;
  #unlock: (() => void) | undefined;

  constructor(
    private readonly database: SqlitePreparer & { close(): void },
    private readonly turns: WriteTurns | undefined,
  ) {
    this.#connection = new SqliteConnection(database, turns?.waiting);
  }

  async init(): Promise<void> {}

  // One connection: callers take turns (Kysely's own driver does the same).
  async acquireConnection(): Promise<DatabaseConnection> {
    while (this.#locked) await this.#locked;
    this.#locked = new Promise((resolve) => (this.#unlock = resolve));
    return this.#connection;
  }

  async releaseConnection(): Promise<void> {
    const unlock = this.#unlock;
    this.#locked = undefined;
    this.#unlock = undefined;
    unlock?.();
  }

  async beginTransaction(connection: DatabaseConnection, _settings: TransactionSettings): Promise<void> {
    const { turns } = this;
    if (turns && !turns.priority) {
      const until = Date.now() + YIELD_MAX_MS;
      for (;;) {
        const waiting = Atomics.load(turns.waiting, WAITING);
        const left = until - Date.now();
        if (waiting <= 0 || left <= 0) break;
        await waitAsync(turns.waiting, WAITING, waiting, left).value;
      }
    }
    if (!turns?.priority) return (connection as SqliteConnection).run('begin immediate', true);
    let announced = false;
    try {
      await (connection as SqliteConnection).run('begin immediate', true, () => {
        if (!announced) Atomics.add(turns.waiting, WAITING, 1);
        announced = true;
      });
    } finally {
      if (announced && Atomics.sub(turns.waiting, WAITING, 1) === 1) Atomics.notify(turns.waiting, WAITING);
    }
  }

  async commitTransaction(connection: DatabaseConnection): Promise<void> {
    try {
      await (connection as SqliteConnection).run('commit', false);
    } finally {
      this.#released();
    }
  }

  async rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    try {
      await (connection as SqliteConnection).run('rollback', false);
    } finally {
      this.#released();
    }
  }

  /** The write lock is free again: wakes the other threads' connections waiting for it. */
  #released(): void {
    const { turns } = this;
    if (!turns) return;
    Atomics.add(turns.waiting, RELEASES, 1);
    Atomics.notify(turns.waiting, RELEASES);
  }

  async destroy(): Promise<void> {
    this.database.close();
  }
}

class SqliteConnection implements DatabaseConnection {
  #inTransaction = false;

  constructor(
    private readonly database: SqlitePreparer,
    /** `WriteTurns.waiting`: where the other threads' releases of the lock are counted. */
    private readonly releases: Int32Array | undefined,
  ) {}

  /** Runs a transaction-control statement; `begin` waits for the write lock (`onBusy` hears each time it found it taken). */
  async run(text: string, waitForLock: boolean, onBusy?: () => void): Promise<void> {
    const statement = this.database.prepare(text);
    try {
      if (waitForLock) await whenUnlocked(() => statement.run([]), this.releases, onBusy);
      else statement.run([]);
    } catch (error) {
      // After SQLITE_FULL or an I/O error SQLite may have rolled the transaction back itself:
      // the ROLLBACK then fails, and its error would hide the one that matters (a full disk is a 503).
      if (!(text === 'rollback' && /no transaction is active/.test((error as Error).message))) throw error;
    }
    this.#inTransaction = text.startsWith('begin');
  }

  async executeQuery<R>(query: CompiledQuery): Promise<QueryResult<R>> {
    const statement = this.database.prepare(query.sql);
    const execute = (): QueryResult<R> => {
      if (statement.reader) return { rows: statement.all(query.parameters) as R[] };
      const { changes, lastInsertRowid } = statement.run(query.parameters) as { changes?: number; lastInsertRowid?: number | bigint };
      return {
        numAffectedRows: changes === undefined ? undefined : BigInt(changes),
        insertId: lastInsertRowid === undefined ? undefined : BigInt(lastInsertRowid),
        rows: [],
      };
    };
    // Inside a transaction the lock is ours already; alone, a write may have to wait for it.
    return this.#inTransaction ? execute() : whenUnlocked(execute, this.releases);
  }

  // eslint-disable-next-line require-yield
  async *streamQuery<R>(): AsyncIterableIterator<QueryResult<R>> {
    throw new Error('orderflow does not stream SQLite queries');
  }
}

/**
 * Runs `attempt` once the write lock is free. With `releases` (a connection of a process whose
 * threads share `WriteTurns`), a wait ends the moment another thread ends its transaction;
 * the timer still bounds it, for a writer in another process (a CLI command).
 */
async function whenUnlocked<T>(attempt: () => T, releases: Int32Array | undefined, onBusy?: () => void): Promise<T> {
  const deadline = Date.now() + BUSY_DEADLINE_MS;
  // A priority writer looks again every millisecond: the others hold back for it.
  for (let wait = 1; ; wait = onBusy ? 1 : Math.min(wait * 2, 20)) {
    // Read before trying: a release between the failed try and the wait is not missed.
    const released = releases ? Atomics.load(releases, RELEASES) : 0;
    try {
      return attempt();
    } catch (error) {
      if (!isBusy(error) || Date.now() >= deadline) throw error;
    }
    onBusy?.();
    if (releases) await waitAsync(releases, RELEASES, released, wait).value;
    else await new Promise((resolve) => setTimeout(resolve, wait));
  }
}

function isBusy(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code.startsWith('SQLITE_BUSY');
}
