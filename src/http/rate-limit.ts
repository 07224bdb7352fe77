import { AppError } from '../kernel/errors.js';

export interface RateLimiter {
  /** Counts one request of `caller`; throws AppError RATE_LIMITED (429 with Retry-After) past the limit. */
  take(caller: string): void;
}

// Entries of windows that ended are dropped once the map grows past this.
const SWEEP_ABOVE = 10_000;

/**
 * A fixed one-minute window per caller, kept in memory: the limit holds per process, so N
 * HTTP processes allow up to N × limit per caller (fine for abuse protection; a shared
 * limit would need the database or a cache). `limit` 0 turns it off.
 */
export function createRateLimiter(limit: number, options: { windowMs?: number; now?: () => number } = {}): RateLimiter {
  const { windowMs = 60_000, now = Date.now } = options;
  const windows = new Map<string, { start: number; count: number }>();

  function sweep(at: number): void {
    if (windows.size <= SWEEP_ABOVE) return;
    for (const [caller, window] of windows) if (at - window.start >= windowMs) windows.delete(caller);
  }

  return {
    take(caller) {
      if (limit <= 0) return;
      const at = now();
      let window = windows.get(caller);
      if (!window || at - window.start >= windowMs) {
        sweep(at);
        window = { start: at, count: 0 };
        windows.set(caller, window);
      }
      window.count += 1;
      if (window.count > limit) {
        const retryAfterSeconds = Math.max(1, Math.ceil((window.start + windowMs - at) / 1000));
        throw new AppError('unavailable', 'RATE_LIMITED', `more than ${limit} orders a minute; retry in ${retryAfterSeconds}s`, {
          details: { limit, retryAfterSeconds },
        });
      }
    },
  };
}
