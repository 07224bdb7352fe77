import { sql } from 'kysely';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  browserAvailable,
  createProduct,
  ensureConsoleBuilt,
  eventually,
  go,
  hashOf,
  inPage,
  launchBrowser,
  openSignedIn,
  orderReaches,
  placeOrder,
  screenshot,
  startConsoleServer,
  waitForValue,
  type ConsoleServer,
} from './support.js';

interface DeadLetter {
  id: string;
  consumer: string;
  eventType: string;
  status: string;
  attempts: number;
  parkedCount: number;
}

describe.skipIf(!browserAvailable())('console: dead letters, inventory and access, in Chromium', () => {
  let server: ConsoleServer;
  let browser: Browser;
  let page: Page;

  beforeAll(async () => {
    ensureConsoleBuilt();
    server = await startConsoleServer();
    await createProduct(server, { productId: 'kettle', name: 'Kettle', stock: 40, reorderPoint: 2 });
    browser = await launchBrowser();
    page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  });
  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  it('shows a handler failing until dead-lettered, with its parked events; a re-drive from the page completes the order', async () => {
    // A storage fault: the orders table refuses to record SHIPPED, so the orders consumer's
    // ShipmentCreated handler fails on every attempt (the handler and its retries are real).
    const db = server.orderflow.storage.db;
    await sql`create trigger refuse_shipped before update on orders when new.status = 'SHIPPED' and old.status <> 'SHIPPED'
      begin select raise(abort, 'orders store refused the write: disk quota exceeded'); end`.execute(db);
    const order = await placeOrder(server, { productId: 'kettle' });
    const dead = await waitForValue(async () => {
      const { body } = await server.call<{ deadLetters: DeadLetter[] }>('GET', '/api/dead-letters?status=dead');
      return body.deadLetters.find((d) => d.eventType === 'ShipmentCreated' && d.consumer === 'orders');
    }, 'ShipmentCreated to be dead-lettered for the orders consumer');
    expect(dead.attempts).toBe(4);
    // The operator dispatches the parcel: ShipmentDispatched waits behind the dead letter.
    const shipment = (await server.call<{ events: { aggregateId: string }[] }>('GET', `/api/events?correlationId=${order.correlationId}&eventType=ShipmentCreated`)).body.events[0]!;
    expect((await server.call('POST', `/shipments/${shipment.aggregateId}/dispatch`)).status).toBe(200);
    await eventually(async () => (await server.call<DeadLetter>('GET', `/api/dead-letters/${dead.id}`)).body.parkedCount === 1, 'ShipmentDispatched to be parked');

    await openSignedIn(page, server, server.tokens.admin, 'dead-letters');
    const row = page.locator(`tr[data-dead-letter-id="${dead.id}"]`);
    await row.waitFor();
    expect(await row.getAttribute('data-consumer')).toBe('orders');
    expect(await row.textContent()).toContain('disk quota exceeded');
    await row.getByRole('button', { name: 'Inspect' }).click();
    const parked = page.locator(`#dl-detail-${dead.id} [data-parked-event]`);
    await expect.poll(() => parked.getAttribute('data-parked-event')).toBe('ShipmentDispatched');
    expect(await page.locator(`#dl-detail-${dead.id} .attempts li`).count()).toBe(4);
    await screenshot(page, 'dead-letters');

    // The disk is fixed; the operator re-drives from the page.
    await sql`drop trigger refuse_shipped`.execute(db);
    await row.getByRole('button', { name: 'Re-drive' }).click();
    await expect.poll(() => page.getByRole('status').filter({ hasText: 'Re-driven' }).count()).toBe(1);
    const shipped = await orderReaches(server, order.orderId, 'SHIPPED');
    // The parked ShipmentDispatched followed the re-driven event.
    await eventually(async () => (await server.call<{ dispatchedAt: string | null }>('GET', `/orders/${order.orderId}`)).body.dispatchedAt !== null, 'the parked dispatch to be delivered');
    expect(shipped.status).toBe('SHIPPED');
    await expect.poll(() => page.locator('.state-empty').textContent()).toContain('No dead letters');
  });

  it('restocks from the Inventory view, which closes the low-stock alert', async () => {
    await createProduct(server, { productId: 'teapot', name: 'Teapot', stock: 10, reorderPoint: 5 });
    expect((await server.call('POST', '/products/teapot/stock', { delta: -6, reason: 'damaged in the warehouse' })).status).toBe(200);
    await eventually(async () => (await server.call<{ alerts: { productId: string }[] }>('GET', '/inventory/alerts')).body.alerts.some((a) => a.productId === 'teapot'), 'a low-stock alert for teapot');

    await openSignedIn(page, server, server.tokens.admin, 'inventory');
    const alert = page.locator('[data-alert-product="teapot"]');
    await alert.waitFor();
    expect(await page.locator('tr[data-product-id="teapot"] .available').textContent()).toBe('4');
    await screenshot(page, 'inventory-low-stock');

    await page.getByLabel('Product', { exact: true }).selectOption('teapot');
    await page.getByLabel('Units to add').fill('20');
    await page.getByLabel('Reason', { exact: true }).fill('restock from supplier');
    await page.getByRole('button', { name: 'Restock' }).click();
    await expect.poll(() => page.getByRole('status').filter({ hasText: 'Restocked teapot by 20' }).textContent()).toContain('24 available');
    await expect.poll(() => alert.count()).toBe(0);
    expect(await page.locator('tr[data-product-id="teapot"] .available').textContent()).toBe('24');
    const open = await server.call<{ alerts: { productId: string }[] }>('GET', '/inventory/alerts');
    expect(open.body.alerts.some((a) => a.productId === 'teapot')).toBe(false);
    const closed = await server.call<{ alerts: { productId: string; resolvedAt: string | null }[] }>('GET', '/inventory/alerts?resolved=true');
    expect(closed.body.alerts.find((a) => a.productId === 'teapot')?.resolvedAt).toBeTruthy();
  });

  it('keeps a customer token out of the admin views: the API says 403 and the page says why', async () => {
    const order = await placeOrder(server, { productId: 'kettle' });
    const customer = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    try {
      await customer.goto(`${server.base}/`);
      await expect.poll(() => hashOf(customer)).toMatch(/^#\/sign-in/);
      // Not a token at all: the form says so before asking the API.
      await customer.getByLabel('Access token').fill('not-a-token');
      await customer.getByRole('button', { name: 'Sign in' }).click();
      await expect.poll(() => customer.getByRole('alert').textContent()).toContain('That is not a token');
      await customer.getByLabel('Access token').fill(server.tokens.customer);
      await customer.getByRole('button', { name: 'Sign in' }).click();

      for (const [i, view] of ['orders', 'events', 'inventory', 'dead-letters', 'throughput', `orders/${order.orderId}`].entries()) {
        const refused = customer.waitForResponse((r) => r.status() === 403 && new URL(r.url()).pathname.match(/^\/(api|inventory|sagas)\//) !== null);
        // A query the views ignore makes every visit a new route, the first one included.
        await go(customer, `#/${view}?visit=${i}`);
        const response = await refused;
        expect((await response.json()).code).toBe('ADMIN_ONLY');
        const message = customer.locator('.state-forbidden');
        await expect.poll(() => message.textContent(), { message: view }).toContain('Admins only');
        expect(await message.textContent()).toContain('403 ADMIN_ONLY');
        expect(await message.textContent()).toContain('signed in as customer-001 (role customer)');
        if (view === 'inventory') await screenshot(customer, 'customer-forbidden');
      }
      // The live stream is admin-only too, and the header says it is off.
      await expect.poll(() => customer.locator('.live-indicator').textContent()).toBe('Live updates off');
      await customer.getByRole('button', { name: 'Sign in with another token' }).click();
      await expect.poll(() => inPage(customer, 'sessionStorage.length')).toBe(0);
    } finally {
      await customer.close();
    }
  });
});
