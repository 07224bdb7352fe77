import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mintToken } from '../../src/http/index.js';
import type { RunningCli } from '../cli/cli.js';
import { createScratchDatabase, type ScratchDatabase } from '../support/databases.js';
import { eventually } from '../support/kernel-test-module.js';
import { businessConsumers, untilSettled } from '../support/settle.js';
import { call, startServer } from './server.js';

const secret = 'group-commit-crash-secret-of-32-chars!';
const admin = mintToken(secret, { sub: 'admin-1', role: 'admin' });
const customer = mintToken(secret, { sub: 'customer-9', role: 'customer' });
const STOCK = 5_000;


/** Every order, page by page (GET /orders pages hold 200 at most). */
async function allOrders(url: string): Promise<{ orderId: string; status: string }[]> {
  const orders: { orderId: string; status: string }[] = [];
  let cursor: string | null = null;
  do {
    const page = (await call(url, 'GET', `/orders?limit=200${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`, admin)).body;
    orders.push(...(page.orders as typeof orders));
    cursor = page.nextCursor as string | null;
  } while (cursor);
  return orders;
}

/**
 * SQLite commits the placements that arrive together in one transaction (group commit). A
 * SIGKILL while groups are being committed must keep every order answered 201, and leave no
 * order that is only partly written: an order whose commit made it but whose answer did not
 * is whole (it ships like the others); one whose commit did not make it left nothing.
 */
describe('SIGKILL while a group of placements commits (embedded, SQLite, real process)', () => {
  let scratch: ScratchDatabase;
  let running: RunningCli | undefined;
  beforeEach(async () => {
    scratch = await createScratchDatabase('sqlite');
  });
  afterEach(async () => {
    if (running && running.process.exitCode === null && running.process.signalCode === null) await running.stop('SIGKILL');
    await scratch.drop();
  });

  it('keeps every order answered 201; anything else is whole or absent', async () => {
    let { server, url } = await startServer(scratch, secret);
    running = server;
    expect((await call(url, 'POST', '/products', admin, { productId: 'grp-1', name: 'Grouped', price: 3.5, stock: STOCK })).status).toBe(201);

    // 32 clients place orders back to back, so the server commits them in groups.
    const accepted = new Set<string>();
    let unanswered = 0;
    let killed = false;
    const client = async () => {
      while (!killed) {
        try {
          const placed = await call(url, 'POST', '/orders', customer, {
            items: [{ productId: 'grp-1', quantity: 1 }],
            shippingAddress: { street: '1 Main St', city: 'Springfield', postalCode: '12345', country: 'US' },
            paymentMethod: { token: 'tok_visa' },
          });
          if (placed.status === 201) accepted.add(placed.body.orderId as string);
          else throw new Error(`placement answered ${placed.status}: ${JSON.stringify(placed.body)}`);
        } catch (error) {
          if (!killed) throw error;
          unanswered++; // in flight when the process died
        }
      }
    };
    const clients = Array.from({ length: 32 }, client);
    await eventually(async () => accepted.size >= 300, 'the burst to get going', 60_000);
    killed = true;
    await server.stop('SIGKILL');
    await Promise.all(clients);
    const answered = accepted.size;

    ({ server, url } = await startServer(scratch, secret));
    running = server;
    // Every order the log holds runs to SHIPPED: a half-written one (no lines, no saga, no
    // OrderPlaced) would stop short and keep this waiting.
    let orders: { orderId: string; status: string }[] = [];
    await eventually(async () => {
      orders = await allOrders(url);
      return orders.length >= answered && orders.every((o) => o.status === 'SHIPPED');
    }, 'every order in the log to ship after the restart', 90_000);
    const stored = new Set(orders.map((o) => o.orderId));
    for (const orderId of accepted) expect(stored.has(orderId), `order ${orderId} was answered 201`).toBe(true);
    // The only orders not answered 201 are ones whose answer the kill cut off.
    expect(orders.length - answered).toBeLessThanOrEqual(unanswered);
    const placedEvents = (await call(url, 'GET', '/api/events?eventType=OrderPlaced&limit=1000', admin)).body.events as { aggregateId: string }[];
    expect(new Set(placedEvents.map((e) => e.aggregateId))).toEqual(stored);
    expect(placedEvents).toHaveLength(stored.size);
    // SHIPPED is the orders consumer's view; inventory takes the shipped units out on its own time.
    const storage = await scratch.open();
    try {
      await untilSettled(storage.db, businessConsumers());
    } finally {
      await storage.close();
    }
    const inventory = await call(url, 'GET', '/products/grp-1/inventory', admin);
    expect(inventory.body).toMatchObject({ onHand: STOCK - stored.size, reserved: 0 });
    expect(await server.stop('SIGTERM')).toBe(0);
  });
});
