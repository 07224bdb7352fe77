import { AppError } from '../../kernel/errors.js';
import type { Storage } from './database.js';

/**
 * Resolves once the database answers; otherwise throws STORAGE_UNAVAILABLE with one line an
 * operator can act on (which database, why, and the setting to change). The driver's error is
 * kept as `cause` for LOG_LEVEL=debug.
 */
export async function ensureReachable(storage: Storage): Promise<void> {
  try {
    await storage.ping();
  } catch (error) {
    const why = reasonOf(error);
    throw new AppError('unavailable', 'STORAGE_UNAVAILABLE', `cannot reach the database ${storage.description}${why ? ` (${why})` : ''}: start it, or set DATABASE_URL to one that answers`, {
      cause: error,
    });
  }
}

/** The driver's reason in a few words; a connection tried on several addresses fails with an AggregateError without a message of its own. */
function reasonOf(error: unknown): string {
  const e = error as { message?: unknown; code?: unknown; errors?: unknown };
  if (typeof e?.message === 'string' && e.message.trim()) return e.message.trim().split('\n')[0]!;
  if (Array.isArray(e?.errors) && e.errors.length > 0) return reasonOf(e.errors[0]);
  return typeof e?.code === 'string' ? e.code : '';
}
