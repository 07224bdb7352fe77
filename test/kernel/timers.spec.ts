import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createTestModule, eventually } from '../support/kernel-test-module.js';
import { kernelSetups } from '../support/transports.js';
import { createKernelHarness, type KernelHarness } from './harness.js';

describe.each(kernelSetups)('durable timers on $name', (setup) => {
  let h: KernelHarness;
  beforeEach(async () => {
    h = await createKernelHarness(setup);
  });
  afterEach(async () => {
    await h?.close();
  });

  const fired = async () => h.db.selectFrom('test_fired').selectAll().execute();

  it('fires a timer once, also when several engines on the database poll for it', async () => {
    await h.engine.unitOfWork.run('test', async (tx) => {
      await tx.schedule({ key: 't-1', kind: 'test.fire', dueAt: tx.now + 150 });
      await tx.schedule({ key: 't-moved', kind: 'test.fire', dueAt: tx.now + 100 });
      await tx.schedule({ key: 't-cancelled', kind: 'test.fire', dueAt: tx.now + 100 });
    });
    await h.engine.unitOfWork.run('test', async (tx) => {
      await tx.schedule({ key: 't-moved', kind: 'test.fire', dueAt: tx.now + 60_000 });
      await tx.cancelTimer('t-cancelled');
    });
    // Another process on the same database (and stream), polling fast.
    const rival = h.engineBeside({ modules: [createTestModule()], pollMs: 10 });
    await Promise.all([h.engine.start(), rival.start()]);
    await eventually(async () => (await fired()).length >= 1, 'the timer');
    await new Promise((r) => setTimeout(r, 400));
    await rival.stop();
    expect((await fired()).map((f) => f.key)).toEqual(['t-1']);
    expect(await h.engine.timers.get('t-moved')).toBeDefined();
  });

  it('a process without the handler of a timer (it does not run that module) leaves the timer to one that has it', async () => {
    await h.engine.unitOfWork.run('test', async (tx) => tx.schedule({ key: 'elsewhere', kind: 'test.fire', dueAt: tx.now }));
    const other = h.engineBeside({ modules: [], pollMs: 10 });
    await other.start();
    await new Promise((r) => setTimeout(r, 300));
    // Not taken, not pushed back with a failure: it is simply not this process's timer.
    expect(await h.engine.timers.get('elsewhere')).toMatchObject({ attempts: 0 });
    await h.engine.start();
    await eventually(async () => (await fired()).length === 1, 'the timer, fired where its module runs');
    await other.stop();
  });

  it('a timer that fails is kept and fires again later', async () => {
    let failures = 0;
    let failedAt = 0;
    const engine = await h.restart({
      modules: [
        {
          name: 'flaky',
          migrations: [],
          consumers: [],
          timers: {
            async 'test.fire'(timer, tx) {
              if (failures++ === 0) {
                failedAt = tx.now;
                throw new Error('not yet');
              }
              await tx.db.insertInto('test_fired').values({ key: timer.key, fired_at: tx.now }).execute();
            },
          },
        },
      ],
    });
    await engine.unitOfWork.run('test', async (tx) => tx.schedule({ key: 'flaky', kind: 'test.fire', dueAt: tx.now }));
    await engine.start();
    // Waiting for the state between the two firings would race the retry: wait for the second firing.
    await eventually(async () => (await fired()).length === 1, 'the second firing');
    expect(failures).toBe(2);
    // The retry came after the back-off of the retry policy (40 ms here, less at most half for jitter).
    const [second] = await fired();
    expect(Number(second!.fired_at) - failedAt).toBeGreaterThanOrEqual(20);
    expect(await engine.timers.get('flaky')).toBeUndefined();
    // Its failure was a retrying dead letter while it lasted; firing cleared it.
    expect(await engine.deadLetters.list()).toEqual([]);
  });

  it('a timer that throws every time is dead-lettered after its retries, and fires exactly once after a re-drive', async () => {
    let attempts = 0;
    let broken = true;
    const engine = await h.restart({
      modules: [
        {
          name: 'broken',
          migrations: [],
          consumers: [],
          timers: {
            async 'test.fire'(timer, tx) {
              attempts++;
              if (broken) throw new Error(`the remote end refuses ${timer.key}`);
              await tx.db.insertInto('test_fired').values({ key: timer.key, fired_at: tx.now }).execute();
            },
          },
        },
      ],
    });
    await engine.unitOfWork.run('test', async (tx) => tx.schedule({ key: 'doomed', kind: 'test.fire', dueAt: tx.now, payload: { orderId: 'o-1' } }));
    await engine.start();
    // The first firing and the 3 retries of the harness's retry policy, then no more.
    await eventually(async () => (await engine.deadLetters.list({ status: 'dead' })).length === 1, 'the timer to be dead-lettered');
    const [dead] = await engine.deadLetters.list({ status: 'dead' });
    expect(dead).toMatchObject({ consumer: 'timer:test.fire', eventType: 'test.fire', aggregateId: 'doomed', eventId: 'doomed', reason: 'timer', attempts: 4, error: expect.stringContaining('the remote end refuses doomed') });
    expect(dead!.history.map((a) => a.attempt)).toEqual([1, 2, 3, 4]);
    expect(dead!.history[3]!.retryAt).toBeNull();
    expect(await engine.deadLetters.countOpen()).toBe(1);
    await new Promise((r) => setTimeout(r, 500)); // many polls of the timer worker
    expect(attempts).toBe(4);
    expect(await engine.timers.get('doomed')).toMatchObject({ attempts: 4, deadAt: expect.any(Number), payload: { orderId: 'o-1' } });

    // The cause is fixed; the operator re-drives it: it fires once, with its payload, and is gone.
    broken = false;
    await engine.deadLetters.retry(dead!.id);
    await eventually(async () => (await fired()).length === 1, 'the re-driven timer to fire');
    await new Promise((r) => setTimeout(r, 500));
    expect((await fired()).map((f) => f.key)).toEqual(['doomed']);
    expect(attempts).toBe(5);
    expect(await engine.timers.get('doomed')).toBeUndefined();
    expect(await engine.deadLetters.list()).toEqual([]);
    expect(await engine.deadLetters.countOpen()).toBe(0);
  });

  // Regressions: the 30-minute distributed campaign of 2026-12-06 ended unsettled with two saga
  // deadlines whose firing had failed (the database black-holed) and that the order's completion
  // then cancelled: their failure records stayed 'retrying' for ever, nothing left to fire or clear them.
  it('a failing timer that its module cancels takes its failure record with it', async () => {
    const engine = await h.restart({
      modules: [{ name: 'broken', migrations: [], consumers: [], timers: { 'test.fire': async () => Promise.reject(new Error('the database did not answer')) } }],
    });
    await engine.unitOfWork.run('test', async (tx) => tx.schedule({ key: 'deadline', kind: 'test.fire', dueAt: tx.now }));
    await engine.start();
    await eventually(async () => (await engine.deadLetters.list()).length === 1, 'the failure to be recorded');
    // The order completed meanwhile: its module cancels the deadline.
    await engine.unitOfWork.run('test', async (tx) => tx.cancelTimer('deadline'));
    await eventually(async () => (await engine.deadLetters.list()).length === 0, 'the failure record to go with the timer');
    expect(await engine.timers.get('deadline')).toBeUndefined();
    expect(await engine.deadLetters.countOpen()).toBe(0);
  });

  it('a failing timer that its module moves clears its failure record when it fires', async () => {
    let failures = 0;
    const engine = await h.restart({
      modules: [
        {
          name: 'flaky',
          migrations: [],
          consumers: [],
          timers: {
            async 'test.fire'(timer, tx) {
              if (failures++ === 0) throw new Error('not yet');
              await tx.db.insertInto('test_fired').values({ key: timer.key, fired_at: tx.now }).execute();
            },
          },
        },
      ],
      // One retry a minute away: the move below, not the retry, fires it.
      retry: { maxRetries: 3, baseDelayMs: 60_000, maxDelayMs: 120_000 },
    });
    await engine.unitOfWork.run('test', async (tx) => tx.schedule({ key: 'moved', kind: 'test.fire', dueAt: tx.now }));
    await engine.start();
    await eventually(async () => (await engine.deadLetters.list()).length === 1, 'the failure to be recorded');
    await engine.unitOfWork.run('test', async (tx) => tx.schedule({ key: 'moved', kind: 'test.fire', dueAt: tx.now }));
    await eventually(async () => (await fired()).length === 1, 'the moved timer to fire');
    await eventually(async () => (await engine.deadLetters.list()).length === 0, 'its failure record to be cleared');
    expect(await engine.deadLetters.countOpen()).toBe(0);
  });

  it('a dead timer that is discarded is deleted without firing', async () => {
    const engine = await h.restart({
      modules: [{ name: 'broken', migrations: [], consumers: [], timers: { 'test.fire': async () => Promise.reject(new Error('never')) } }],
    });
    await engine.unitOfWork.run('test', async (tx) => tx.schedule({ key: 'hopeless', kind: 'test.fire', dueAt: tx.now }));
    await engine.start();
    await eventually(async () => (await engine.deadLetters.list({ status: 'dead' })).length === 1, 'the timer to be dead-lettered');
    const [dead] = await engine.deadLetters.list({ status: 'dead' });
    await expect(engine.deadLetters.retry(dead!.id).then(() => engine.deadLetters.retry(dead!.id))).rejects.toMatchObject({ code: 'DEAD_LETTER_NOT_OPEN' });
    await eventually(async () => (await engine.deadLetters.list({ status: 'dead' })).length === 1, 'the re-driven timer to fail its retries again');
    await engine.deadLetters.discard(dead!.id);
    expect(await engine.timers.get('hopeless')).toBeUndefined();
    expect(await engine.deadLetters.list({ status: 'discarded' })).toMatchObject([{ id: dead!.id, reason: 'timer' }]);
    expect(await engine.deadLetters.countOpen()).toBe(0);
  });
});
