import { CompiledQuery, PostgresAdapter, type DialectAdapter, type Kysely } from 'kysely';

/** Where a statement runs: the database or an open transaction (a `Transaction` is a `Kysely`). */
// Statements name their own tables in SQL; the executor's table types do not matter here.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Executor = Kysely<any>;

/**
 * A statement written once as SQL with `?` placeholders and run with parameters. The hot path
 * of placement and delivery uses these instead of the query builder: building and compiling a
 * Kysely query on every call was a fifth of the embedded mode's CPU. On SQLite the prepared
 * statement is found again by its text (the storage's statement cache); on PostgreSQL the
 * numbered `$n` placeholders are made from the same text once. Only standard SQL that both
 * databases read alike belongs here (`on conflict`, `returning` and `limit` included).
 */
export interface Statement<Row> {
  /** Runs the statement in `db` (the database or an open transaction); rows of `returning` or a select. */
  (db: Executor, params: readonly unknown[]): Promise<Row[]>;
  /**
   * Sends the statement without waiting for its answer, where that saves a round trip: in a
   * PostgreSQL transaction it goes out at once, pipelined behind the statements before it, and
   * the caller goes on to the next (which the server runs after it, on the same connection).
   * Resolves once sent, with the answer to come. Its failure is not lost: the next statement
   * waited for fails with it, and so does the commit (postgres-timeouts.ts), which the server
   * runs as a rollback. Elsewhere (SQLite, outside a transaction) it runs as the statement does
   * and resolves once answered. For writes whose answer nothing before the commit depends on.
   */
  send(db: Executor, params: readonly unknown[]): Promise<Sent<Row>>;
  readonly text: string;
}

/** A statement sent: `answer` settles when the server ran it (a failure rejects it; nobody needs to wait). */
export interface Sent<Row> {
  answer: Promise<Row[]>;
}

export function statement<Row = never>(text: string): Statement<Row> {
  const postgres = numberPlaceholders(text);
  if (!preparedNames.has(postgres)) preparedNames.set(postgres, `orderflow_${preparedNames.size + 1}`);
  const run = async (db: Executor, params: readonly unknown[]): Promise<Row[]> => {
    const adapter = db.getExecutor().adapter;
    const direct = directSqlite(db);
    if (direct) {
      const prepared = direct.prepare(text);
      if (prepared.reader) return prepared.all(params) as Row[];
      prepared.run(params);
      return [];
    }
    const result = await db.executeQuery<Row>(CompiledQuery.raw(adapter instanceof PostgresAdapter ? postgres : text, params as unknown[]));
    return result.rows;
  };
  const send = async (db: Executor, params: readonly unknown[]): Promise<Sent<Row>> => {
    if (!db.isTransaction || !(db.getExecutor().adapter instanceof PostgresAdapter)) {
      const rows = await run(db, params);
      return { answer: Promise.resolve(rows) };
    }
    // The transaction's one connection, taken only for as long as it takes to send: Kysely hands
    // it to one statement at a time and would otherwise hold the next until this one answered.
    let answer!: Promise<Row[]>;
    await db.getExecutor().provideConnection(async (connection) => {
      answer = connection.executeQuery<Row>(CompiledQuery.raw(postgres, params as unknown[])).then((result) => result.rows);
    });
    answer.catch(() => undefined);
    return { answer };
  };
  return Object.assign(run, { text, send });
}

/**
 * PostgreSQL: the name each statement's text is prepared under, per connection, on its first
 * run (postgres-timeouts.ts). A named statement is parsed and planned once per connection, not on
 * every run: 35% less server CPU per statement in a measurement of a one-row update (136 → 87 µs).
 */
const preparedNames = new Map<string, string>();

/** The name a hot-path statement of this text is prepared under on PostgreSQL; undefined for any other text. */
export function preparedStatementName(text: string): string | undefined {
  return preparedNames.get(text);
}

/** What a SQLite statement needs of better-sqlite3: a prepared statement for a text. */
export interface SqlitePreparer {
  prepare(text: string): { reader: boolean; all(params: readonly unknown[]): unknown[]; run(params: readonly unknown[]): unknown };
}

const sqliteConnections = new WeakMap<DialectAdapter, SqlitePreparer>();

/** The SQLite connection to run on directly: only inside a transaction of a registered database (see below). */
function directSqlite(db: Executor): SqlitePreparer | undefined {
  return db.isTransaction ? sqliteConnections.get(db.getExecutor().adapter) : undefined;
}

/**
 * Lets statements run inside a transaction of this SQLite database straight on its one
 * connection, skipping Kysely's executor (its connection mutex and promise chain cost more
 * than the statement). Only inside a transaction: the transaction holds the connection, so
 * nothing else runs on it in between. Outside one, a statement goes through Kysely, which
 * waits for the connection — run directly, it could land inside another caller's open
 * transaction and read what that one has not committed.
 */
export function registerSqliteConnection(db: Executor, connection: SqlitePreparer): void {
  sqliteConnections.set(db.getExecutor().adapter, connection);
}

/** What SQLite's run of a write tells: rows written, and the rowid of the last row inserted. */
export interface SqliteRunResult {
  changes: number;
  lastInsertRowid: number | bigint;
}

/**
 * Inside a SQLite transaction: a runner of writes that reports what SQLite's own run tells
 * (`changes`, `lastInsertRowid`) instead of rows of `returning`, which costs better-sqlite3 about
 * as much as the insert itself (a result row built per call; 9.7 → 5.6 µs for an event row).
 * Undefined anywhere else (PostgreSQL, or outside a transaction): the caller uses `returning`.
 */
export function sqliteWriter(db: Executor): ((text: string, params: readonly unknown[]) => SqliteRunResult) | undefined {
  const direct = directSqlite(db);
  return direct ? (text, params) => direct.prepare(text).run(params) as SqliteRunResult : undefined;
}

/**
 * A savepoint command (`savepoint x`, `release savepoint x`, `rollback to savepoint x`) in an
 * open transaction: straight on SQLite's connection (a grouped placement and a consumer's batch
 * of a round take two each; through Kysely they cost more than the statement), through Kysely
 * on PostgreSQL.
 */
export async function savepointCommand(trx: Executor, text: string): Promise<void> {
  const direct = directSqlite(trx);
  if (direct) direct.prepare(text).run([]);
  else await trx.executeQuery(CompiledQuery.raw(text, []));
}

/**
 * An insert of many rows. PostgreSQL gets one multi-row statement per chunk (one round trip);
 * SQLite runs the one-row statement once per row — it is in-process, and a cached one-row
 * statement costs less than preparing a new text for every batch size.
 * `head` is everything before `values`, `tail` everything after the rows.
 */
export function rowsStatement<Row = never>(head: string, columns: number, tail = '') {
  const one = `(${Array.from({ length: columns }, () => '?').join(', ')})`;
  const single = statement<Row>(`${head} values ${one} ${tail}`.trim());
  const byCount = new Map<number, Statement<Row>>();
  const chunk = Math.max(1, Math.floor(1000 / columns));
  const multiFor = (count: number): Statement<Row> => {
    let multi = byCount.get(count);
    if (!multi) byCount.set(count, (multi = statement<Row>(`${head} values ${Array.from({ length: count }, () => one).join(', ')} ${tail}`.trim())));
    return multi;
  };
  const run = async (db: Executor, rows: readonly (readonly unknown[])[]): Promise<Row[]> => {
    const out: Row[] = [];
    if (!isPostgres(db)) {
      for (const row of rows) out.push(...(await single(db, row)));
      return out;
    }
    for (let i = 0; i < rows.length; i += chunk) {
      const part = rows.slice(i, i + chunk);
      out.push(...(await multiFor(part.length)(db, part.flat())));
    }
    return out;
  };
  /** The inserts sent without waiting for their answers (`Statement.send`); elsewhere run as `run`. */
  const send = async (db: Executor, rows: readonly (readonly unknown[])[]): Promise<Sent<Row>> => {
    if (!isPostgres(db) || !db.isTransaction) return { answer: Promise.resolve(await run(db, rows)) };
    const answers: Promise<Row[]>[] = [];
    for (let i = 0; i < rows.length; i += chunk) {
      const part = rows.slice(i, i + chunk);
      answers.push((await multiFor(part.length).send(db, part.flat())).answer);
    }
    const answer = Promise.all(answers).then((parts) => parts.flat());
    answer.catch(() => undefined);
    return { answer };
  };
  return Object.assign(run, { send });
}

/** An insert of one row given as an object: the columns are named once, in the order the values are bound. */
export function rowStatement<Row extends object, Out = never>(table: string, columns: readonly (keyof Row & string)[], tail = '') {
  const run = statement<Out>(`insert into ${table} (${columns.join(', ')}) values (${columns.map(() => '?').join(', ')}) ${tail}`.trim());
  return (db: Executor, row: Row): Promise<Out[]> => run(db, columns.map((c) => row[c]));
}

/** True when `db` (the database or a transaction) is PostgreSQL. */
export function isPostgres(db: Executor): boolean {
  return db.getExecutor().adapter instanceof PostgresAdapter;
}

/** `?` → `$1`, `$2`, … outside quoted strings. */
function numberPlaceholders(text: string): string {
  let n = 0;
  let quoted = false;
  let out = '';
  for (const ch of text) {
    if (ch === "'") quoted = !quoted;
    out += ch === '?' && !quoted ? `$${++n}` : ch;
  }
  return out;
}
