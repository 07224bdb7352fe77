// PostgreSQL aborts one of two transactions that wait on each other (deadlock, 40P01) or
// conflict under serializable isolation (40001); running the command again is the fix.
const TRANSIENT_CODES = new Set(['40P01', '40001']);
const ATTEMPTS = 3;

function isTransient(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && TRANSIENT_CODES.has(code);
}

/** Runs a command's transaction again (up to 3 times) when the database aborted it as a transient conflict. */
export async function retryTransient<T>(run: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await run();
    } catch (error) {
      if (attempt >= ATTEMPTS || !isTransient(error)) throw error;
    }
  }
}
