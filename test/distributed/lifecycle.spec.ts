import { describe, expect, it } from 'vitest';
import { natsAvailable } from '../support/transports.js';
import {
  adminToken,
  call,
  checkEverything,
  createCatalog,
  until,
  untilQuiet,
  type PlacedOrder,
} from './support.js';
import { splitDeploymentSuite } from './suite.js';

const ADDRESS = { street: '1 Main St', city: 'Springfield', postalCode: '12345', country: 'US' };

// The order lifecycle of issue #15 across processes: an item edit crosses from http+orders to
// inventory (another process, two instances), to payments and back; a backorder waits in
// inventory until a restock served by whichever instance owns its partition. The same
// invariants as the load's hold afterwards.
describe.skipIf(!natsAvailable)('item edits and backorders in a split deployment on PostgreSQL + NATS', () => {
  const suite = splitDeploymentSuite('lifecycle');

  it('an item edit applied, one declined and compensated, a backorder served by a restock; every invariant holds', () =>
    suite.run(async () => {
      const deployment = await suite.start();
      const inspector = await suite.inspect();
      const { url } = deployment;
      await createCatalog(url);
      const bolt = await call(url, 'POST', '/products', adminToken, { productId: 'bolt', name: 'Bolt', price: 1.5, stock: 2, allowBackorders: true });
      expect(bolt.status, JSON.stringify(bolt.body)).toBe(201);

      const place = async (items: { productId: string; quantity: number }[]) => {
        const placed = await call(url, 'POST', '/orders', adminToken, { customerId: 'lifecycle', items, shippingAddress: ADDRESS, paymentMethod: { token: 'tok_visa' } });
        expect(placed.status, JSON.stringify(placed.body)).toBe(201);
        return placed.body.orderId as string;
      };
      const read = async (orderId: string) => {
        const response = await fetch(`${url}/orders/${orderId}`, { headers: { authorization: `Bearer ${adminToken}` } });
        return { order: (await response.json()) as Record<string, any>, etag: response.headers.get('etag')! }; // eslint-disable-line @typescript-eslint/no-explicit-any
      };
      const reaches = (orderId: string, status: string) => until(async () => (await read(orderId)).order.status === status, `order ${orderId} ${status}`, 60_000);
      const edit = async (orderId: string, body: Record<string, unknown>) => {
        const { etag } = await read(orderId);
        const response = await fetch(`${url}/orders/${orderId}`, { method: 'PATCH', headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json', 'if-match': etag }, body: JSON.stringify(body) });
        expect(response.status, await response.clone().text()).toBe(202);
        await until(async () => (await read(orderId)).order.pendingEdit === null, `the edit of ${orderId} to end`, 60_000);
        return (await read(orderId)).order;
      };

      const [applied, declined] = [await place([{ productId: 'plenty-1', quantity: 1 }]), await place([{ productId: 'plenty-2', quantity: 1 }])];
      await reaches(applied, 'SHIPPED');
      await reaches(declined, 'SHIPPED');
      const edited = await edit(applied, { items: [{ productId: 'plenty-1', quantity: 2 }, { productId: 'plenty-3', quantity: 1 }], reason: 'more' });
      expect(edited).toMatchObject({ totalAmount: 174, lastEdit: { outcome: 'applied' } });
      const refused = await edit(declined, { items: [{ productId: 'plenty-2', quantity: 3 }], paymentMethod: { token: 'tok_chargeDeclined' } });
      expect(refused).toMatchObject({ totalAmount: 3.99, lastEdit: { outcome: 'rejected', reason: 'card_declined' } });

      const waiting = await place([{ productId: 'bolt', quantity: 5 }]);
      await until(async () => ((await read(waiting)).order.backorders as { status: string }[] | undefined)?.some((b) => b.status === 'WAITING') ?? false, 'the backorder to wait', 60_000);
      expect((await read(waiting)).order.status).toBe('PENDING');
      const restock = await call(url, 'POST', '/products/bolt/stock', adminToken, { delta: 10, reason: 'delivery' });
      expect(restock.status, JSON.stringify(restock.body)).toBe(200);
      await reaches(waiting, 'SHIPPED');

      const placed: PlacedOrder[] = [applied, declined, waiting].map((orderId, index) => ({ index, orderId, plan: 'visa', token: 'tok_visa' }));
      await untilQuiet(inspector, placed.length, { deployment });
      const { violations } = await checkEverything(inspector, url, placed);
      expect(violations).toEqual([]);
      // The edit's charge and the placement's, each once; the declined edit charged nothing.
      expect(await inspector.apis.payments.editChargesForOrder(applied)).toBe(1);
      expect(await inspector.apis.payments.editChargesForOrder(declined)).toBe(0);
    }), 300_000);
});
