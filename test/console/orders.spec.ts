import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  answerPayment,
  browserAvailable,
  createProduct,
  ensureConsoleBuilt,
  go,
  hashOf,
  inPage,
  launchBrowser,
  openSignedIn,
  orderReaches,
  placeOrder,
  screenshot,
  startConsoleServer,
  type ConsoleServer,
} from './support.js';

// The gateway answers only when a test makes its answer due (the latency is a minute), so an
// order visibly moves through PENDING/CONFIRMED before it ships, however slow the browser is.
describe.skipIf(!browserAvailable())('console: orders and the order view, in Chromium', () => {
  let server: ConsoleServer;
  let browser: Browser;
  let page: Page;

  beforeAll(async () => {
    ensureConsoleBuilt();
    server = await startConsoleServer({ PAYMENT_LATENCY_MS: '60000' });
    await createProduct(server, { productId: 'lamp', name: 'Desk lamp', stock: 50, reorderPoint: 2, price: 25 });
    await createProduct(server, { productId: 'shade', name: 'Lamp shade', stock: 10, price: 8 });
    browser = await launchBrowser();
    page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  });
  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  it('shows an order placed through the API arrive and reach SHIPPED, without a reload', async () => {
    await openSignedIn(page, server, server.tokens.admin);
    await expect.poll(() => page.locator('.state-empty').textContent()).toContain('No orders yet');
    // Marks this document: a reload would lose the mark.
    await inPage(
      page,
      `window.mark = 'same document';
      window.seen = [];
      new MutationObserver(() => {
        for (const row of document.querySelectorAll('tr[data-order-id]')) if (window.seen.at(-1) !== row.dataset.status) window.seen.push(row.dataset.status);
      }).observe(document.body, { subtree: true, childList: true, attributes: true })`,
    );

    const order = await placeOrder(server, { productId: 'lamp' });
    const row = page.locator(`tr[data-order-id="${order.orderId}"]`);
    await row.waitFor();
    await answerPayment(server, order.orderId);
    await expect.poll(() => row.getAttribute('data-status')).toBe('SHIPPED');
    await expect.poll(() => row.locator('.status-cell').textContent()).toBe('SHIPPED');
    await expect.poll(() => page.locator('[data-count-status="SHIPPED"] .count-value').textContent()).toBe('1');

    const { mark, seen } = await inPage<{ mark: string; seen: string[] }>(page, '({ mark: window.mark, seen: window.seen })');
    expect(mark).toBe('same document');
    // The row arrived before the order shipped and moved on as events came in.
    expect(seen[0]).toMatch(/^(PENDING|CONFIRMED|PAID)$/);
    expect(seen.at(-1)).toBe('SHIPPED');
    await screenshot(page, 'orders-live');
  });

  it('filters by status and customer through the URL, and says so when nothing matches', async () => {
    await page.getByLabel('Status', { exact: true }).selectOption('PAYMENT_FAILED');
    await expect.poll(() => hashOf(page)).toBe('#/orders?status=PAYMENT_FAILED');
    await expect.poll(() => page.locator('.state-empty').textContent()).toContain('No orders match these filters');
    await page.getByRole('link', { name: 'Clear filters' }).first().click();
    await page.getByLabel('Customer').fill('customer-001');
    await page.getByRole('button', { name: 'Apply' }).click();
    await expect.poll(() => page.locator('tr[data-order-id]').count()).toBe(1);
  });

  it('shows a declined payment ending in PAYMENT_FAILED, with the stock release as its compensation', async () => {
    const order = await placeOrder(server, { productId: 'lamp', quantity: 2, card: 'tok_chargeDeclined' });
    await answerPayment(server, order.orderId);
    await orderReaches(server, order.orderId, 'PAYMENT_FAILED');
    await go(page, `#/orders/${order.orderId}`);

    await expect.poll(() => page.locator('.order-status').getAttribute('data-status')).toBe('PAYMENT_FAILED');
    await expect.poll(() => page.locator('[data-compensation="stock released"]').textContent()).toContain('lamp × 2');
    const released = page.locator('.timeline li[data-event-type="InventoryReleased"]');
    await expect.poll(() => released.textContent()).toContain('compensation: stock released');
    expect(await released.locator('.cause-link').textContent()).toMatch(/caused by #\d+ OrderPaymentFailed/);
    // The sequence diagram draws every event of the flow, the decline included.
    const types = await page.locator('svg.sequence g.seq-event').evaluateAll((groups) => groups.map((g) => g.getAttribute('data-event-type')));
    expect(types).toEqual(expect.arrayContaining(['OrderPlaced', 'InventoryReserved', 'OrderConfirmed', 'PaymentFailed', 'OrderPaymentFailed', 'InventoryReleased']));
    expect(await page.locator('.timeline > li').count()).toBe(types.length);
    // Each consumer's outcome is shown: inventory handled the failure by releasing the stock.
    expect(await page.locator('.timeline li[data-event-type="OrderPaymentFailed"] [data-consumer="inventory"]').getAttribute('data-outcome')).toBe('handled');
    // A terminal order cannot be cancelled.
    expect(await page.getByRole('button', { name: 'Cancel order' }).count()).toBe(0);
    await screenshot(page, 'order-payment-failed');
  });

  it('shows a delivered order\u2019s return, which an admin approves and receives (damaged) from the page, and its refund', async () => {
    const order = await placeOrder(server, { productId: 'lamp', quantity: 2 });
    await answerPayment(server, order.orderId);
    const { shipmentId } = (await orderReaches(server, order.orderId, 'SHIPPED')) as { shipmentId: string };
    expect((await server.call('POST', `/shipments/${shipmentId}/dispatch`)).status).toBe(200);
    expect((await server.call('POST', `/shipments/${shipmentId}/deliver`)).status).toBe(200);
    await orderReaches(server, order.orderId, 'DELIVERED');
    const requested = await server.call<{ returnId: string }>('POST', `/orders/${order.orderId}/returns`, { lines: [{ productId: 'lamp', quantity: 1 }], reason: 'scratched' });
    expect(requested.status, JSON.stringify(requested.body)).toBe(201);
    const { returnId } = requested.body;

    // The admin moves the return on from the page: approve, then the goods back, damaged.
    await go(page, `#/orders/${order.orderId}`);
    const row = page.locator(`tr[data-return-id="${returnId}"]`);
    await expect.poll(() => row.getAttribute('data-status')).toBe('REQUESTED');
    await row.getByRole('button', { name: 'Approve' }).click();
    await expect.poll(() => row.getAttribute('data-status')).toBe('APPROVED');
    await row.getByLabel('back into stock').uncheck();
    await row.getByRole('button', { name: 'Goods received' }).click();
    await expect.poll(() => row.getAttribute('data-status')).toBe('REFUNDED');
    expect(await row.getByRole('button').count()).toBe(0);
    const text = await row.textContent();
    expect(text).toContain('1 × lamp');
    expect(text).toContain('not restocked (damaged)');
    expect(text).toContain('$25.00');
    expect(text).toContain('scratched');
    // The page reads the order (with its payment) and its returns in requests of their own: the
    // refund on the payment may show a refresh after the return's REFUNDED.
    const facts = page.locator('section[aria-label="Order details"]');
    await expect.poll(() => facts.textContent()).toContain('Refunded$25.00');
    expect(await facts.textContent()).toContain('Ship to');
  });

  it('changes the shipping address and cancels the order from the page while its status allows it', async () => {
    // tok_timeout: the gateway never answers, so the order waits in CONFIRMED.
    const order = await placeOrder(server, { productId: 'lamp', card: 'tok_timeout' });
    await orderReaches(server, order.orderId, 'CONFIRMED');
    await go(page, `#/orders/${order.orderId}`);

    // A new shipping address first, sent with the order's ETag.
    await page.getByRole('button', { name: 'Change shipping address' }).click();
    await page.getByLabel('City').fill('Shelbyville');
    await page.getByLabel('Reason (optional)').fill('customer moved');
    await page.getByRole('button', { name: 'Save address' }).click();
    await expect.poll(() => page.locator('section[aria-label="Order details"]').textContent()).toContain('Shelbyville');
    await expect.poll(() => page.locator('section[aria-labelledby="audit-title"] tr[data-action="OrderUpdated"]').textContent()).toContain('customer moved');
    await page.getByRole('button', { name: 'Cancel order' }).click();
    await page.getByLabel('Reason (optional)').fill('customer changed their mind');
    await page.getByRole('button', { name: 'Confirm cancellation' }).click();
    await expect.poll(() => page.locator('.order-status').getAttribute('data-status')).toBe('CANCELLED');
    await expect.poll(() => page.locator('[data-compensation="stock released"]').count()).toBe(1);
    expect(await page.getByRole('button', { name: 'Cancel order' }).count()).toBe(0);

    // The audit trail: the placement (an admin's API call), the cancellation from this page with
    // its reason, address and the browser's user agent, and the system's steps.
    const audit = page.locator('section[aria-labelledby="audit-title"]');
    await expect.poll(() => audit.locator('tr[data-action="InventoryReleased"]').count()).toBe(1);
    const cancelled = audit.locator('tr[data-action="OrderCancelled"]');
    expect(await cancelled.getAttribute('data-role')).toBe('admin');
    const cancelledText = await cancelled.textContent();
    expect(cancelledText).toContain('customer changed their mind');
    expect(cancelledText).toContain('127.0.0.1');
    expect(cancelledText).toMatch(/Chrome/);
    expect(await audit.locator('tr[data-action="OrderPlaced"]').getAttribute('data-role')).toBe('admin');
    expect(await audit.locator('tr[data-action="InventoryReleased"]').getAttribute('data-role')).toBe('system');
    expect(await audit.locator('tr[data-action="InventoryReleased"] td').nth(2).textContent()).toBe('—');
    await screenshot(page, 'order-audit');
  });

  it('changes the items of a shipped order from the page: the stock is held, the difference charged, then the order shows the new lines', async () => {
    const order = await placeOrder(server, { productId: 'lamp' });
    await answerPayment(server, order.orderId);
    await orderReaches(server, order.orderId, 'SHIPPED');
    await go(page, `#/orders/${order.orderId}`);

    await page.getByRole('button', { name: 'Change items' }).click();
    await page.getByLabel('Quantity of Desk lamp').fill('2');
    await page.getByLabel('Add a product (optional)').fill('shade');
    await page.getByLabel('Why (optional)').fill('a shade too');
    await page.getByRole('button', { name: 'Save items' }).click();
    const details = page.locator('section[aria-label="Order details"]');
    await expect.poll(() => details.textContent(), { timeout: 15_000 }).toContain('applied');
    await go(page, `#/orders/${order.orderId}`);
    const text = (await details.textContent()) ?? '';
    expect(text).toContain('2 × Desk lamp, 1 × Lamp shade');
    expect(text).toContain('Last item edit');
    await expect.poll(() => page.locator('section[aria-labelledby="audit-title"] tr[data-action="OrderUpdated"]').textContent()).toContain('a shade too');
    expect(await page.locator('section[aria-labelledby="audit-title"] tr[data-action="PaymentEditCharged"]').count()).toBe(1);
  });
});
