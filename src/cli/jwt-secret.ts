import { randomBytes } from 'node:crypto';
import { chmodSync, linkSync, mkdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import type { Config } from '../config.js';
import { AppError } from '../kernel/errors.js';
import { parseDatabaseUrl } from '../platform/storage/database.js';

/** The HS256 secret of the API tokens, and where it came from (never the secret itself in messages). */
export interface JwtSecret {
  value: string;
  /** env: JWT_SECRET; file: the embedded mode's secret file; created: that file, made just now; ephemeral: in memory only. */
  source: 'env' | 'file' | 'created' | 'ephemeral';
  /** The secret file, for the `file` and `created` sources. */
  path?: string;
}

const FILE_NAME = 'jwt-secret';
const MIN_LENGTH = 32;

/** Where the embedded mode keeps its secret: beside the SQLite file, or undefined for PostgreSQL and `:memory:`. */
export function secretFileFor(databaseUrl: string): string | undefined {
  const location = parseDatabaseUrl(databaseUrl);
  if (location.dialect !== 'sqlite' || location.path === ':memory:') return undefined;
  return join(dirname(resolve(location.path)), FILE_NAME);
}

/**
 * JWT_SECRET when it is set. Otherwise, in the embedded mode, the secret kept in the data
 * folder, made on first use (random, mode 0600) and reused after; a `:memory:` database gets
 * one that lives as long as the process. In the PostgreSQL mode every process must share the
 * secret, so a missing JWT_SECRET is an error.
 */
export function resolveJwtSecret(config: Pick<Config, 'jwtSecret' | 'databaseUrl'>): JwtSecret {
  if (config.jwtSecret) return { value: config.jwtSecret, source: 'env' };
  if (parseDatabaseUrl(config.databaseUrl).dialect === 'postgres') {
    throw new AppError(
      'validation',
      'JWT_SECRET_REQUIRED',
      'JWT_SECRET is not set. With PostgreSQL every orderflow process must verify tokens with the same secret: ' +
        'set JWT_SECRET to at least 32 random characters (e.g. `openssl rand -base64 48`) in every process.',
    );
  }
  const path = secretFileFor(config.databaseUrl);
  if (!path) return { value: randomBytes(32).toString('base64url'), source: 'ephemeral' };
  const existing = readSecret(path);
  if (existing !== undefined) return { value: existing, source: 'file', path };
  return createSecret(path);
}

function readSecret(path: string): string | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new AppError('unavailable', 'JWT_SECRET_UNREADABLE', `cannot read the JWT secret file ${path}: ${(error as Error).message}`, { cause: error });
  }
  const secret = text.trim();
  if (secret.length < MIN_LENGTH) {
    throw new AppError('validation', 'BAD_JWT_SECRET_FILE', `the JWT secret file ${path} holds fewer than ${MIN_LENGTH} characters; delete it to have a new one made, or set JWT_SECRET`);
  }
  return secret;
}

/** Writes a new secret atomically: a temporary file, then a hard link that fails if another process won. */
function createSecret(path: string): JwtSecret {
  const value = randomBytes(48).toString('base64url');
  mkdirSync(dirname(path), { recursive: true });
  const temporary = `${path}.${process.pid}.tmp`;
  writeFileSync(temporary, `${value}\n`, { mode: 0o600 });
  // The umask may have narrowed the mode further, never widened it; make sure it is exactly 0600.
  chmodSync(temporary, 0o600);
  try {
    linkSync(temporary, path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    return { value: readSecret(path)!, source: 'file', path };
  } finally {
    unlinkSync(temporary);
  }
  return { value, source: 'created', path };
}
