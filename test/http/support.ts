import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import pino from 'pino';
import { expect } from 'vitest';
import { buildApp, mintToken } from '../../src/http/index.js';
import type { ModuleSettings } from '../../src/composition.js';
import type { TrustProxy } from '../../src/config.js';
import type { EngineOptions } from '../../src/platform/engine.js';
import type { DialectName } from '../../src/platform/storage/database.js';
import { address, createFlowHarness, type FlowHarness } from '../flows/harness.js';
import { eventually } from '../support/kernel-test-module.js';

export const secret = 'test-secret-that-is-at-least-32-characters-long';
export { address, eventually };

/** The four modules on a scratch database, with the HTTP app over them. */
export interface HttpHarness {
  flow: FlowHarness;
  app: FastifyInstance;
  tokens: { admin: string; alice: string; bob: string };
  /** app.inject with JSON in and out, as `who` (a token, or undefined for none). */
  call(method: string, url: string, options?: { token?: string; body?: unknown; headers?: Record<string, string>; remoteAddress?: string }): Promise<LightMyRequestResponse>;
  close(): Promise<void>;
}

export interface HttpHarnessOptions {
  orderRateLimit?: number;
  /** Module settings over the flow harness's (`idempotencyTtlMs`, …). */
  settings?: Partial<ModuleSettings>;
  /** Engine options (a clock, pruning); with a clock, the app's clock is the engine's. */
  engine?: Partial<EngineOptions>;
  /** TRUST_PROXY (default false: the socket's address). */
  trustProxy?: TrustProxy;
}

export async function createHttpHarness(dialect: DialectName, options: HttpHarnessOptions = {}): Promise<HttpHarness> {
  const flow = await createFlowHarness(dialect, options.settings, undefined, { engine: options.engine });
  const clock = options.engine?.clock;
  const app = await buildApp({
    engine: flow.engine,
    apis: flow.apis,
    config: { jwtSecret: secret, orderRateLimit: options.orderRateLimit ?? 0, idempotencyTtlMs: options.settings?.idempotencyTtlMs, trustProxy: options.trustProxy ?? false },
    logger: pino({ level: 'silent' }),
    ...(clock ? { now: () => clock.now() } : {}),
  });
  await app.ready();
  const tokens = {
    admin: mintToken(secret, { sub: 'admin-1', role: 'admin' }),
    alice: mintToken(secret, { sub: 'alice', role: 'customer' }),
    bob: mintToken(secret, { sub: 'bob', role: 'customer' }),
  };
  return {
    flow,
    app,
    tokens,
    call: (method, url, { token, body, headers = {}, remoteAddress } = {}) =>
      app.inject({
        method: method as 'GET',
        url,
        ...(remoteAddress ? { remoteAddress } : {}),
        headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...headers },
        ...(body === undefined ? {} : { payload: body as object }),
      }),
    async close() {
      await app.close();
      await flow.close();
    },
  };
}

/** Waits until the order's status (as an admin reads it through the API) is `status`. */
export function orderReaches(h: HttpHarness, orderId: string, status: string): Promise<void> {
  return eventually(async () => (await h.call('GET', `/orders/${orderId}`, { token: h.tokens.admin })).json().status === status, `order ${orderId} to be ${status}`);
}

/** Asserts a problem-details response of `status` (and `code` when given). */
export function expectProblem(response: LightMyRequestResponse, status: number, code?: string): Record<string, unknown> {
  expect(response.statusCode, response.body).toBe(status);
  expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
  const body = response.json() as Record<string, unknown>;
  expect(body).toMatchObject({ status, type: expect.any(String), title: expect.any(String), detail: expect.any(String), code: expect.any(String) });
  if (code) expect(body.code).toBe(code);
  return body;
}

/** Creates products through the API as admin: widget 99.99 (stock 50), gadget 49.99 (stock 20). */
export async function seedProducts(h: HttpHarness): Promise<void> {
  for (const product of [
    { productId: 'widget', name: 'Widget', price: 99.99, stock: 50, reorderPoint: 2 },
    { productId: 'gadget', name: 'Gadget', price: 49.99, stock: 20 },
  ]) {
    const response = await h.call('POST', '/products', { token: h.tokens.admin, body: product });
    expect(response.statusCode, response.body).toBe(201);
  }
}

export function orderBody(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return { items: [{ productId: 'widget', quantity: 2 }], shippingAddress: address, paymentMethod: { token: 'tok_visa' }, ...overrides };
}

/**
 * Every route the app registered, read from `printRoutes` (Fastify keeps no public list):
 * each tree line is a path segment, indented four characters per level, with its methods.
 */
export function registeredRoutes(app: FastifyInstance): { method: string; url: string }[] {
  const routes: { method: string; url: string }[] = [];
  const stack: string[] = [];
  for (const line of app.printRoutes({ commonPrefix: false }).split('\n')) {
    const match = /^([│├└─\s]*?)(?:[├└]── )(.+?)(?: \(([A-Z, ]+)\))?$/.exec(line);
    if (!match) continue;
    const depth = match[1]!.length / 4;
    stack.length = depth;
    const path = (stack[depth - 1] ?? '') + match[2]!;
    stack[depth] = path;
    for (const method of match[3]?.split(', ') ?? []) routes.push({ method, url: path });
  }
  return routes;
}
