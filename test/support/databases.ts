import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { openStorage, type DialectName, type Storage } from '../../src/platform/storage/database.js';

/** Every suite that touches storage runs once per dialect. */
export const dialects: DialectName[] = ['sqlite', 'postgres'];

/** The server scratch databases are created on; PostgreSQL is mandatory for the test run. */
export const postgresAdminUrl = process.env.TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

/** A fresh, empty database of the dialect, and how to remove it. */
export interface ScratchDatabase {
  url: string;
  open(): Promise<Storage>;
  drop(): Promise<void>;
}

export async function createScratchDatabase(dialect: DialectName): Promise<ScratchDatabase> {
  if (dialect === 'sqlite') {
    const dir = mkdtempSync(join(tmpdir(), 'orderflow-test-'));
    const url = `sqlite:${join(dir, 'test.db')}`;
    return { url, open: () => openStorage(url), drop: async () => rmSync(dir, { recursive: true, force: true }) };
  }
  const name = `orderflow_t_${process.pid}_${randomBytes(4).toString('hex')}`;
  await withAdmin((client) => client.query(`create database ${name}`));
  const admin = new URL(postgresAdminUrl);
  admin.pathname = `/${name}`;
  const url = admin.toString();
  return {
    url,
    open: () => openStorage(url, { poolSize: 10 }),
    drop: () => withAdmin((client) => client.query(`drop database if exists ${name} with (force)`)).then(() => undefined),
  };
}

async function withAdmin<T>(work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: postgresAdminUrl, connectionTimeoutMillis: 5000 });
  try {
    await client.connect();
  } catch (error) {
    throw new Error(
      `PostgreSQL is required for the test suite and is not reachable at ${postgresAdminUrl} ` +
        `(start it: see ../shared/SERVICES.md, or set TEST_POSTGRES_URL): ${(error as Error).message}`,
    );
  }
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}
