import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mintToken } from '../../src/http/index.js';
import type { RunningCli } from '../cli/cli.js';
import { createScratchDatabase, type ScratchDatabase } from '../support/databases.js';
import { eventually } from '../support/kernel-test-module.js';
import { call, startServer } from './server.js';

const secret = 'placement-thread-secret-of-32-chars!!';
const admin = mintToken(secret, { sub: 'admin-1', role: 'admin' });
const customer = mintToken(secret, { sub: 'customer-3', role: 'customer' });
const address = { street: '1 Main St', city: 'Springfield', postalCode: '12345', country: 'US' };
const order = (items: unknown[], extra: Record<string, unknown> = {}) => ({ items, shippingAddress: address, paymentMethod: { token: 'tok_visa' }, ...extra });

/**
 * In the embedded mode the request thread hands each placement to the delivery thread, which
 * writes it (with the deliveries) and answers once it has committed. What the client sees must
 * not change: the order as placed, and every refusal as the same problem detail, with its
 * members (a price mismatch in the decimals the client sent); a refused order leaves nothing.
 */
describe('placements written by the delivery thread (embedded, real process)', () => {
  let scratch: ScratchDatabase;
  let running: RunningCli | undefined;
  beforeEach(async () => {
    scratch = await createScratchDatabase('sqlite');
  });
  afterEach(async () => {
    await running?.stop('SIGTERM');
    await scratch.drop();
  });

  it('answers placements and refusals as before, and writes nothing of a refused order', async () => {
    const { server, url } = await startServer(scratch, secret);
    running = server;
    expect((await call(url, 'POST', '/products', admin, { productId: 'lamp', name: 'Lamp', price: 12.5, stock: 100 })).status).toBe(201);

    const tampered = await call(url, 'POST', '/orders', customer, order([{ productId: 'lamp', quantity: 2, unitPrice: 9.99 }]));
    expect(tampered.status).toBe(422);
    expect(tampered.body).toMatchObject({ code: 'PRICE_MISMATCH', status: 422, mismatches: [{ productId: 'lamp', expected: 12.5, received: 9.99 }] });
    expect(tampered.body.detail).toBe('unit prices differ from the catalog (USD): lamp costs 12.5, not 9.99');
    const totals = await call(url, 'POST', '/orders', customer, order([{ productId: 'lamp', quantity: 2 }], { totalAmount: 20 }));
    expect(totals.body).toMatchObject({ code: 'TOTAL_MISMATCH', status: 422, expected: 25, received: 20 });
    expect((await call(url, 'POST', '/orders', customer, order([{ productId: 'nope', quantity: 1 }]))).body).toMatchObject({ code: 'UNKNOWN_PRODUCT', status: 422 });
    expect((await call(url, 'POST', '/orders', customer, order([{ productId: 'lamp', quantity: 1 }, { productId: 'lamp', quantity: 2 }]))).body).toMatchObject({ code: 'DUPLICATE_PRODUCT', status: 422 });
    expect((await call(url, 'GET', '/orders', admin)).body.orders).toEqual([]);

    const placed = await call(url, 'POST', '/orders', customer, order([{ productId: 'lamp', quantity: 2 }]));
    expect(placed.status).toBe(201);
    expect(placed.body).toMatchObject({ customerId: 'customer-3', status: 'PENDING', totalAmount: 25, currency: 'USD', items: [{ productId: 'lamp', quantity: 2, unitPrice: 12.5 }] });
    const orderId = placed.body.orderId as string;
    await eventually(async () => (await call(url, 'GET', `/orders/${orderId}`, customer)).body.status === 'SHIPPED', 'the order to ship', 30_000);
    const orders = (await call(url, 'GET', '/orders', admin)).body.orders as { orderId: string }[];
    expect(orders.map((o) => o.orderId)).toEqual([orderId]);
  });
});
