import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mintToken } from '../../src/http/index.js';
import type { RunningCli } from '../cli/cli.js';
import { createScratchDatabase, dialects, type ScratchDatabase } from '../support/databases.js';
import { eventually } from '../support/kernel-test-module.js';
import { businessConsumers, untilSettled } from '../support/settle.js';
import { call, startServer } from './server.js';

const secret = 'shutdown-test-secret-of-at-least-32-chars';
const admin = mintToken(secret, { sub: 'admin-1', role: 'admin' });
const customer = mintToken(secret, { sub: 'customer-7', role: 'customer' });


describe.each(dialects)('SIGTERM during a burst of orders on %s (real process, real port)', (dialect) => {
  let scratch: ScratchDatabase;
  let running: RunningCli | undefined;
  beforeEach(async () => {
    scratch = await createScratchDatabase(dialect);
  });
  afterEach(async () => {
    if (running && running.process.exitCode === null) await running.stop('SIGKILL');
    await scratch.drop();
  });

  it('exits 0, and after a restart every accepted order completes; nothing is lost', async () => {
    let { server, url } = await startServer(scratch, secret);
    running = server;
    const created = await call(url, 'POST', '/products', admin, { productId: 'burst-1', name: 'Burst', price: 12.5, stock: 1000 });
    expect(created.status).toBe(201);

    // 8 clients place orders back to back; SIGTERM lands in the middle of the burst.
    const accepted: string[] = [];
    let refused = 0;
    let stopAt = Number.POSITIVE_INFINITY;
    const client = async () => {
      for (let i = 0; i < 40 && Date.now() < stopAt + 3000; i++) {
        try {
          const placed = await call(url, 'POST', '/orders', customer, {
            items: [{ productId: 'burst-1', quantity: 1 }],
            shippingAddress: { street: '1 Main St', city: 'Springfield', postalCode: '12345', country: 'US' },
            paymentMethod: { token: 'tok_visa' },
          });
          if (placed.status === 201) accepted.push(placed.body.orderId as string);
          else refused++;
        } catch {
          refused++; // the server closed: connection refused or reset
        }
      }
    };
    const clients = Array.from({ length: 8 }, client);
    await eventually(async () => accepted.length >= 40, 'the burst to get going');
    stopAt = Date.now();
    expect(await server.stop('SIGTERM')).toBe(0);
    await Promise.all(clients);
    expect(accepted.length).toBeGreaterThanOrEqual(40);
    expect(refused, 'requests after the SIGTERM were refused, not accepted').toBeGreaterThan(0);

    ({ server, url } = await startServer(scratch, secret));
    running = server;
    await eventually(async () => {
      const page = await call(url, 'GET', '/orders?limit=200&status=SHIPPED', admin);
      return (page.body.orders as unknown[]).length >= accepted.length;
    }, 'every accepted order to ship after the restart', 60_000);
    // SHIPPED is the orders consumer's view: the inventory consumer ships the stock on
    // ShipmentCreated on its own time. Wait for every consumer of the server before reading it.
    const storage = await scratch.open();
    try {
      await untilSettled(storage.db, businessConsumers());
    } finally {
      await storage.close();
    }
    for (const orderId of accepted) expect((await call(url, 'GET', `/orders/${orderId}`, customer)).body.status).toBe('SHIPPED');
    // No order exists that was not accepted and completed: nothing half-written.
    const all = await call(url, 'GET', '/orders?limit=200', admin);
    const statuses = (all.body.orders as { orderId: string; status: string }[]).map((o) => o.status);
    expect(statuses.every((s) => s === 'SHIPPED')).toBe(true);
    expect(statuses.length).toBe(accepted.length);
    const inventory = await call(url, 'GET', '/products/burst-1/inventory', admin);
    expect(inventory.body).toMatchObject({ onHand: 1000 - accepted.length, reserved: 0 });
    expect(await server.stop('SIGTERM')).toBe(0);
  });
});
