import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dialects } from '../support/databases.js';
import { createHttpHarness, eventually, orderBody, seedProducts, type HttpHarness } from './support.js';

describe.each(dialects)('GET /api/stats on %s', (dialect) => {
  let h: HttpHarness;
  beforeAll(async () => {
    h = await createHttpHarness(dialect);
    await seedProducts(h);
  });
  afterAll(async () => h?.close());

  it('counts orders by status and revenue in decimals, minus refunds, as orders flow', async () => {
    const shipped = (await h.call('POST', '/orders', { token: h.tokens.alice, body: orderBody() })).json() as { orderId: string; createdAt: string };
    const declined = await h.call('POST', '/orders', { token: h.tokens.bob, body: orderBody({ paymentMethod: { token: 'tok_chargeDeclined' } }) });
    expect(declined.statusCode).toBe(201);
    await eventually(async () => {
      const stats = (await h.call('GET', '/api/stats', { token: h.tokens.admin })).json() as { byStatus: Record<string, number> };
      return stats.byStatus.SHIPPED === 1 && stats.byStatus.PAYMENT_FAILED === 1;
    }, 'the statistics to follow the orders');
    const stats = (await h.call('GET', '/api/stats', { token: h.tokens.admin })).json();
    expect(stats).toMatchObject({ ordersPlaced: 2, revenue: { USD: { paid: 199.98, refunded: 0, net: 199.98 } }, averageItemsPerOrder: 2, averageLinesPerOrder: 1 });
    // Per UTC day of placement (the test's own clock could be past midnight by now).
    const days = [shipped.createdAt, declined.json().createdAt as string].map((at) => at.slice(0, 10));
    expect(stats.placedPerDay).toEqual(days[0] === days[1] ? [{ day: days[0], orders: 2 }] : days.map((day) => ({ day, orders: 1 })));
    expect(shipped.orderId).toBeDefined();
    expect((await h.call('GET', '/api/stats', { token: h.tokens.alice })).statusCode).toBe(403);
  });
});
