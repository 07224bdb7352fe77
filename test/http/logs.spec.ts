import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp, mintToken } from '../../src/http/index.js';
import { dialects } from '../support/databases.js';
import { eventually } from '../support/kernel-test-module.js';
import { address, createFlowHarness, type FlowHarness } from '../flows/harness.js';
import { secret } from './support.js';

describe.each(dialects)('logs of an order on %s', (dialect) => {
  const lines: Record<string, unknown>[] = [];
  const raw: string[] = [];
  let h: FlowHarness;
  let app: Awaited<ReturnType<typeof buildApp>>;
  beforeAll(async () => {
    const logger = pino({ level: 'debug' }, { write: (line: string) => void (raw.push(line), lines.push(JSON.parse(line) as Record<string, unknown>)) });
    h = await createFlowHarness(dialect, {}, undefined, { logger });
    app = await buildApp({ engine: h.engine, apis: h.apis, config: { jwtSecret: secret, orderRateLimit: 0 }, logger });
    await h.apis.inventory.createProduct({ productId: 'logged', name: 'Logged', price: 1000, stock: 10 });
  });
  afterAll(async () => {
    await app?.close();
    await h?.close();
  });

  it('every line about the order, from the request to SHIPPED, carries its correlationId and orderId; no token appears', async () => {
    const token = mintToken(secret, { sub: 'logged-customer', role: 'customer' });
    const response = await app.inject({
      method: 'POST',
      url: '/orders',
      headers: { authorization: `Bearer ${token}` },
      payload: { items: [{ productId: 'logged', quantity: 1 }], shippingAddress: address, paymentMethod: { token: 'tok_visa' } },
    });
    expect(response.statusCode, response.body).toBe(201);
    const { orderId, correlationId } = response.json() as { orderId: string; correlationId: string };
    await eventually(async () => (await h.apis.orders.getOrder(orderId))?.status === 'SHIPPED', 'the order to ship');
    await h.settle();

    const about = lines.filter((line) => JSON.stringify(line).includes(orderId) || line.correlationId === correlationId);
    // One line per handled step at debug level, across the four modules' consumers.
    const handled = about.filter((l) => l.msg === 'event handled').map((l) => `${l.consumer}:${l.eventType}`);
    expect(handled).toEqual(expect.arrayContaining(['inventory:OrderPlaced', 'orders:InventoryReserved', 'payments:OrderConfirmed', 'orders:PaymentProcessed', 'shipments:OrderPaid', 'orders:ShipmentCreated']));
    for (const line of about) {
      expect(line, JSON.stringify(line)).toMatchObject({ correlationId, orderId });
    }
    expect(raw.some((line) => line.includes(token))).toBe(false);
    expect(raw.some((line) => line.includes(secret))).toBe(false);
  });
});
