import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dialects } from '../support/databases.js';
import { createHttpHarness, eventually, orderBody, seedProducts, type HttpHarness } from './support.js';

/**
 * OrderPlaced version 2 added `itemCount` (units ordered); the statistics read it. An order placed
 * by the release before it has a version-1 OrderPlaced in the log, which stays as written: its
 * consumers, and the replay of the statistics, read it through the upcaster.
 */
describe.each(dialects)('event versions on %s: an OrderPlaced written as version 1 before the change', (dialect) => {
  let h: HttpHarness;
  let oldOrderId: string;
  beforeAll(async () => {
    h = await createHttpHarness(dialect);
    await seedProducts(h);
    // Nothing consumes while the old order is written: its OrderPlaced is then made what the
    // previous release stored, version 1 without `itemCount`, before any consumer read it.
    await h.flow.restart([]);
    const placed = await h.call('POST', '/orders', { token: h.tokens.alice, body: orderBody({ items: [{ productId: 'widget', quantity: 2 }, { productId: 'gadget', quantity: 3 }] }) });
    expect(placed.statusCode, placed.body).toBe(201);
    oldOrderId = placed.json().orderId as string;
    const row = await h.flow.db.selectFrom('events').select(['event_id', 'payload']).where('aggregate_id', '=', oldOrderId).where('event_type', '=', 'OrderPlaced').executeTakeFirstOrThrow();
    const { itemCount, ...v1 } = JSON.parse(row.payload as string) as Record<string, unknown>;
    expect(itemCount).toBe(5);
    await h.flow.db.updateTable('events').set({ version: 1, payload: JSON.stringify(v1) }).where('event_id', '=', row.event_id).execute();
    await h.flow.restart();
  });
  afterAll(async () => h?.close());

  const statusOf = async (orderId: string) => (await h.call('GET', `/orders/${orderId}`, { token: h.tokens.admin })).json().status as string;
  const placedEvent = async (orderId: string) => {
    const page = await h.call('GET', `/api/events?aggregateId=${orderId}&eventType=OrderPlaced`, { token: h.tokens.admin });
    expect(page.statusCode, page.body).toBe(200);
    return (page.json().events as { version: number; payload: Record<string, unknown> }[])[0]!;
  };

  it('is delivered to the consumers (the order goes through to SHIPPED) and counted by the statistics with the units its upcaster adds', async () => {
    await eventually(async () => (await statusOf(oldOrderId)) === 'SHIPPED', 'the old order SHIPPED');
    await h.flow.settle();
    const stats = (await h.call('GET', '/api/stats', { token: h.tokens.admin })).json();
    // Without the upcaster the statistics would have counted 0 units for it.
    expect(stats).toMatchObject({ ordersPlaced: 1, averageItemsPerOrder: 5, averageLinesPerOrder: 2 });
  });

  it('is replayed into the statistics as version 2: the replay counts what the live consumer counted', async () => {
    const live = await h.flow.apis.stats.getStats();
    const replayed = await h.flow.apis.stats.replay();
    expect(replayed.eventsSkipped).toEqual([]);
    expect(replayed.stats).toEqual(live);
    expect(replayed.stats.averageItemsPerOrder).toBe(5);
  });

  it('stays in the log as written, version 1 without the new field; an order placed now is written as version 2', async () => {
    const old = await placedEvent(oldOrderId);
    expect(old.version).toBe(1);
    expect(old.payload).not.toHaveProperty('itemCount');

    const placed = await h.call('POST', '/orders', { token: h.tokens.alice, body: orderBody({ items: [{ productId: 'widget', quantity: 1 }] }) });
    expect(placed.statusCode, placed.body).toBe(201);
    const now = await placedEvent(placed.json().orderId as string);
    expect(now.version).toBe(2);
    expect(now.payload.itemCount).toBe(1);
  });
});
