import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { sql, type Kysely } from 'kysely';
import { AppError } from '../kernel/errors.js';
import type { PruneTask } from '../platform/retention/pruner.js';
import { columnTypes, type SchemaMigration } from '../platform/storage/migrations.js';

/** How long a key is remembered by default (`IDEMPOTENCY_TTL`): a day, as payment APIs do. */
export const DEFAULT_IDEMPOTENCY_TTL_MS = 24 * 3600 * 1000;

/** A row of `http_idempotency_keys`: one per (caller, key). */
interface IdempotencyRow {
  caller: string;
  idempotency_key: string;
  /** sha256 of the canonical JSON of the request body. */
  fingerprint: string;
  state: 'in_progress' | 'done';
  response_status: number | null;
  response_body: string | null;
  created_at: number;
  completed_at: number | null;
}

interface IdempotencyTables {
  http_idempotency_keys: IdempotencyRow;
}

/** The HTTP layer's own table; the composition root runs these with the engine's migrations. */
export const httpMigrations: SchemaMigration[] = [
  {
    name: 'http/0001-idempotency-keys',
    async up(db, dialect) {
      const t = columnTypes(dialect);
      await db.schema
        .createTable('http_idempotency_keys')
        .addColumn('caller', 'text', (c) => c.notNull())
        .addColumn('idempotency_key', 'text', (c) => c.notNull())
        .addColumn('fingerprint', 'text', (c) => c.notNull())
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('response_status', 'integer')
        .addColumn('response_body', 'text')
        .addColumn('created_at', t.bigint, (c) => c.notNull())
        .addColumn('completed_at', t.bigint)
        .addPrimaryKeyConstraint('http_idempotency_keys_pk', ['caller', 'idempotency_key'])
        .execute();
      await db.schema.createIndex('http_idempotency_keys_created').on('http_idempotency_keys').column('created_at').execute();
    },
  },
];

/** A response worth replaying. */
export interface StoredResponse {
  status: number;
  body: unknown;
  /** True when this is a replay of an earlier request's response. */
  replayed: boolean;
}

export interface IdempotencyOptions {
  /** How long a duplicate waits for the first request to finish before 409 IDEMPOTENCY_IN_PROGRESS. */
  waitMs?: number;
  pollMs?: number;
  /** A claim older than this whose request never finished (its process died) may be taken over. */
  staleAfterMs?: number;
  /** A key older than this (from its first use) is expired: the next request with it runs anew. */
  ttlMs?: number;
  now?: () => number;
}

/**
 * Idempotency keys (SPEC §4): the first request with a key claims it with an insert that
 * conflicts for everyone else, runs, and stores its response; a repeat from the same caller
 * replays that response; the same key with another body is refused 422. A request that fails
 * releases its key, so a corrected retry may use it again (only successes are replayed).
 */
export function createIdempotency(db: Kysely<IdempotencyTables>, options: IdempotencyOptions = {}) {
  const { waitMs = 5000, pollMs = 25, staleAfterMs = 60_000, ttlMs = DEFAULT_IDEMPOTENCY_TTL_MS, now = Date.now } = options;

  async function claim(caller: string, key: string, fingerprint: string): Promise<boolean> {
    const rows = await db
      .insertInto('http_idempotency_keys')
      .values({ caller, idempotency_key: key, fingerprint, state: 'in_progress', response_status: null, response_body: null, created_at: now(), completed_at: null })
      .onConflict((oc) => oc.columns(['caller', 'idempotency_key']).doNothing())
      .returning('caller')
      .execute();
    return rows.length === 1;
  }

  const find = (caller: string, key: string) =>
    db.selectFrom('http_idempotency_keys').selectAll().where('caller', '=', caller).where('idempotency_key', '=', key).executeTakeFirst();

  /** Drops an unfinished claim; with `claimedAt`, only that claim (not a newer one), finished or not. */
  const release = (caller: string, key: string, claimedAt?: number) => {
    let q = db.deleteFrom('http_idempotency_keys').where('caller', '=', caller).where('idempotency_key', '=', key);
    q = claimedAt === undefined ? q.where('state', '=', 'in_progress') : q.where('created_at', '=', claimedAt);
    return q.execute();
  };

  async function runClaimed(caller: string, key: string, work: () => Promise<{ status: number; body: unknown }>): Promise<StoredResponse> {
    let result: { status: number; body: unknown };
    try {
      result = await work();
    } catch (error) {
      await release(caller, key).catch(() => undefined);
      throw error;
    }
    await db
      .updateTable('http_idempotency_keys')
      .set({ state: 'done', response_status: result.status, response_body: JSON.stringify(result.body), completed_at: now() })
      .where('caller', '=', caller)
      .where('idempotency_key', '=', key)
      .execute();
    return { ...result, replayed: false };
  }

  return {
    /** Runs `work` once per (caller, key); repeats get its stored response. */
    async run(caller: string, key: string, body: unknown, work: () => Promise<{ status: number; body: unknown }>): Promise<StoredResponse> {
      const fingerprint = fingerprintOf(body);
      const deadline = now() + waitMs;
      for (;;) {
        if (await claim(caller, key, fingerprint)) return runClaimed(caller, key, work);
        const row = await find(caller, key);
        if (!row) continue; // released by a failed first attempt: claim it again
        // Expired but not pruned yet: forgotten, as if the pruner had been here already.
        if (now() - Number(row.created_at) >= ttlMs) {
          await release(caller, key, Number(row.created_at));
          continue;
        }
        if (row.fingerprint !== fingerprint) {
          throw new AppError('validation', 'IDEMPOTENCY_KEY_REUSED', 'this Idempotency-Key was used with a different request body', { details: { idempotencyKey: key } });
        }
        if (row.state === 'done') return { status: Number(row.response_status), body: JSON.parse(row.response_body ?? 'null'), replayed: true };
        if (now() - Number(row.created_at) > staleAfterMs) {
          await release(caller, key, Number(row.created_at));
          continue;
        }
        if (now() >= deadline) {
          throw new AppError('conflict', 'IDEMPOTENCY_IN_PROGRESS', 'a request with this Idempotency-Key is still being processed; retry shortly', {
            details: { idempotencyKey: key, retryAfterSeconds: 1 },
          });
        }
        await sleep(pollMs);
      }
    },
  };
}

export type Idempotency = ReturnType<typeof createIdempotency>;

/**
 * Deletes keys first used `ttlMs` ago or longer, oldest first, `limit` at a time (through the
 * `created_at` index). A key pruned while its request still runs cannot be: the TTL is at least
 * a minute (config.ts) and a claim is taken over after `staleAfterMs` anyway.
 */
export function idempotencyPruning(ttlMs: number): PruneTask {
  return {
    name: 'idempotency_keys',
    async prune({ db, now, limit }) {
      const result = await sql`
        delete from http_idempotency_keys where (caller, idempotency_key) in (
          select caller, idempotency_key from http_idempotency_keys where created_at <= ${now - ttlMs} order by created_at limit ${limit})`.execute(db);
      return Number(result.numAffectedRows ?? 0);
    },
  };
}

/** sha256 of the body as canonical JSON (object keys sorted), so key order does not matter. */
export function fingerprintOf(body: unknown): string {
  return createHash('sha256').update(canonicalJson(body)).digest('hex');
}

function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}
