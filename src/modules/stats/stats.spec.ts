import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { address, createFlowHarness, type FlowHarness } from '../../../test/flows/harness.js';
import { dialects } from '../../../test/support/databases.js';
import { eventually } from '../../../test/support/kernel-test-module.js';

/** Orders per UTC day of their placement, as the statistics count them (a run may cross midnight). */
function perDay(orders: readonly { createdAt: string }[]): { day: string; orders: number }[] {
  const days = new Map<string, number>();
  for (const o of orders) days.set(o.createdAt.slice(0, 10), (days.get(o.createdAt.slice(0, 10)) ?? 0) + 1);
  return [...days].sort(([a], [b]) => (a < b ? -1 : 1)).map(([day, n]) => ({ day, orders: n }));
}

describe.each(dialects)('stats read model on %s', (dialect) => {
  let h: FlowHarness;

  beforeAll(async () => {
    // No shipments at first: paid orders stay PAID, so one can be cancelled and refunded.
    h = await createFlowHarness(dialect, {}, ['orders', 'inventory', 'payments']);
    await h.apis.inventory.createProduct({ productId: 'widget', name: 'Widget', price: 9999, stock: 100 });
    await h.apis.inventory.createProduct({ productId: 'gizmo', name: 'Gizmo', price: 500, currency: 'EUR', stock: 100 });
  });
  afterAll(async () => {
    await h?.close();
  });

  const place = (token: string, productId = 'widget', quantity = 1) =>
    h.apis.orders.placeOrder({ customerId: 'customer-1', items: [{ productId, quantity }], shippingAddress: address, paymentMethod: { token } });
  const reach = (orderId: string, status: string) => eventually(async () => (await h.apis.orders.getOrder(orderId))?.status === status, `${orderId} ${status}`);

  it('counts orders by current status, revenue per currency net of refunds, items per order and orders per day', async () => {
    const paid = await place('tok_visa', 'widget', 2);
    const declined = await place('tok_chargeDeclined');
    const rejected = await place('tok_visa', 'widget', 1000);
    const euro = await place('tok_visa', 'gizmo', 3);
    const refunded = await place('tok_visa');
    await reach(refunded.orderId, 'PAID');
    await h.apis.orders.cancelOrder(refunded.orderId, { by: 'customer' });
    await eventually(async () => (await h.apis.payments.getPaymentForOrder(refunded.orderId))?.status === 'refunded', 'the refund');
    await Promise.all([reach(paid.orderId, 'PAID'), reach(declined.orderId, 'PAYMENT_FAILED'), reach(rejected.orderId, 'REJECTED'), reach(euro.orderId, 'PAID')]);
    await h.settle();

    const stats = await h.apis.stats.getStats();
    expect(stats).toMatchObject({
      ordersPlaced: 5,
      byStatus: { PENDING: 0, CONFIRMED: 0, PAID: 2, SHIPPED: 0, DELIVERED: 0, REJECTED: 1, PAYMENT_FAILED: 1, CANCELLED: 1 },
      revenue: { EUR: { paid: 1500, refunded: 0, net: 1500 }, USD: { paid: 3 * 9999, refunded: 9999, net: 2 * 9999 } },
      averageItemsPerOrder: (2 + 1 + 1000 + 3 + 1) / 5,
      averageLinesPerOrder: 1,
      placedPerDay: perDay([paid, declined, rejected, euro, refunded]),
    });
    expect(stats.asOfSequence).toBeGreaterThan(0);
    expect(stats.byStatus).toEqual(await h.apis.orders.countByStatus());
  });

  it('replay rebuilds the same statistics, also after the tables were emptied by hand', async () => {
    const before = await h.apis.stats.getStats();
    const replayed = await h.apis.stats.replay();
    expect(replayed.stats).toEqual(before);
    expect(replayed.eventsSkipped).toEqual([]);
    expect(replayed.position).toBe(before.asOfSequence);

    await h.db.deleteFrom('stats_counters').execute();
    await h.db.deleteFrom('stats_orders').execute();
    expect((await h.apis.stats.getStats()).ordersPlaced).toBe(0);
    expect((await h.apis.stats.replay()).stats).toEqual(before);

    // A consumer that starts now reads its checkpoint: it must not apply the replayed events again.
    await h.restart(['orders', 'inventory', 'payments']);
    await h.settle();
    expect(await h.apis.stats.getStats()).toEqual(before);
  });

  it('replay takes in events the consumer has not reached; the consumer then carries on after them', async () => {
    // No `orders` in this process: the stats consumer is not running and falls behind the log.
    await h.restart(['inventory', 'payments']);
    const before = await h.apis.stats.getStats();
    const late = await place('tok_visa');
    await eventually(async () => (await h.engine.log.query({ aggregateId: late.orderId, eventType: 'InventoryReserved' })).events.length === 1, 'the reservation');
    expect((await h.apis.stats.getStats()).ordersPlaced).toBe(before.ordersPlaced);

    const replayed = await h.apis.stats.replay();
    expect(replayed.stats.ordersPlaced).toBe(before.ordersPlaced + 1);
    expect(replayed.stats.byStatus.PENDING).toBe(before.byStatus.PENDING! + 1);
    // The consumer's bookkeeping moved with the rebuild: checkpoint at the last event read, inbox records it.
    const placedEvent = (await h.engine.log.query({ aggregateId: late.orderId, eventType: 'OrderPlaced' })).events[0]!;
    expect(replayed.position).toBeGreaterThanOrEqual(placedEvent.sequence!);
    expect(replayed.stats.asOfSequence).toBe(replayed.position);
    const inbox = await h.db.selectFrom('inbox').select('outcome').where('consumer', '=', 'stats').where('event_id', '=', placedEvent.eventId).executeTakeFirst();
    expect(inbox).toEqual({ outcome: 'replayed' });

    await h.restart();
    await reach(late.orderId, 'SHIPPED');
    await h.settle();
    const live = await h.apis.stats.getStats();
    expect(live.ordersPlaced).toBe(before.ordersPlaced + 1);
    expect(live.byStatus).toEqual(await h.apis.orders.countByStatus());
    expect((await h.apis.stats.replay()).stats).toEqual(live);
  });

  it('replay while orders flow neither loses nor double-counts an event', async () => {
    await h.restart();
    const placing = Array.from({ length: 20 }, (_, i) => place(i % 4 === 0 ? 'tok_chargeDeclined' : 'tok_visa'));
    const replays = [h.apis.stats.replay(), new Promise((r) => setTimeout(r, 30)).then(() => h.apis.stats.replay())];
    await Promise.all([...placing, ...replays]);
    await h.settle();
    const live = await h.apis.stats.getStats();
    expect(live.ordersPlaced).toBe(26);
    expect(live.byStatus).toEqual(await h.apis.orders.countByStatus());
    expect((await h.apis.stats.replay()).stats).toEqual(live);
    await h.restart();
    await h.settle();
    expect(await h.apis.stats.getStats()).toEqual(live);
  });
});
