import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { counterEvent, eventually } from '../support/kernel-test-module.js';
import { kernelSetups } from '../support/transports.js';
import { createKernelHarness, type KernelHarness } from './harness.js';

describe.each(kernelSetups)('poison events on $name', (setup) => {
  let h: KernelHarness;
  beforeEach(async () => {
    h = await createKernelHarness(setup);
  });
  afterEach(async () => {
    await h?.close();
  });

  const handledAmounts = async (aggregateId: string) =>
    (await h.db.selectFrom('test_effects').select('amount').where('aggregate_id', '=', aggregateId).orderBy('sequence').execute()).map((r) => Number(r.amount));

  /** Appends three events for the poison aggregate and two for each of 20 healthy ones, interleaved. */
  async function appendTraffic(): Promise<void> {
    await h.engine.unitOfWork.run('test', async (tx) => {
      for (let round = 1; round <= 3; round++) {
        tx.emit(counterEvent('poison', round));
        for (let i = 0; i < 20 && round <= 2; i++) tx.emit(counterEvent(`ok-${i}`, round));
      }
    });
  }

  async function deadLetterAfterRetries() {
    h.controls.failFor.add('poison');
    await h.engine.start();
    await appendTraffic();
    await eventually(async () => (await h.engine.deadLetters.list({ status: 'dead' })).length === 1, 'the dead letter');
    const [letter] = await h.engine.deadLetters.list({ status: 'dead' });
    // The aggregate's two later events are parked when they reach the consumer; on NATS they may
    // come in a later fetch than the one that failed, after the dead letter.
    let found: Awaited<ReturnType<typeof h.engine.deadLetters.get>> | undefined;
    await eventually(async () => (found = await h.engine.deadLetters.get(letter!.id)).parked.length === 2, 'the later events parked behind the dead letter');
    return found!;
  }

  it('retries 3 times with growing delays, dead-letters with the error, parks the aggregate and lets others flow', async () => {
    const letter = await deadLetterAfterRetries();
    expect(letter).toMatchObject({ consumer: 'test.counter', aggregateId: 'poison', status: 'dead', reason: 'handler', attempts: 4 });
    expect(letter.error).toBe('Error: boom for poison');
    expect(letter.history.map((a) => a.attempt)).toEqual([1, 2, 3, 4]);
    // Back-off scheduled after each failure grows (base 40 ms ×2 each time, jitter ×[0.5, 1)),
    // and no retry ran before its time.
    const delays = letter.history.slice(0, 3).map((a) => a.retryAt! - a.at);
    expect(delays[0]).toBeGreaterThanOrEqual(20);
    expect(delays[1]).toBeGreaterThan(delays[0]!);
    expect(delays[2]).toBeGreaterThan(delays[1]!);
    letter.history.slice(1).forEach((a, i) => expect(a.at).toBeGreaterThanOrEqual(letter.history[i]!.retryAt!));
    expect(letter.history[3]!.retryAt).toBeNull();
    expect(letter.event?.payload).toEqual({ amount: 1 });
    // The two later events of the poison aggregate wait behind it, in order.
    expect(letter.parked).toHaveLength(2);
    expect(letter.parked[0]!.sequence).toBeLessThan(letter.parked[1]!.sequence);
    await eventually(async () => (await h.db.selectFrom('test_totals').selectAll().execute()).length === 20, 'healthy aggregates');
    for (let i = 0; i < 20; i++) expect(await handledAmounts(`ok-${i}`)).toEqual([1, 2]);
    expect(await handledAmounts('poison')).toEqual([]);
    expect(await h.engine.deadLetters.countOpen()).toBe(1);
  });

  it('re-drive after the fault is gone delivers the failed event, then the parked ones in order', async () => {
    const letter = await deadLetterAfterRetries();
    // A later event of the poison aggregate still parks while the dead letter is open.
    await h.engine.unitOfWork.run('test', async (tx) => {
      tx.emit(counterEvent('poison', 4));
    });
    await eventually(async () => (await h.engine.deadLetters.get(letter.id)).parked.length === 3, 'the fourth event parked');
    h.controls.failFor.delete('poison');
    await h.engine.deadLetters.retry(letter.id);
    await eventually(async () => (await handledAmounts('poison')).length === 4, 'the re-driven aggregate');
    expect(await handledAmounts('poison')).toEqual([1, 2, 3, 4]);
    expect(await h.engine.deadLetters.list()).toEqual([]);
    await expect(h.engine.deadLetters.get(letter.id)).rejects.toMatchObject({ code: 'DEAD_LETTER_NOT_FOUND' });
  });

  it('discard gives up on the failed event and releases the parked ones in order', async () => {
    const letter = await deadLetterAfterRetries();
    h.controls.failFor.delete('poison');
    await h.engine.deadLetters.discard(letter.id);
    await eventually(async () => (await handledAmounts('poison')).length === 2, 'the released events');
    expect(await handledAmounts('poison')).toEqual([2, 3]);
    expect((await h.engine.deadLetters.get(letter.id)).status).toBe('discarded');
    expect(await h.engine.deadLetters.countOpen()).toBe(0);
    await expect(h.engine.deadLetters.discard(letter.id)).rejects.toMatchObject({ code: 'DEAD_LETTER_NOT_OPEN' });
    await expect(h.engine.deadLetters.retry(letter.id)).rejects.toMatchObject({ code: 'DEAD_LETTER_NOT_OPEN' });
  });
});
