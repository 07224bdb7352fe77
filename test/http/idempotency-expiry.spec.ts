import { afterEach, describe, expect, it } from 'vitest';
import { mintToken } from '../../src/http/index.js';
import { manualClock } from '../../src/kernel/clock.js';
import { dialects } from '../support/databases.js';
import { createHttpHarness, eventually, expectProblem, orderBody, secret, seedProducts, type HttpHarness } from './support.js';

const HOUR = 3_600_000;

describe.each(dialects)('Idempotency-Key expiry (IDEMPOTENCY_TTL) on %s', (dialect) => {
  let h: HttpHarness | undefined;
  afterEach(async () => {
    await h?.close();
    h = undefined;
  });

  /** POST /orders as alice with a token minted at the clock's time (it moves by days). */
  const place = (harness: HttpHarness, now: number, key: string, body: Record<string, unknown>) =>
    harness.call('POST', '/orders', { token: mintToken(secret, { sub: 'alice', role: 'customer' }, now), body, headers: { 'idempotency-key': key } });
  const keysNamed = (harness: HttpHarness, key: string) => harness.flow.db.selectFrom('http_idempotency_keys').select('created_at').where('idempotency_key', '=', key).execute();

  it('keeps a key for 24 h by default, then the background pruner deletes it in batches and the key can be used again', async () => {
    const clock = manualClock(Date.now());
    const harness = (h = await createHttpHarness(dialect, { engine: { clock, pruning: { everyMs: 20, batchSize: 100 } } }));
    await seedProducts(harness);
    const first = await place(harness, clock.now(), 'key-a', orderBody());
    expect(first.statusCode, first.body).toBe(201);
    const firstOrder = first.json().orderId as string;
    // Keys of other callers, long expired, as a year of traffic leaves them: several batches' worth.
    const longAgo = clock.now() - 48 * HOUR;
    const old = Array.from({ length: 250 }, (_, n) => ({ caller: `caller-${n}`, idempotency_key: `old-${n}`, fingerprint: 'x', state: 'done', response_status: 201, response_body: '{}', created_at: longAgo, completed_at: longAgo }));
    await harness.flow.db.insertInto('http_idempotency_keys').values(old).execute();
    await eventually(async () => (await harness.flow.db.selectFrom('http_idempotency_keys').select('caller').execute()).length === 1, 'the expired keys to be pruned');
    await harness.flow.settle();

    // A minute before the day is out, the key is remembered: same body replays, another body is refused.
    clock.advance(24 * HOUR - 60_000);
    await new Promise((resolve) => setTimeout(resolve, 200)); // several pruning passes at this time
    expect(await keysNamed(harness, 'key-a')).toHaveLength(1);
    const replay = await place(harness, clock.now(), 'key-a', orderBody());
    expect(replay.statusCode).toBe(201);
    expect(replay.headers['idempotent-replayed']).toBe('true');
    expect(replay.json().orderId).toBe(firstOrder);
    expectProblem(await place(harness, clock.now(), 'key-a', orderBody({ items: [{ productId: 'gadget', quantity: 1 }] })), 422, 'IDEMPOTENCY_KEY_REUSED');

    // A day after its first use it is gone from the table, without any request touching it.
    clock.advance(60_000);
    await eventually(async () => (await keysNamed(harness, 'key-a')).length === 0, 'key-a to be pruned');
    const pruned = (await harness.flow.engine.metrics.registry.getSingleMetric('orderflow_pruned_rows_total')!.get()).values;
    expect(pruned.find((v) => v.labels.task === 'idempotency_keys')?.value).toBe(251);

    // And the key names a new request now.
    const reused = await place(harness, clock.now(), 'key-a', orderBody({ items: [{ productId: 'gadget', quantity: 1 }] }));
    expect(reused.statusCode, reused.body).toBe(201);
    expect(reused.headers['idempotent-replayed']).toBeUndefined();
    expect(reused.json().orderId).not.toBe(firstOrder);
  });

  it('a key past IDEMPOTENCY_TTL that the pruner has not reached yet is expired all the same', async () => {
    const clock = manualClock(Date.now());
    const harness = (h = await createHttpHarness(dialect, { settings: { idempotencyTtlMs: HOUR }, engine: { clock, pruning: false } }));
    await seedProducts(harness);
    const first = await place(harness, clock.now(), 'key-b', orderBody());
    expect(first.statusCode, first.body).toBe(201);
    clock.advance(HOUR);
    expect(await keysNamed(harness, 'key-b')).toHaveLength(1);
    const reused = await place(harness, clock.now(), 'key-b', orderBody({ items: [{ productId: 'gadget', quantity: 1 }] }));
    expect(reused.statusCode, reused.body).toBe(201);
    expect(reused.json().orderId).not.toBe(first.json().orderId);
    expect(await keysNamed(harness, 'key-b')).toEqual([{ created_at: clock.now() }]);
  });
});
