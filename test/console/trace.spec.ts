import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startOtlpReceiver, type OtlpReceiver } from '../support/otlp-receiver.js';
import { browserAvailable, createProduct, ensureConsoleBuilt, go, launchBrowser, openSignedIn, orderReaches, placeOrder, screenshot, startConsoleServer, type ConsoleServer } from './support.js';

// Issue 13: with tracing on, the Order view shows the order's trace id, linked to the tracing tool.
describe.skipIf(!browserAvailable())('console: the trace of an order, in Chromium', () => {
  let receiver: OtlpReceiver;
  let server: ConsoleServer;
  let browser: Browser;
  let page: Page;

  beforeAll(async () => {
    ensureConsoleBuilt();
    receiver = await startOtlpReceiver();
    server = await startConsoleServer({ OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_TRACE_URL: 'http://jaeger.example:16686/trace/{traceId}' });
    await createProduct(server, { productId: 'lamp', name: 'Desk lamp', stock: 50, price: 25 });
    browser = await launchBrowser();
    page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  });
  afterAll(async () => {
    await browser?.close();
    await server?.close();
    await receiver?.close();
  });

  it('shows the trace id of the order in its view, linked through OTEL_TRACE_URL', async () => {
    const order = await placeOrder(server, { productId: 'lamp' });
    await orderReaches(server, order.orderId, 'SHIPPED');
    const timeline = await server.call<{ trace: { traceId: string; url: string } | null }>('GET', `/orders/${order.orderId}/timeline`);
    const traceId = timeline.body.trace?.traceId;
    expect(traceId).toMatch(/^[\da-f]{32}$/);

    await openSignedIn(page, server, server.tokens.admin);
    await go(page, `#/orders/${order.orderId}`);
    const link = page.locator('a.trace-id');
    await link.waitFor();
    expect(await link.textContent()).toBe(traceId);
    expect(await link.getAttribute('href')).toBe(`http://jaeger.example:16686/trace/${traceId}`);
    expect(await page.locator('dt', { hasText: 'Trace' }).count()).toBe(1);
    await screenshot(page, 'order-trace');
  });
});
