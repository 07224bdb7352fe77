import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pino from 'pino';
import { chromium, type Browser, type Page } from 'playwright-core';
import { expect } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { mintToken } from '../../src/http/index.js';
import { startOrderflow, type Orderflow } from '../../src/main.js';
import { GATEWAY_ANSWER_TIMER } from '../../src/modules/payments/index.js';
import { eventually } from '../support/kernel-test-module.js';

export { eventually };

/** Debian's Chromium; `.ci/run` installs the package when it is missing. */
export const CHROMIUM = '/usr/bin/chromium';
/** Where the console tests write their screenshots (one PNG per view and width). */
export const SCREENSHOTS = fileURLToPath(new URL('../../test-results/console', import.meta.url));
const root = fileURLToPath(new URL('../..', import.meta.url));
const secret = 'console-test-secret-that-is-at-least-32-characters';

/**
 * Whether the browser suites can run. In CI a missing Chromium fails them with a message
 * saying how to install it; on a developer's machine they are skipped with the same message.
 */
export function browserAvailable(): boolean {
  if (existsSync(CHROMIUM)) return true;
  const message = `Chromium is missing at ${CHROMIUM}: install Debian's package (apt-get install -y chromium); .ci/run does it`;
  if (process.env.CI) throw new Error(message);
  console.warn(`console tests skipped: ${message}`);
  return false;
}

/** Builds the console with Vite when web/dist is missing (npm ci builds it through `prepare`). */
export function ensureConsoleBuilt(): void {
  if (existsSync(join(root, 'web', 'dist', 'index.html'))) return;
  execFileSync('npm', ['run', 'build:web'], { cwd: root, stdio: 'inherit' });
}

/** Headless Chromium with the flags this machine needs (no sandbox as root, no background network). */
export function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

/** orderflow as `npm start` runs it (the composition root, HTTP on a real port), on a scratch SQLite file. */
export interface ConsoleServer {
  base: string;
  orderflow: Orderflow;
  tokens: { admin: string; customer: string; other: string };
  /** Calls the API as `token` (admin by default); JSON in and out. */
  call<T = Record<string, unknown>>(method: string, path: string, body?: unknown, token?: string): Promise<{ status: number; body: T }>;
  close(): Promise<void>;
}

export async function startConsoleServer(env: Record<string, string> = {}): Promise<ConsoleServer> {
  const dir = mkdtempSync(join(tmpdir(), 'orderflow-console-'));
  const config = loadConfig({
    DATABASE_URL: `sqlite:${join(dir, 'orderflow.db')}`,
    PORT: '0',
    JWT_SECRET: secret,
    LOG_LEVEL: 'silent',
    PAYMENT_SUCCESS_RATE: '1',
    ORDER_RATE_LIMIT: '0',
    DELIVERY_RETRY_BASE_MS: '50',
    // An order a test leaves CONFIRMED (tok_timeout) must stay so while the browser works on it.
    SAGA_TIMEOUT_MS: '600000',
    ...env,
  });
  const orderflow = await startOrderflow(config, { logger: pino({ level: 'silent' }) });
  const base = `http://127.0.0.1:${new URL(orderflow.address!).port}`;
  const tokens = {
    admin: mintToken(secret, { sub: 'ops-admin', role: 'admin' }),
    customer: mintToken(secret, { sub: 'customer-001', role: 'customer' }),
    other: mintToken(secret, { sub: 'customer-002', role: 'customer' }),
  };
  const call: ConsoleServer['call'] = async (method, path, body, token = tokens.admin) => {
    const response = await fetch(base + path, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    return { status: response.status, body: (text ? JSON.parse(text) : undefined) as never };
  };
  return {
    base,
    orderflow,
    tokens,
    call,
    async close() {
      await orderflow.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export const address = { street: '1 Main St', city: 'Springfield', postalCode: '12345', country: 'US' };

/** Places an order for customer-001 through the API as admin; returns the order. */
export async function placeOrder(server: ConsoleServer, options: { productId: string; quantity?: number; card?: string }): Promise<{ orderId: string; orderNumber: string; correlationId: string; sagaId: string }> {
  const response = await server.call<{ orderId: string; orderNumber: string; correlationId: string; sagaId: string }>('POST', '/orders', {
    customerId: 'customer-001',
    items: [{ productId: options.productId, quantity: options.quantity ?? 1 }],
    shippingAddress: address,
    paymentMethod: { token: options.card ?? 'tok_visa' },
  });
  expect(response.status, JSON.stringify(response.body)).toBe(201);
  return response.body;
}

/** Creates a product through the API. */
export async function createProduct(server: ConsoleServer, product: { productId: string; name: string; stock: number; reorderPoint?: number; price?: number }): Promise<void> {
  const response = await server.call('POST', '/products', { price: 10, ...product });
  expect(response.status, JSON.stringify(response.body)).toBe(201);
}

/** Polls `probe` until it returns a value (not undefined); returns it. */
export async function waitForValue<T>(probe: () => Promise<T | undefined>, what: string, timeoutMs?: number): Promise<T> {
  let value: T | undefined;
  await eventually(async () => (value = await probe()) !== undefined, what, timeoutMs);
  return value!;
}

/**
 * On a server whose gateway answers late (PAYMENT_LATENCY_MS far off), makes the answer to the
 * order's charge due now: the test decides when the order moves on, not a race with the browser.
 */
export async function answerPayment(server: ConsoleServer, orderId: string): Promise<void> {
  const { engine, apis } = server.orderflow;
  const payment = await waitForValue(async () => {
    const found = await apis.payments.getPaymentForOrder(orderId);
    return found?.status === 'pending' ? found : undefined;
  }, `the charge of ${orderId} to wait for the gateway`);
  const key = `${GATEWAY_ANSWER_TIMER}:${payment.paymentId}`;
  const timer = (await engine.timers.get(key))!;
  await engine.unitOfWork.run('test', (tx) => tx.schedule({ key, kind: timer.kind, dueAt: tx.now, payload: timer.payload }));
}

/** Waits until the order has `status`, through the API. */
export async function orderReaches(server: ConsoleServer, orderId: string, status: string): Promise<Record<string, unknown>> {
  let order: Record<string, unknown> = {};
  await eventually(async () => {
    order = (await server.call('GET', `/orders/${orderId}`)).body;
    return order.status === status;
  }, `order ${orderId} to reach ${status}`);
  return order;
}

// The page's own globals (location, document…) are not in this Node project's types: code
// that runs in the page is passed to it as text.

/** Evaluates a JavaScript expression in the page. */
export function inPage<T>(page: Page, expression: string): Promise<T> {
  return page.evaluate(expression) as Promise<T>;
}

/** The page's hash route. */
export function hashOf(page: Page): Promise<string> {
  return inPage(page, 'location.hash');
}

/** Goes to a hash route in the same document, as a click on a link would. */
export async function go(page: Page, hash: string): Promise<void> {
  await inPage(page, `location.hash = ${JSON.stringify(hash)}`);
}

/** Opens the console signed in through the `#token=` link, as the start-up banner prints it. */
export async function openSignedIn(page: Page, server: ConsoleServer, token: string, view = 'orders'): Promise<void> {
  await page.goto(`${server.base}/#token=${token}`);
  // The page stores the token and replaces the fragment with the orders route.
  await page.waitForFunction("location.hash === '#/orders' && sessionStorage.length === 1");
  if (view !== 'orders') await go(page, `#/${view}`);
}

/** Writes a screenshot to SCREENSHOTS/<name>.png and returns its path. */
export async function screenshot(page: Page, name: string, fullPage = true): Promise<string> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  const path = join(SCREENSHOTS, `${name}.png`);
  await page.screenshot({ path, fullPage });
  return path;
}
