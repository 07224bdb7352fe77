import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { systemClock } from '../../kernel/clock.js';
import { createEngineMetrics } from '../observability/metrics.js';
import { defaultRetryPolicy } from './consumer.js';
import { createTimerWorker, type TimerWorkerDeps } from './timer-worker.js';
import type { Timer, TimerStore } from './timers.js';

// Regression test (fault campaign, issue 16): with the disk full, a failing timer handler could
// not record its failure either; the timer stayed due and the worker fired it again at once,
// about 180 times a second, each with an error line, for as long as the disk stayed full.
describe('the timer worker when a failure cannot be recorded', () => {
  it('pauses instead of firing the same due timer in a loop, and fires it again later', async () => {
    const timer: Timer = { key: 'k', kind: 'test.kind', dueAt: 0, payload: {}, attempts: 0, deadAt: null };
    let recordFails = true;
    let fired = 0;
    const timers = {
      dueKeys: async () => ['k'],
      get: async () => timer,
      nextDueAt: async () => 0,
      recordFailure: async () => {
        if (recordFails) throw new Error('database or disk is full');
      },
    } as unknown as TimerStore;
    const worker = createTimerWorker({
      timers,
      handlers: { 'test.kind': async () => (fired++, Promise.reject(new Error('database or disk is full'))) },
      clock: systemClock,
      logger: pino({ level: 'silent' }),
      metrics: createEngineMetrics(),
      // A kind that is not dead-lettered: its failure is recorded on the timer row (which fails here).
      failures: {} as TimerWorkerDeps['failures'],
      retry: defaultRetryPolicy,
      random: Math.random,
      givesUp: () => false,
      pollMs: 50,
    });
    worker.start();
    await new Promise((resolve) => setTimeout(resolve, 600));
    const whileFull = fired;
    recordFails = false;
    await new Promise((resolve) => setTimeout(resolve, 1500));
    await worker.stop();
    // 250 ms, then 500 ms between attempts: a handful, not hundreds.
    expect(whileFull).toBeGreaterThanOrEqual(1);
    expect(whileFull).toBeLessThanOrEqual(4);
    expect(fired).toBeGreaterThan(whileFull);
  });
});
