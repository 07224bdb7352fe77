import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { browserAvailable, createProduct, ensureConsoleBuilt, go, launchBrowser, openSignedIn, orderReaches, placeOrder, startConsoleServer, type ConsoleServer } from './support.js';

// An order short of a product that takes no backorders is held for an admin's review
// (SHORT_ORDER_REVIEW_MS): the Order view shows what it waits for, and an admin approves it
// there; the shortfall then waits for a restock, which ships it.
describe.skipIf(!browserAvailable())('console: an order short of stock, reviewed and overridden from the Order view, in Chromium', () => {
  let server: ConsoleServer;
  let browser: Browser;
  let page: Page;

  beforeAll(async () => {
    ensureConsoleBuilt();
    server = await startConsoleServer({ SHORT_ORDER_REVIEW_MS: '600000' });
    await createProduct(server, { productId: 'nut', name: 'Nut', stock: 2, price: 1 });
    browser = await launchBrowser();
    page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  });
  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  it('shows the shortfall held for review, takes the admin\u2019s override, and shows the order waiting for the restock that ships it', async () => {
    const order = await placeOrder(server, { productId: 'nut', quantity: 5 });
    await openSignedIn(page, server, server.tokens.admin);
    await go(page, `#/orders/${order.orderId}`);
    const details = page.locator('section[aria-label="Order details"]');
    await expect.poll(() => details.locator('[data-backorder="nut"]').getAttribute('data-status')).toBe('REVIEW');
    expect(await details.locator('[data-backorder="nut"]').textContent()).toBe('3 × nut: held for an admin\u2019s review');

    await page.getByRole('button', { name: 'Approve despite the shortage' }).click();
    await page.getByLabel('Reason').fill('regular customer');
    await page.getByLabel('Expected restock (optional)').fill('2027-01-15');
    await page.getByRole('button', { name: 'Approve the override' }).click();
    await expect.poll(() => details.textContent()).toContain('Stock override');
    expect(await details.textContent()).toContain('regular customer, restock expected 2027-01-15');
    await expect.poll(() => details.locator('[data-backorder="nut"]').getAttribute('data-status')).toBe('WAITING');
    expect(await page.getByRole('button', { name: 'Approve despite the shortage' }).count()).toBe(0);

    const restocked = await server.call('POST', '/products/nut/stock', { delta: 10, reason: 'delivery' });
    expect(restocked.status, JSON.stringify(restocked.body)).toBe(200);
    await orderReaches(server, order.orderId, 'SHIPPED');
    await go(page, `#/orders/${order.orderId}`);
    await expect.poll(() => page.locator('.order-status').getAttribute('data-status')).toBe('SHIPPED');
    expect(await details.getByText('Waiting for stock').count()).toBe(0);
    await expect.poll(() => page.locator('section[aria-labelledby="audit-title"] tr[data-action="OrderStockOverrideApplied"]').textContent()).toContain('regular customer');
  });
});
