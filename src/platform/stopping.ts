import type { Logger } from 'pino';

/** After this long a part that has not stopped is named in a warning, and again as often. */
export const SLOW_STOP_WARNING_MS = 10_000;

/**
 * Waits for the named parts of a shutdown, run together, and warns, every `warnAfterMs` while
 * some are still running, which ones: a process that does not stop on SIGTERM says what it is
 * waiting for (an in-flight batch, a connection not given back), not only that it is slow.
 */
export async function stopTogether(parts: Record<string, () => Promise<unknown> | unknown>, logger: Logger, warnAfterMs = SLOW_STOP_WARNING_MS): Promise<void> {
  const pending = new Set(Object.keys(parts));
  const started = Date.now();
  const timer = setInterval(() => logger.warn({ waitingFor: [...pending], ms: Date.now() - started }, 'stopping: still waiting'), warnAfterMs);
  timer.unref();
  try {
    await Promise.all(
      Object.entries(parts).map(async ([name, stop]) => {
        await stop();
        pending.delete(name);
      }),
    );
  } finally {
    clearInterval(timer);
  }
}

/** The named steps of a shutdown one after the other, each watched as `stopTogether` watches. */
export async function stopInOrder(steps: Record<string, () => Promise<unknown> | unknown>, logger: Logger, warnAfterMs = SLOW_STOP_WARNING_MS): Promise<void> {
  for (const [name, stop] of Object.entries(steps)) await stopTogether({ [name]: stop }, logger, warnAfterMs);
}
