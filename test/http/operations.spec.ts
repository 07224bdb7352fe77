import SwaggerParser from '@apidevtools/swagger-parser';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBusinessModules } from '../../src/composition.js';
import { buildApp, mintToken } from '../../src/http/index.js';
import { createEngine } from '../../src/platform/engine.js';
import { openStorage, type DialectName, type Storage } from '../../src/platform/storage/database.js';
import { fastSettings } from '../flows/harness.js';
import { createScratchDatabase, dialects } from '../support/databases.js';
import { createHttpHarness, eventually, expectProblem, orderBody, registeredRoutes, secret, seedProducts, type HttpHarness } from './support.js';

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/**
 * A strict reader of the Prometheus text exposition format (0.0.4): HELP and TYPE lines,
 * samples `name{label="value",…} value [timestamp]`; every sample must belong to a family
 * declared by a TYPE line (histograms through _bucket, _sum and _count).
 */
function parsePrometheus(text: string): Sample[] {
  const types = new Map<string, string>();
  const samples: Sample[] = [];
  for (const [index, line] of text.split('\n').entries()) {
    if (line.trim() === '') continue;
    const type = /^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram|summary|untyped)$/.exec(line);
    if (type) {
      types.set(type[1]!, type[2]!);
      continue;
    }
    if (/^# HELP [a-zA-Z_:][a-zA-Z0-9_:]* .*$/.test(line)) continue;
    const sample = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? ([-+]?(?:\d+(?:\.\d*)?(?:[eE][-+]?\d+)?|Inf|NaN))(?: -?\d+)?$/.exec(line);
    if (!sample) throw new Error(`line ${index + 1} is not Prometheus text: ${line}`);
    const [, name, rawLabels = '', value] = sample as unknown as [string, string, string | undefined, string];
    const family = types.has(name) ? name : name.replace(/_(bucket|sum|count)$/, '');
    if (!types.has(family)) throw new Error(`line ${index + 1}: sample ${name} has no TYPE`);
    const labels: Record<string, string> = {};
    const labelPattern = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"(,|$)/gy;
    let consumed = 0;
    for (const m of rawLabels.matchAll(labelPattern)) {
      labels[m[1]!] = m[2]!.replace(/\\n/g, '\n').replace(/\\"/g, '"').replace(/\\\\/g, '\\');
      consumed += m[0].length;
    }
    if (consumed !== rawLabels.length) throw new Error(`line ${index + 1}: bad labels {${rawLabels}}`);
    samples.push({ name, labels, value: value === 'Inf' || value === '+Inf' ? Infinity : Number(value) });
  }
  return samples;
}

function valueOf(samples: Sample[], name: string, labels: Record<string, string> = {}): number {
  return samples
    .filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
    .reduce((sum, s) => sum + s.value, 0);
}

describe.each(dialects)('OpenAPI, metrics and health on %s', (dialect) => {
  let h: HttpHarness;
  beforeAll(async () => {
    h = await createHttpHarness(dialect);
    await seedProducts(h);
  });
  afterAll(async () => h?.close());

  it('serves an OpenAPI 3 document that lists every registered route with its schemas', async () => {
    const response = await h.call('GET', '/openapi.json');
    expect(response.statusCode).toBe(200);
    const doc = response.json();
    expect(doc.openapi).toMatch(/^3\.\d+\.\d+$/);
    // A real OpenAPI 3 validator (schema of the specification, $refs, parameters) accepts it.
    await expect(SwaggerParser.validate(structuredClone(doc))).resolves.toBeDefined();
    expect(doc.info).toMatchObject({ title: expect.any(String), version: expect.any(String) });
    expect(doc.components.securitySchemes.bearer).toMatchObject({ type: 'http', scheme: 'bearer' });
    const routes = registeredRoutes(h.app).filter((r) => r.method !== 'HEAD' && !r.url.startsWith('/docs'));
    expect(routes.length).toBeGreaterThanOrEqual(25);
    for (const route of routes) {
      const path = route.url.replace(/:([A-Za-z]+)/g, '{$1}');
      const operation = doc.paths[path]?.[route.method.toLowerCase()];
      expect(operation, `${route.method} ${path} in the document`).toBeDefined();
      expect(Object.keys(operation.responses ?? {}).length, `${route.method} ${path} responses`).toBeGreaterThan(0);
      for (const param of path.match(/\{(\w+)\}/g) ?? []) {
        expect(operation.parameters.some((p: { in: string; name: string }) => p.in === 'path' && `{${p.name}}` === param), `${path} documents ${param}`).toBe(true);
      }
    }
    // Every documented path is a real route, and request bodies carry the validating schema.
    for (const [path, item] of Object.entries<Record<string, unknown>>(doc.paths)) {
      for (const method of Object.keys(item)) {
        expect(routes.some((r) => r.url.replace(/:([A-Za-z]+)/g, '{$1}') === path && r.method.toLowerCase() === method), `${method} ${path} is registered`).toBe(true);
      }
    }
    const placeOrder = doc.paths['/orders'].post;
    const body = placeOrder.requestBody.content['application/json'].schema;
    expect(body).toMatchObject({ type: 'object', additionalProperties: false, required: expect.arrayContaining(['items', 'shippingAddress']) });
    expect(body.properties.items).toMatchObject({ maxItems: 100, items: { properties: { quantity: { minimum: 1, maximum: 1000 } } } });
    expect(placeOrder.security).toEqual([{ bearer: [] }]);
    expect(placeOrder.responses['201']).toBeDefined();
    expect(doc.paths['/health'].get.security).toBeUndefined();
  });

  it('serves the Swagger UI at /docs from bundled assets', async () => {
    const page = await h.call('GET', '/docs/');
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-type']).toMatch(/text\/html/);
    expect(page.body).not.toMatch(/https?:\/\/(unpkg|cdn|cdnjs)/);
    const initializer = await h.call('GET', '/docs/static/swagger-initializer.js');
    expect(initializer.statusCode).toBe(200);
  });

  it('reports the size of the event log (kept forever) and of the database in /metrics', async () => {
    const placed = await h.call('POST', '/orders', { token: h.tokens.alice, body: orderBody() });
    expect(placed.statusCode, placed.body).toBe(201);
    await h.flow.settle();
    // An app of its own: the size is measured at its first scrape, then at most once a minute.
    const app = await buildApp({ engine: h.flow.engine, apis: h.flow.apis, config: { jwtSecret: secret, orderRateLimit: 0 }, logger: pino({ level: 'silent' }) });
    const samples = parsePrometheus((await app.inject({ method: 'GET', url: '/metrics' })).body);
    await app.close();
    const { n } = await h.flow.db.selectFrom('events').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    expect(Number(n)).toBeGreaterThanOrEqual(7);
    expect(valueOf(samples, 'orderflow_event_log_events')).toBe(Number(n));
    expect(valueOf(samples, 'orderflow_database_bytes')).toBeGreaterThan(4096);
    if (dialect === 'postgres') expect(valueOf(samples, 'orderflow_event_log_bytes')).toBeGreaterThan(8192);
    else expect(samples.some((s) => s.name === 'orderflow_event_log_bytes')).toBe(false);
  });

  it('exposes Prometheus text whose counters move when an order flows to SHIPPED', async () => {
    const before = parsePrometheus((await h.call('GET', '/metrics')).body);
    const placed = await h.call('POST', '/orders', { token: h.tokens.alice, body: orderBody() });
    expect(placed.statusCode, placed.body).toBe(201);
    const orderId = placed.json().orderId;
    await eventually(async () => (await h.call('GET', `/orders/${orderId}`, { token: h.tokens.alice })).json().status === 'SHIPPED', 'the order to ship');
    // A delivery counter moves once its transaction has committed, when the new status may
    // already be visible to this test: read the metrics once every consumer is done.
    await h.flow.settle();

    const response = await h.call('GET', '/metrics');
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
    const after = parsePrometheus(response.body);
    const moved = (name: string, labels: Record<string, string>) => valueOf(after, name, labels) - valueOf(before, name, labels);
    expect(moved('orderflow_events_appended_total', { event_type: 'OrderPlaced' })).toBe(1);
    // Events emitted by handlers count too, once each.
    for (const type of ['InventoryReserved', 'OrderConfirmed', 'PaymentProcessed', 'OrderPaid', 'ShipmentCreated', 'OrderShipped']) {
      expect(moved('orderflow_events_appended_total', { event_type: type }), type).toBe(1);
    }
    expect(moved('orderflow_saga_duration_seconds_count', { outcome: 'completed' })).toBe(1);
    // Each step of the flow was delivered to the consumer that takes the next step.
    for (const [type, consumer] of [['OrderPlaced', 'inventory'], ['InventoryReserved', 'orders'], ['OrderConfirmed', 'payments'], ['PaymentProcessed', 'orders'], ['OrderPaid', 'shipments'], ['ShipmentCreated', 'orders']]) {
      expect(moved('orderflow_events_delivered_total', { event_type: type!, consumer: consumer!, outcome: 'handled' }), `${type} → ${consumer}`).toBe(1);
    }
    const posted = { method: 'POST', route: '/orders', status: '201' };
    expect(valueOf(after, 'orderflow_http_requests_total', posted) - valueOf(before, 'orderflow_http_requests_total', posted)).toBe(1);
    expect(valueOf(after, 'orderflow_orders', { status: 'SHIPPED' })).toBeGreaterThanOrEqual(1);
    expect(after.some((s) => s.name === 'orderflow_handler_duration_seconds_bucket' && s.labels.le === '+Inf')).toBe(true);
    expect(valueOf(after, 'orderflow_dead_letters_open')).toBe(0);
  });

  it('is live and ready while the database answers', async () => {
    expect((await h.call('GET', '/health')).json()).toEqual({ status: 'ok' });
    const ready = await h.call('GET', '/health/ready');
    expect(ready.statusCode).toBe(200);
    expect(ready.json()).toMatchObject({ status: 'ready', dependencies: { storage: { ok: true }, transport: { ok: true } } });
  });

  it('logs one JSON line per request with the order ids, never a token; a 500 hides its cause', async () => {
    const lines: string[] = [];
    const logger = pino({ level: 'debug' }, { write: (line: string) => void lines.push(line) });
    const failing = { ...h.flow.apis, payments: { ...h.flow.apis.payments, getPaymentForOrder: async () => Promise.reject(new Error('boom: payments table on fire')) } };
    const app = await buildApp({ engine: h.flow.engine, apis: failing, config: { jwtSecret: secret, orderRateLimit: 0 }, logger });
    const auth = { authorization: `Bearer ${h.tokens.alice}` };
    let ids: { orderId: string; correlationId: string } | undefined;
    try {
      const placed = await app.inject({ method: 'POST', url: '/orders', headers: auth, payload: orderBody() });
      expect(placed.statusCode).toBe(201);
      ids = { orderId: placed.json().orderId, correlationId: placed.json().correlationId };
      const broken = await app.inject({ method: 'GET', url: `/orders/${ids.orderId}`, headers: auth });
      const problem = expectProblem(broken, 500, 'INTERNAL');
      expect(broken.body).not.toMatch(/boom|on fire|\.ts:\d+|at /);
      expect(problem.detail).toMatch(/unexpected/);
      await app.inject({ method: 'GET', url: '/orders', headers: { authorization: 'Bearer not.a.token' } });
    } finally {
      await app.close();
    }
    const entries = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.join('\n')).not.toContain(h.tokens.alice.split('.')[2]);
    expect(lines.join('\n')).not.toContain('not.a.token');
    const post = entries.find((e) => e.msg === 'request completed' && e.route === '/orders' && e.method === 'POST');
    expect(post).toMatchObject({ statusCode: 201, ...ids, caller: 'alice' });
    const failure = entries.find((e) => e.msg === 'request failed');
    expect(failure).toMatchObject({ code: 'INTERNAL', ...ids, err: { message: expect.stringContaining('boom'), stack: expect.any(String) } });
  });

  it('answers unknown routes with a 404 problem', async () => {
    expectProblem(await h.call('GET', '/nope', { token: h.tokens.admin }), 404, 'ROUTE_NOT_FOUND');
    expectProblem(await h.call('DELETE', '/orders'), 404, 'ROUTE_NOT_FOUND');
  });
});

describe.each(dialects)('an unreachable database on %s', (dialect) => {
  it('makes /health/ready 503 with the reason, and data routes 503 problems', async () => {
    const { storage, cleanup } = await deadStorage(dialect);
    try {
      const modules = createBusinessModules(fastSettings);
      const engine = createEngine({ storage, modules: modules.engineModules([]) });
      const app = await buildApp({ engine, apis: modules.connect(engine.runtime), config: { jwtSecret: secret, orderRateLimit: 0 }, logger: pino({ level: 'silent' }) });
      const admin = mintToken(secret, { sub: 'admin-1', role: 'admin' });

      const ready = await app.inject({ method: 'GET', url: '/health/ready' });
      const problem = expectProblem(ready, 503, 'NOT_READY');
      expect(problem.dependencies).toMatchObject({ storage: { ok: false, detail: expect.stringContaining(dialect) }, transport: { ok: true } });
      expect(ready.headers['retry-after']).toBeDefined();

      const orders = await app.inject({ method: 'GET', url: '/orders', headers: { authorization: `Bearer ${admin}` } });
      expectProblem(orders, 503, 'STORAGE_UNAVAILABLE');
      expect((await app.inject({ method: 'GET', url: '/health' })).statusCode).toBe(200);
      expect((await app.inject({ method: 'GET', url: '/metrics' })).statusCode).toBe(200);
      await app.close();
    } finally {
      await cleanup();
    }
  });
});

/** Storage whose database cannot be reached: a closed SQLite file, or PostgreSQL on a dead port. */
async function deadStorage(dialect: DialectName): Promise<{ storage: Storage; cleanup: () => Promise<void> }> {
  if (dialect === 'postgres') {
    const storage = await openStorage('postgres://postgres@127.0.0.1:1/nowhere', { connectTimeoutMs: 500 });
    return { storage, cleanup: () => storage.close() };
  }
  const scratch = await createScratchDatabase('sqlite');
  const storage = await scratch.open();
  // Kysely only really closes a database it has used.
  await storage.ping();
  await storage.close();
  return { storage, cleanup: () => scratch.drop() };
}
