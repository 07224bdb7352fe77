import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { browserAvailable, createProduct, ensureConsoleBuilt, launchBrowser, openSignedIn, orderReaches, placeOrder, startConsoleServer, type ConsoleServer } from './support.js';

const count = (page: Page, status: string) => page.locator(`[data-count-status="${status}"] .count-value`).textContent();

// The gateway answers at once: an order runs from placed to SHIPPED in one burst of events.
describe.skipIf(!browserAvailable())('console: the Orders view’s counts follow the live stream, in Chromium', () => {
  let server: ConsoleServer;
  let browser: Browser;
  let page: Page;

  beforeAll(async () => {
    ensureConsoleBuilt();
    server = await startConsoleServer();
    await createProduct(server, { productId: 'mug', name: 'Mug', stock: 50 });
    browser = await launchBrowser();
    page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  });
  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  it('counts an order that shipped between the counts’ read and the list’s, before the live stream connected', async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    const held = await context.newPage();
    // The page reads the counts, then the list, and follows the stream from when it connects:
    // the order is placed and ships after the counts were read, before the list and the stream.
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    await held.route(/\/(api\/stream|orders\?)/, async (route) => {
      await released;
      await route.continue();
    });
    try {
      await openSignedIn(held, server, server.tokens.admin);
      await expect.poll(() => count(held, 'ALL')).toBe('0');
      const order = await placeOrder(server, { productId: 'mug' });
      await orderReaches(server, order.orderId, 'SHIPPED');
      await expect.poll(async () => ((await server.call<{ byStatus: Record<string, number> }>('GET', '/api/stats')).body.byStatus.SHIPPED)).toBe(1);
      release();
      await expect.poll(() => held.locator(`tr[data-order-id="${order.orderId}"]`).getAttribute('data-status')).toBe('SHIPPED');
      await expect.poll(() => count(held, 'SHIPPED'), { timeout: 5_000 }).toBe('1');
      await expect.poll(() => count(held, 'ALL'), { timeout: 5_000 }).toBe('1');
    } finally {
      await context.close();
    }
  });

  it('counts each order placed after the page opened once its row shows it SHIPPED', async () => {
    await openSignedIn(page, server, server.tokens.admin);
    await expect.poll(() => count(page, 'ALL')).toBe('1');
    for (let n = 2; n <= 4; n++) {
      const order = await placeOrder(server, { productId: 'mug' });
      const row = page.locator(`tr[data-order-id="${order.orderId}"]`);
      await expect.poll(() => row.getAttribute('data-status')).toBe('SHIPPED');
      await expect.poll(() => count(page, 'ALL'), { timeout: 5_000 }).toBe(String(n));
      await expect.poll(() => count(page, 'SHIPPED'), { timeout: 5_000 }).toBe(String(n));
    }
  });
});
