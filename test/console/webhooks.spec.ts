import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { browserAvailable, createProduct, ensureConsoleBuilt, eventually, launchBrowser, openSignedIn, placeOrder, screenshot, startConsoleServer, type ConsoleServer } from './support.js';

interface Delivery {
  deliveryId: string;
  eventType: string;
  status: string;
}

describe.skipIf(!browserAvailable())('console: webhooks, in Chromium', () => {
  let server: ConsoleServer;
  let browser: Browser;
  let page: Page;
  let receiver: Server;
  let receiverUrl: string;
  const received: { webhookId: string; eventType: string }[] = [];

  beforeAll(async () => {
    ensureConsoleBuilt();
    receiver = createServer((request, response) => {
      let body = '';
      request.on('data', (chunk: Buffer) => (body += chunk.toString()));
      request.on('end', () => {
        received.push({ webhookId: String(request.headers['webhook-id']), eventType: (JSON.parse(body) as { eventType: string }).eventType });
        response.writeHead(204).end();
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hooks`;
    server = await startConsoleServer({ WEBHOOK_ALLOW_HTTP: 'true', WEBHOOK_ALLOW_PRIVATE: 'true' });
    await createProduct(server, { productId: 'lamp', name: 'Lamp', stock: 40 });
    browser = await launchBrowser();
    page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  });
  afterAll(async () => {
    await browser?.close();
    await server?.close();
    receiver?.closeAllConnections();
    await new Promise((resolve) => receiver?.close(resolve));
  });

  it('7. creates an endpoint (its secret shown once), shows its deliveries, re-sends one with the same webhook-id', async () => {
    await openSignedIn(page, server, server.tokens.admin, 'webhooks');
    await page.getByLabel('URL', { exact: true }).fill(receiverUrl);
    await page.getByLabel('Description', { exact: true }).fill('ERP');
    await page.getByLabel('OrderPlaced', { exact: true }).check();
    await page.getByLabel('OrderShipped', { exact: true }).check();
    await page.getByRole('button', { name: 'Register' }).click();
    const secret = await page.locator('[data-secret]').textContent();
    expect(secret).toMatch(/^whsec_/);
    const row = page.locator('tr[data-webhook-id]');
    await row.waitFor();
    const webhookId = (await row.getAttribute('data-webhook-id'))!;
    expect(await row.textContent()).toContain('OrderPlaced, OrderShipped');
    // The secret is in no answer of the API after the creation.
    expect(JSON.stringify((await server.call('GET', `/webhooks/${webhookId}`)).body)).not.toContain(secret);

    const order = await placeOrder(server, { productId: 'lamp' });
    await row.getByRole('link', { name: receiverUrl }).click();
    const delivered = page.locator('tr[data-delivery-id][data-status="delivered"]');
    await expect.poll(() => delivered.count()).toBe(2);
    expect(await page.locator('tr[data-delivery-id]').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-event-type')))).toEqual(['OrderShipped', 'OrderPlaced']);
    await screenshot(page, 'webhook-endpoint');

    const placed = page.locator('tr[data-delivery-id][data-event-type="OrderPlaced"]');
    const deliveryId = (await placed.getAttribute('data-delivery-id'))!;
    expect(received.filter((r) => r.webhookId === deliveryId)).toHaveLength(1);
    await placed.getByRole('button', { name: 'Re-send' }).click();
    await expect.poll(() => page.getByRole('status').filter({ hasText: 'Re-sent OrderPlaced' }).count()).toBe(1);
    await eventually(async () => received.filter((r) => r.webhookId === deliveryId).length === 2, 'the re-sent delivery to arrive');
    // The receiver has it; the sender records the answer just after: wait for that, not for time.
    const statusOfResent = async () => (await server.call<{ deliveries: Delivery[] }>('GET', `/webhooks/${webhookId}/deliveries`)).body.deliveries.find((d) => d.deliveryId === deliveryId)?.status;
    await expect.poll(statusOfResent).toBe('delivered');
    expect(received.map((r) => r.eventType)).toEqual(['OrderPlaced', 'OrderShipped', 'OrderPlaced']);
    expect(order.orderId).toBeTruthy();
  });
});
