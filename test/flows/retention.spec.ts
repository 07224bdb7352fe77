// Issue 12, acceptance 3 (inbox part): after 2,000 orders and a prune, the inbox holds no more
// records than the retention allows, and every event delivered again after the prune changes
// nothing. The clock is the test's: the retention passes when the test says so.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { manualClock } from '../../src/kernel/clock.js';
import type { EventEnvelope } from '../../src/kernel/envelope.js';
import { dialects } from '../support/databases.js';
import { eventually } from '../support/kernel-test-module.js';
import { address, createFlowHarness, type FlowHarness } from './harness.js';

const MINUTE = 60_000;
const ORDERS = 2000;

describe.each(dialects)('inbox retention on %s', (dialect) => {
  let h: FlowHarness;
  let clock: ReturnType<typeof manualClock>;
  beforeAll(async () => {
    clock = manualClock(Date.now());
    // The test prunes when it wants (runOnce); the background pass stays off.
    h = await createFlowHarness(dialect, {}, undefined, { engine: { clock, inboxRetentionMs: 15 * MINUTE, pruning: false } });
    for (let p = 0; p < 20; p++) await h.apis.inventory.createProduct({ productId: `p-${p}`, name: `Product ${p}`, price: 100 + p, stock: 1_000_000 });
    let next = 0;
    await Promise.all(
      Array.from({ length: 32 }, async () => {
        while (next < ORDERS) {
          const n = next++;
          await h.apis.orders.placeOrder({ customerId: `c-${n % 50}`, items: [{ productId: `p-${n % 20}`, quantity: 1 + (n % 3) }], shippingAddress: address, paymentMethod: { token: 'tok_visa' } });
        }
      }),
    );
    const shipped = async () => Number((await h.db.selectFrom('orders').select((eb) => eb.fn.countAll().as('n')).where('status', '=', 'SHIPPED').executeTakeFirstOrThrow()).n);
    await eventually(async () => (await shipped()) === ORDERS, `${ORDERS} orders shipped`, 300_000);
    await h.settle();
  }, 600_000);
  afterAll(async () => h?.close());

  const inboxRows = async () => Number((await h.db.selectFrom('inbox').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n);
  /** What a second delivery must not change: every module's state. */
  const state = async () => ({
    stock: await h.db.selectFrom('inventory_products').select(['product_id', 'on_hand', 'reserved']).orderBy('product_id').execute(),
    orders: await h.db.selectFrom('orders').select(['status', (eb) => eb.fn.countAll().as('n')]).groupBy('status').orderBy('status').execute(),
    payments: await h.db.selectFrom('payments').select(['status', (eb) => eb.fn.countAll().as('n')]).groupBy('status').orderBy('status').execute(),
    shipments: await h.db.selectFrom('shipments').select((eb) => eb.fn.countAll().as('n')).execute(),
    events: await h.db.selectFrom('events').select((eb) => eb.fn.countAll().as('n')).execute(),
    stats: await h.apis.stats.getStats(),
  });

  it('keeps inbox records for the retention, then prunes every one that the checkpoints passed', async () => {
    const handled = await inboxRows();
    expect(handled).toBeGreaterThanOrEqual(ORDERS * 10);
    clock.advance(10 * MINUTE);
    expect((await h.engine.pruner.runOnce()).inbox).toBe(0);
    expect(await inboxRows()).toBe(handled);
    clock.advance(6 * MINUTE);
    expect((await h.engine.pruner.runOnce()).inbox).toBe(handled);
    // Nothing was handled in the last 15 minutes: the retention allows no record at all.
    expect(await inboxRows()).toBe(0);
  });

  it('changes nothing when every event is delivered again after the prune', async () => {
    const before = await state();
    const events: EventEnvelope[] = [];
    for (let after = 0; ; ) {
      const page = await h.engine.log.query({ after, limit: 1000 });
      events.push(...page.events);
      if (page.nextCursor === null) break;
      after = page.nextCursor;
    }
    for (const consumer of h.engine.dispatcher.consumers()) {
      const mine = events.filter((e) => Object.hasOwn(consumer.handlers, e.eventType));
      for (let i = 0; i < mine.length; i += 500) {
        const result = await h.engine.dispatcher.deliver(consumer.name, mine.slice(i, i + 500));
        expect(new Set(result.outcomes)).toEqual(new Set(['duplicate']));
        expect(result.appended).toEqual([]);
      }
    }
    expect(await state()).toEqual(before);
    expect(await inboxRows()).toBe(0);
  });

  it('still delivers new orders after the prune', async () => {
    const placed = await h.apis.orders.placeOrder({ customerId: 'after-prune', items: [{ productId: 'p-1', quantity: 1 }], shippingAddress: address, paymentMethod: { token: 'tok_visa' } });
    await eventually(async () => (await h.apis.orders.getOrder(placed.orderId))!.status === 'SHIPPED', 'the new order shipped');
  });
});
