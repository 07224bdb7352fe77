import { sql } from 'kysely';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createConsumerEngine, type ConsumerEngine } from '../support/consumer-engine.js';
import { dialects } from '../support/databases.js';
import { counterEvent } from '../support/kernel-test-module.js';

/**
 * Regression test (fault campaign, issue 16, distributed seed 20261206): POST /products/:id/stock
 * answered 500 "deadlock detected" when its transaction lost a deadlock to the reservations of
 * an inventory process. The dispatcher ran a conflicted delivery again; a command's unit of work
 * did not. Now it does, the lost attempt rolled back whole.
 */
describe.each(dialects)('a unit of work that loses a deadlock, on %s', (dialect) => {
  let h: ConsumerEngine;
  beforeEach(async () => {
    h = await createConsumerEngine(dialect, []);
  });
  afterEach(async () => {
    await h?.close();
  });

  it('runs again: one effect and one event, as if it had not lost', async () => {
    let attempts = 0;
    const value = await h.engine.unitOfWork.run('test', async (tx) => {
      attempts++;
      await sql`insert into test_totals (aggregate_id, total, handled) values ('u-1', 7, 1)`.execute(tx.db as never);
      tx.emit(counterEvent('u-1', 7));
      if (attempts < 3) throw Object.assign(new Error('deadlock detected'), { code: attempts === 1 ? '40P01' : '40001' });
      return 'done';
    });
    expect(value).toBe('done');
    expect(attempts).toBe(3);
    expect(await h.totals()).toEqual({ 'u-1': [7, 1] });
    expect((await h.engine.log.query({ limit: 10 })).events.map((e) => e.aggregateId)).toEqual(['u-1']);
  });

  it('does not run again for any other error', async () => {
    let attempts = 0;
    await expect(h.engine.unitOfWork.run('test', async () => {
      attempts++;
      throw new Error('boom');
    })).rejects.toThrow('boom');
    expect(attempts).toBe(1);
  });
});
