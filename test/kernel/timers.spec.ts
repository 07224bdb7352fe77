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
    // The retry came after a back-off of a second.
    const [second] = await fired();
    expect(Number(second!.fired_at) - failedAt).toBeGreaterThanOrEqual(1000);
    expect(await engine.timers.get('flaky')).toBeUndefined();
  });
});
