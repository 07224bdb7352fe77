/**
 * The two ways orderflow runs, as real processes on 127.0.0.1:
 * - embedded: one `orderflow start` process on a SQLite file (WAL, synchronous=FULL);
 * - distributed: PostgreSQL + NATS JetStream, one process per module
 *   (`MODULES=http,orders`, `inventory`, `payments`, `shipments`), on a scratch database and a
 *   stream of its own, both removed afterwards.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import pg from 'pg';
import { findPids } from './proc.js';
import type { Mode } from './results.js';
import { NPM_START_NODE_OPTIONS, startServer, type ServerProcess } from './servers.js';
import { JWT_SECRET } from './workload.js';

export const postgresAdminUrl = process.env.BENCH_POSTGRES_URL ?? process.env.TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
export const natsUrl = process.env.BENCH_NATS_URL ?? 'nats://127.0.0.1:4222';

export interface Deployment {
  mode: Mode;
  /** The database every server process uses. */
  databaseUrl: string;
  /** Where the raw commit rate is measured: the same configuration (see raw-commits.ts). */
  rawCommitsUrl: string;
  /** A folder on the same disk as the database (for the machine description). */
  dataDir: string;
  url: string;
  servers: ServerProcess[];
  /** Processes that work for the run beside orderflow's (PostgreSQL backends, NATS), found afresh each call. */
  helpers(): { name: string; pids: number[] }[];
  describe: { database: string; broker: string | undefined; processes: string[] };
  /** SIGTERM to every server; resolves with the exit codes. */
  stop(): Promise<(number | null)[]>;
  /** Removes the database, the stream, the files. Safe to call twice. */
  cleanup(): Promise<void>;
}

const common = { JWT_SECRET, ORDER_RATE_LIMIT: '0', LOG_LEVEL: 'info' };

export async function startEmbedded(options: { cpuProfileDir?: string } = {}): Promise<Deployment> {
  const dir = mkdtempSync(join(tmpdir(), 'orderflow-bench-'));
  const databaseUrl = `sqlite:${join(dir, 'orderflow.db')}`;
  const cleanup = async () => rmSync(dir, { recursive: true, force: true });
  let server: ServerProcess;
  try {
    // No SQLITE_SYNCHRONOUS: the durable default (FULL) is what is measured. Started as `npm start`
    // starts it; the processes of a split deployment as the README's scale-out does (`orderflow start`).
    server = await startServer('embedded', { ...common, DATABASE_URL: databaseUrl, PORT: '0' }, { ...options, nodeOptions: NPM_START_NODE_OPTIONS });
  } catch (error) {
    await cleanup();
    throw error;
  }
  const sqliteVersion = await import('better-sqlite3').then((m) => {
    const db = new m.default(':memory:');
    const version = (db.prepare('select sqlite_version() as v').get() as { v: string }).v;
    db.close();
    return version;
  });
  return {
    mode: 'embedded',
    databaseUrl,
    rawCommitsUrl: `sqlite:${join(dir, 'raw-commits.db')}`,
    dataDir: dir,
    url: server.url!,
    servers: [server],
    helpers: () => [],
    describe: { database: `SQLite ${sqliteVersion} (WAL, synchronous=FULL)`, broker: undefined, processes: ['embedded: all modules + http'] },
    stop: async () => [await server.stop()],
    cleanup,
  };
}

async function withAdmin<T>(work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: postgresAdminUrl, connectionTimeoutMillis: 5000 });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

export async function startDistributed(options: { partitions?: number; cpuProfileDir?: string } = {}): Promise<Deployment> {
  const suffix = `${process.pid}_${randomBytes(3).toString('hex')}`;
  const database = `orderflow_bench_${suffix}`;
  const stream = `ORDERFLOW_BENCH_${suffix}`;
  const admin = new URL(postgresAdminUrl);
  admin.pathname = `/${database}`;
  const databaseUrl = admin.toString();

  const nc = await connect({ servers: natsUrl, timeout: 5000 });
  const broker = `NATS ${nc.info?.version ?? '?'} JetStream`;
  await nc.close();
  const settings = await withAdmin(async (client) => {
    await client.query(`create database ${database}`);
    const show = async (name: string) => (await client.query<Record<string, string>>(`show ${name}`)).rows[0]![name]!;
    return { version: await show('server_version'), fsync: await show('fsync'), synchronousCommit: await show('synchronous_commit'), dataDirectory: await show('data_directory') };
  });

  const servers: ServerProcess[] = [];
  let cleaned = false;
  const cleanup = async () => {
    if (cleaned) return;
    cleaned = true;
    await Promise.allSettled(servers.map((s) => s.stop(5000)));
    await withAdmin((client) => client.query(`drop database if exists ${database} with (force)`)).catch((error: unknown) => console.error(`could not drop ${database}:`, error));
    await connect({ servers: natsUrl, timeout: 5000 })
      .then(async (conn) => {
        const jsm = await jetstreamManager(conn);
        await jsm.streams.delete(stream).catch(() => undefined);
        await conn.close();
      })
      .catch((error: unknown) => console.error(`could not delete stream ${stream}:`, error));
  };
  const env = {
    ...common,
    DATABASE_URL: databaseUrl,
    NATS_URL: natsUrl,
    NATS_STREAM: stream,
    ...(options.partitions ? { NATS_PARTITIONS: String(options.partitions) } : {}),
  };
  try {
    // The HTTP process first: it applies the migrations, so the others start on a ready schema.
    const profiling = options.cpuProfileDir ? { cpuProfileDir: options.cpuProfileDir } : {};
    servers.push(await startServer('http,orders', { ...env, MODULES: 'http,orders', PORT: '0' }, profiling));
    const others = await Promise.allSettled(['inventory', 'payments', 'shipments'].map((module) => startServer(module, { ...env, MODULES: module }, profiling)));
    for (const started of others) if (started.status === 'fulfilled') servers.push(started.value);
    const failed = others.find((s) => s.status === 'rejected');
    if (failed) throw (failed as PromiseRejectedResult).reason;
  } catch (error) {
    await cleanup();
    throw error;
  }
  return {
    mode: 'distributed',
    databaseUrl,
    rawCommitsUrl: databaseUrl,
    dataDir: settings.dataDirectory,
    url: servers[0]!.url!,
    servers,
    helpers: () => [
      { name: 'postgres backends', pids: findPids({ postgresDatabase: database }) },
      { name: 'nats-server', pids: findPids({ command: 'nats-server' }) },
    ],
    describe: {
      database: `PostgreSQL ${settings.version} (fsync=${settings.fsync}, synchronous_commit=${settings.synchronousCommit})`,
      broker,
      processes: servers.map((s) => `MODULES=${s.name}`),
    },
    stop: () => Promise.all(servers.map((s) => s.stop())),
    cleanup,
  };
}
