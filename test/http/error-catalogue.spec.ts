import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ERROR_CATALOGUE, isErrorCode, type ErrorCode } from '../../src/kernel/errors.js';
import { createHttpHarness, orderBody, seedProducts, type HttpHarness } from './support.js';

const src = fileURLToPath(new URL('../../src', import.meta.url));
const catalogueFile = join('kernel', 'error-catalogue.ts');
const sources = readdirSync(src, { recursive: true, encoding: 'utf8' })
  .filter((p) => p.endsWith('.ts') && !p.endsWith('.spec.ts') && p !== catalogueFile)
  .map((p) => ({ path: p, text: readFileSync(join(src, p), 'utf8') }));
const codes = Object.keys(ERROR_CATALOGUE) as ErrorCode[];
const apiCodes = codes.filter((c) => ERROR_CATALOGUE[c].api);

describe('one error catalogue', () => {
  it('every code thrown or answered in src/ is in the catalogue, and every catalogue code is used', () => {
    // Throw sites: AppError(kind, CODE), appError(CODE), problem(CODE) and the helpers that take a code, over one or several lines.
    const site = /(?:AppError\(\s*'[a-z_]+',\s*|appError\(\s*|problem\(\s*|toAppError\([^,]+,\s*)'([A-Z][A-Z0-9_]*)'/g;
    const thrown = new Set(sources.flatMap(({ text }) => [...text.matchAll(site)].map((m) => m[1]!)));
    expect(thrown.size).toBeGreaterThan(40);
    expect([...thrown].filter((code) => !isErrorCode(code))).toEqual([]);
    const unused = codes.filter((code) => !sources.some(({ text }) => text.includes(`'${code}'`)));
    expect(unused).toEqual([]);
  });

  it('the merged duplicates are gone: one code per mistake', () => {
    for (const gone of ['BAD_CURSOR', 'BAD_LIMIT', 'DATABASE_UNAVAILABLE']) {
      expect(isErrorCode(gone), gone).toBe(false);
      expect(sources.filter(({ text }) => text.includes(`'${gone}'`)).map((s) => s.path), gone).toEqual([]);
    }
    expect(ERROR_CATALOGUE.IDEMPOTENCY_KEY_REUSED).toMatchObject({ kind: 'validation', status: 422 });
  });

  it('the README lists every code, an API one with its status', () => {
    const readme = readFileSync(fileURLToPath(new URL('../../README.md', import.meta.url)), 'utf8');
    for (const code of apiCodes) expect(readme, code).toContain(`| \`${code}\` | ${ERROR_CATALOGUE[code].status} |`);
    for (const code of codes.filter((c) => !ERROR_CATALOGUE[c].api)) expect(readme, code).toContain(`\`${code}\``);
  });

  it('each code has one kind, one status of its class, a title and what to do', () => {
    const statusOfKind = { validation: /^4(00|13|15|22|28)$/, not_found: /^404$/, conflict: /^409$/, forbidden: /^403$/, unauthorized: /^401$/, unavailable: /^(429|503)$/, internal: /^500$/ };
    for (const code of apiCodes) {
      const { kind, status, title, action } = ERROR_CATALOGUE[code];
      expect(String(status), `${code} (${kind})`).toMatch(statusOfKind[kind]);
      expect(title.length, code).toBeGreaterThan(3);
      expect(action.length, code).toBeGreaterThan(3);
    }
  });
});

describe.each(['sqlite'] as const)('the API answers with the catalogue (%s)', (dialect) => {
  let h: HttpHarness;
  beforeAll(async () => {
    h = await createHttpHarness(dialect);
    await seedProducts(h);
  });
  afterAll(async () => h?.close());

  it('lists every API code, with its one status, in the OpenAPI document', async () => {
    const doc = (await h.call('GET', '/openapi.json')).json();
    const schema = doc.components.schemas.ErrorCode as { enum: string[]; 'x-error-catalogue': Record<string, { status: number; title: string; action: string }> };
    expect(schema.enum).toEqual(apiCodes);
    for (const code of apiCodes) {
      const { status, title, action } = ERROR_CATALOGUE[code];
      expect(schema['x-error-catalogue'][code], code).toEqual({ status, title, action });
    }
  });

  it('answers /problems/<code> for every code, as JSON and as a page for a browser', async () => {
    const list = await h.call('GET', '/problems');
    expect(list.statusCode).toBe(200);
    expect((list.json() as { code: string }[]).map((t) => t.code)).toEqual(apiCodes);
    for (const code of codes) {
      const json = await h.call('GET', `/problems/${code}`, { headers: { accept: 'application/json' } });
      const { status, title, action } = ERROR_CATALOGUE[code];
      expect(json.statusCode, code).toBe(200);
      expect(json.json(), code).toEqual({ code, status, title, action, type: `/problems/${code}` });
      const page = await h.call('GET', `/problems/${code}`, { headers: { accept: 'text/html,application/xhtml+xml,*/*;q=0.8' } });
      expect(page.headers['content-type'], code).toMatch(/^text\/html/);
      expect(page.body, code).toContain(`<code>${code}</code>`);
    }
    expect((await h.call('GET', '/problems/order-not-found')).json()).toMatchObject({ code: 'ORDER_NOT_FOUND' });
    expect((await h.call('GET', '/problems/NO_SUCH_CODE')).statusCode).toBe(404);
  });

  it('every problem it answers names a catalogue code with that code’s status, title and page', async () => {
    const { admin, alice } = h.tokens;
    const json = { 'content-type': 'application/json' };
    const placed = await h.call('POST', '/orders', { token: alice, body: orderBody(), headers: { 'idempotency-key': 'k-1' } });
    expect(placed.statusCode).toBe(201);
    const answers = await Promise.all([
      h.call('GET', '/no/such/route', { headers: { accept: 'application/json' } }),
      h.call('GET', '/orders'),
      h.call('GET', '/orders', { token: 'not.a.token' }),
      h.call('GET', '/api/events', { token: alice }),
      h.call('GET', '/orders/nope', { token: alice }),
      h.call('GET', '/orders?cursor=not-a-cursor', { token: admin }),
      h.call('GET', '/products?cursor=not-a-cursor', { token: admin }),
      h.call('POST', '/orders', { token: alice, body: { items: [] } }),
      h.call('POST', '/orders', { token: alice, body: '{"items": [', headers: json }),
      h.call('POST', '/orders', { token: alice, body: '<items/>', headers: { 'content-type': 'application/xml' } }),
      h.call('POST', '/orders', { token: alice, body: orderBody({ items: [{ productId: 'widget', quantity: 3 }] }), headers: { 'idempotency-key': 'k-1' } }),
      h.call('POST', '/orders', { token: alice, body: orderBody({ items: [{ productId: 'ghost', quantity: 1 }] }) }),
      h.call('POST', '/products/widget/stock', { token: admin, body: { delta: -1000, reason: 'count' } }),
    ]);
    const seen = new Map<string, number>();
    for (const answer of answers) {
      expect(answer.headers['content-type'], answer.body).toMatch(/^application\/problem\+json/);
      const body = answer.json() as { code: string; status: number; title: string; type: string };
      expect(isErrorCode(body.code) && ERROR_CATALOGUE[body.code].api, body.code).toBe(true);
      const definition = ERROR_CATALOGUE[body.code as ErrorCode];
      expect({ status: answer.statusCode, body: body.status, title: body.title, type: body.type }, body.code).toEqual({
        status: definition.status,
        body: definition.status,
        title: definition.title,
        type: `/problems/${body.code}`,
      });
      expect((await h.call('GET', body.type)).statusCode, body.type).toBe(200);
      seen.set(body.code, answer.statusCode);
    }
    expect(Object.fromEntries(seen)).toEqual({
      ROUTE_NOT_FOUND: 404,
      UNAUTHENTICATED: 401,
      TOKEN_INVALID: 401,
      ADMIN_ONLY: 403,
      ORDER_NOT_FOUND: 404,
      // The orders and the products lists once had INVALID_CURSOR and BAD_CURSOR for this.
      INVALID_CURSOR: 422,
      VALIDATION_FAILED: 400,
      MALFORMED_JSON: 400,
      UNSUPPORTED_MEDIA_TYPE: 415,
      IDEMPOTENCY_KEY_REUSED: 422,
      UNKNOWN_PRODUCT: 422,
      INSUFFICIENT_STOCK: 409,
    });
  });
});
