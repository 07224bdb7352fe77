import { copyFileSync, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
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
  SCREENSHOTS,
  startConsoleServer,
  type ConsoleServer,
} from './support.js';

const SIZES = { desktop: { width: 1280, height: 800 }, phone: { width: 375, height: 800 } };
// `UPDATE_DOCS_SCREENSHOT=1 npx vitest run test/console/views.spec.ts` refreshes the README's picture.
const DOCS_SCREENSHOT = fileURLToPath(new URL('../../docs/console.png', import.meta.url));

describe.skipIf(!browserAvailable())('console: every view, at 1280×800 and at phone width, in Chromium', () => {
  let server: ConsoleServer;
  let browser: Browser;
  let page: Page;
  let shippedOrder: string;
  let declinedOrder: string;

  beforeAll(async () => {
    ensureConsoleBuilt();
    server = await startConsoleServer();
    await createProduct(server, { productId: 'headphones', name: 'Noise-cancelling headphones', stock: 60, reorderPoint: 10, price: 99.99 });
    await createProduct(server, { productId: 'stand', name: 'Laptop stand', stock: 6, reorderPoint: 5, price: 49.99 });
    shippedOrder = (await placeOrder(server, { productId: 'headphones', quantity: 2 })).orderId;
    declinedOrder = (await placeOrder(server, { productId: 'stand', card: 'tok_chargeDeclined' })).orderId;
    const standOrder = (await placeOrder(server, { productId: 'stand' })).orderId;
    await orderReaches(server, shippedOrder, 'SHIPPED');
    await orderReaches(server, standOrder, 'SHIPPED');
    // One delivery left dead, so the Dead letters view has something to show.
    await sql`create trigger refuse_shipped before update on orders when new.status = 'SHIPPED' and old.status <> 'SHIPPED'
      begin select raise(abort, 'orders store refused the write: disk quota exceeded'); end`.execute(server.orderflow.storage.db);
    await placeOrder(server, { productId: 'headphones' });
    await eventually(async () => (await server.call<{ deadLetters: unknown[] }>('GET', '/api/dead-letters?status=dead')).body.deadLetters.length === 1, 'a dead letter');
    browser = await launchBrowser();
    page = await browser.newPage({ viewport: SIZES.desktop });
    await openSignedIn(page, server, server.tokens.admin);
  });
  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  const views = () => [
    { name: 'orders', hash: '#/orders', ready: 'tr[data-order-id]' },
    { name: 'order', hash: `#/orders/${shippedOrder}`, ready: 'svg.sequence g.seq-event' },
    { name: 'events', hash: '#/events', ready: 'tr[data-sequence]' },
    { name: 'inventory', hash: '#/inventory', ready: '[data-alert-product="stand"]' },
    { name: 'dead-letters', hash: '#/dead-letters', ready: 'tr[data-dead-letter-id]' },
    { name: 'throughput', hash: '#/throughput', ready: 'svg.chart' },
    { name: 'webhooks', hash: '#/webhooks', ready: 'form.webhook-form' },
  ];

  it('writes a screenshot of each view at both sizes; no view overflows a phone screen; every field has a label', async () => {
    for (const [size, viewport] of Object.entries(SIZES)) {
      await page.setViewportSize(viewport);
      for (const view of views()) {
        await go(page, view.hash);
        await page.locator(view.ready).first().waitFor();
        await page.waitForTimeout(300);
        const path = await screenshot(page, `${view.name}-${size}`, false);
        expect(readFileSync(path).subarray(1, 4).toString()).toBe('PNG');
        const widths = await inPage<{ content: number; window: number }>(page, '({ content: document.documentElement.scrollWidth, window: window.innerWidth })');
        expect(widths.content, `${view.name} at ${size}`).toBeLessThanOrEqual(widths.window);
        const unlabelled = await inPage<string[]>(
          page,
          "[...document.querySelectorAll('input, select, textarea')].filter((f) => f.labels.length === 0 && !f.getAttribute('aria-label')).map((f) => f.outerHTML)",
        );
        expect(unlabelled, view.name).toEqual([]);
      }
    }
    for (const view of views()) for (const size of Object.keys(SIZES)) expect(existsSync(join(SCREENSHOTS, `${view.name}-${size}.png`))).toBe(true);
  });

  it('shows the declined order’s saga with its compensation (the README’s picture)', async () => {
    await page.setViewportSize(SIZES.desktop);
    await go(page, `#/orders/${declinedOrder}`);
    await page.locator('[data-compensation="stock released"]').waitFor();
    const path = join(SCREENSHOTS, 'order-compensated.png');
    await page.screenshot({ path, fullPage: true, clip: { x: 0, y: 0, width: SIZES.desktop.width, height: 1180 } });
    if (process.env.UPDATE_DOCS_SCREENSHOT) copyFileSync(path, DOCS_SCREENSHOT);
  });

  it('is usable from the keyboard: skip link, navigation by Tab and Enter, focus moved to the new view', async () => {
    await page.setViewportSize(SIZES.desktop);
    await page.goto(`${server.base}/#/orders`);
    await page.reload();
    await page.locator('tr[data-order-id]').first().waitFor();
    await page.keyboard.press('Tab');
    expect(await inPage(page, 'document.activeElement.textContent')).toBe('Skip to content');
    await page.keyboard.press('Enter');
    expect(await inPage(page, 'document.activeElement.id')).toBe('main');

    // From the top again: past the skip link, the brand, then the navigation.
    await page.reload();
    await page.locator('tr[data-order-id]').first().waitFor();
    let focused = '';
    for (let i = 0; i < 15 && focused !== 'Inventory'; i++) {
      await page.keyboard.press('Tab');
      focused = await inPage<string>(page, "document.activeElement?.textContent ?? ''");
    }
    expect(focused).toBe('Inventory');
    // A visible focus ring.
    expect(await inPage(page, 'getComputedStyle(document.activeElement).outlineStyle')).toBe('solid');
    await page.keyboard.press('Enter');
    await expect.poll(() => hashOf(page)).toBe('#/inventory');
    await expect.poll(() => inPage(page, "document.activeElement.tagName + ' ' + document.activeElement.textContent")).toBe('H1 Inventory');
  });

  it('discards a dead letter from the page, after a confirmation', async () => {
    await go(page, '#/dead-letters');
    const row = page.locator('tr[data-dead-letter-id]');
    await row.waitFor();
    await row.getByRole('button', { name: 'Discard' }).click();
    await row.getByRole('button', { name: 'Confirm discard' }).click();
    await expect.poll(() => page.getByRole('status').filter({ hasText: 'Discarded ShipmentCreated for orders' }).count()).toBe(1);
    await expect.poll(() => page.locator('.state-empty').textContent()).toContain('No dead letters');
    const { body } = await server.call<{ deadLetters: { status: string }[] }>('GET', '/api/dead-letters?status=discarded');
    expect(body.deadLetters.map((d) => d.status)).toEqual(['discarded']);
  });

  it('signs out, and answers a page for an unknown route', async () => {
    await page.getByRole('button', { name: 'Sign out' }).click();
    await expect.poll(() => hashOf(page)).toMatch(/^#\/sign-in/);
    expect(await inPage(page, 'sessionStorage.length')).toBe(0);
    await screenshot(page, 'sign-in-desktop', false);
    await openSignedIn(page, server, server.tokens.admin, 'no-such-view');
    await expect.poll(() => page.locator('h1').textContent()).toBe('Not found');
  });
});
