import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { get } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp, type AppDeps } from '../../src/http/index.js';
import { dialects } from '../support/databases.js';
import { createHttpHarness, eventually, expectProblem, orderBody, secret, seedProducts, type HttpHarness } from './support.js';

interface Frame {
  id?: string;
  event?: string;
  data?: string;
  comment?: string;
}

/** Splits a text/event-stream body into its frames (blank-line separated). */
function frames(text: string): Frame[] {
  return text
    .split('\n\n')
    .filter((block) => block.trim() !== '')
    .map((block) => {
      const frame: Frame = {};
      for (const line of block.split('\n')) {
        const [field, ...rest] = line.split(':');
        const value = rest.join(':').replace(/^ /, '');
        if (field === '') frame.comment = value;
        else if (field === 'id' || field === 'event' || field === 'data') frame[field] = value;
      }
      return frame;
    });
}

const envelopes = (text: string) => frames(text).filter((f) => f.data !== undefined && f.event === undefined).map((f) => ({ id: f.id, event: JSON.parse(f.data!) }));

async function appOver(h: HttpHarness, extra: Partial<AppDeps>): Promise<FastifyInstance> {
  const app = await buildApp({ engine: h.flow.engine, apis: h.flow.apis, config: { jwtSecret: secret, orderRateLimit: 0 }, logger: pino({ level: 'silent' }), ...extra });
  await app.ready();
  return app;
}

describe.each(dialects)('GET /api/stream and GET /api/throughput on %s', (dialect) => {
  let h: HttpHarness;
  let order: { orderId: string; correlationId: string };

  beforeAll(async () => {
    h = await createHttpHarness(dialect);
    await seedProducts(h);
    const placed = await h.call('POST', '/orders', { token: h.tokens.alice, body: orderBody() });
    order = placed.json();
    await eventually(async () => (await h.flow.apis.orders.getOrder(order.orderId))?.status === 'SHIPPED', 'the order to ship');
    await h.flow.settle();
  });
  afterAll(async () => h?.close());

  it('replays the log after ?after= as SSE frames whose id is the sequence, filtered by correlationId or eventType', async () => {
    const response = await h.call('GET', `/api/stream?after=0&follow=false&correlationId=${order.correlationId}`, { token: h.tokens.admin });
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toMatch(/^text\/event-stream/);
    expect(response.headers['cache-control']).toMatch(/no-cache/);
    const flow = (await h.flow.engine.log.query({ correlationId: order.correlationId })).events;
    const sent = envelopes(response.body);
    expect(sent.map((s) => s.event.eventId)).toEqual(flow.map((e) => e.eventId));
    expect(sent.every((s) => s.id === String(s.event.sequence) && s.event.correlationId === order.correlationId)).toBe(true);
    expect(sent.map((s) => s.event.eventType)).toContain('OrderShipped');

    const placedOnly = envelopes((await h.call('GET', '/api/stream?after=0&follow=false&eventType=OrderPlaced', { token: h.tokens.admin })).body);
    expect(placedOnly.map((s) => s.event.eventType)).toEqual(['OrderPlaced']);
  });

  it('resumes after Last-Event-ID (which wins over ?after=), and starts at the head when given neither', async () => {
    const all = envelopes((await h.call('GET', '/api/stream?after=0&follow=false', { token: h.tokens.admin })).body);
    const third = all[2]!.event.sequence as number;
    const resumed = envelopes((await h.call('GET', '/api/stream?after=0&follow=false', { token: h.tokens.admin, headers: { 'last-event-id': String(third) } })).body);
    expect(resumed.map((s) => s.event.sequence)).toEqual(all.slice(3).map((s) => s.event.sequence));

    const fromHead = await h.call('GET', '/api/stream?follow=false', { token: h.tokens.admin });
    expect(envelopes(fromHead.body)).toEqual([]);
    // The resume point is announced before any event: a client that reconnects misses nothing.
    expect(frames(fromHead.body)[0]!.id).toBe(String(await h.flow.engine.log.head()));
    expectProblem(await h.call('GET', '/api/stream', { token: h.tokens.admin, headers: { 'last-event-id': 'yesterday' } }), 400);
  });

  it('follows new events on a real port within a moment, sends heartbeats, and ends when the server closes', async () => {
    const app = await appOver(h, { stream: { heartbeatMs: 100 } });
    const address = await app.listen({ port: 0, host: '127.0.0.1' });
    const response = await fetch(`${address}/api/stream?eventType=OrderPlaced`, { headers: { authorization: `Bearer ${h.tokens.admin}` } });
    expect(response.status).toBe(200);
    const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
    let text = '';
    const readUntil = async (done: () => boolean) => {
      while (!done()) {
        const chunk = await reader.read();
        if (chunk.done) return;
        text += chunk.value;
      }
    };
    await readUntil(() => text.includes('following the log'));
    const placedAt = Date.now();
    const placed = (await h.call('POST', '/orders', { token: h.tokens.bob, body: orderBody() })).json();
    await readUntil(() => text.includes(placed.orderId));
    expect(Date.now() - placedAt).toBeLessThan(2000);
    expect(envelopes(text).map((s) => s.event.eventType)).toEqual(['OrderPlaced']);
    await readUntil(() => /: heartbeat /.test(text));

    const closing = Date.now();
    await app.close();
    expect(Date.now() - closing).toBeLessThan(2000);
    expect(await reader.read().then((r) => r.done)).toBe(true);
  });

  it('stops following the log once the client goes away', async () => {
    const app = await appOver(h, { stream: { pollMs: 20 } });
    const log = h.flow.engine.log;
    const head = log.head;
    let reads = 0;
    log.head = async () => (reads++, head.call(log));
    try {
      const address = await app.listen({ port: 0, host: '127.0.0.1' });
      // node:http rather than fetch, whose pool opens a spare connection that delays close.
      const request = get(`${address}/api/stream`, { headers: { authorization: `Bearer ${h.tokens.admin}` } });
      await new Promise((resolve) => request.once('response', resolve));
      await eventually(async () => reads > 3, 'the stream to watch the log head');
      request.destroy();
      // The server has seen the client go (its stream ends on the connection's close), then nothing more is read.
      const connections = () => new Promise<number>((resolve, reject) => app.server.getConnections((error, n) => (error ? reject(error) : resolve(n))));
      await eventually(async () => (await connections()) === 0, 'the server to see the client go');
      const after = reads;
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(reads).toBe(after);
    } finally {
      log.head = head;
      await app.close();
    }
  });

  it('samples orders/s, events/s, consumer lag and dead letters for the charts', async () => {
    const app = await appOver(h, { throughput: { intervalMs: 100 } });
    try {
      const call = async () => (await app.inject({ method: 'GET', url: '/api/throughput', headers: { authorization: `Bearer ${h.tokens.admin}` } })).json();
      const first = await call();
      expect(first).toMatchObject({ intervalMs: 100, samples: [{ events: 0, orders: 0, deadLetters: 0 }] });
      await h.call('POST', '/orders', { token: h.tokens.alice, body: orderBody() });
      await eventually(async () => {
        const { samples } = await call();
        return samples.reduce((n: number, s: { orders: number }) => n + s.orders, 0) === 1 && samples.some((s: { eventsPerSecond: number }) => s.eventsPerSecond > 0);
      }, 'a sample with the new order');
      const last = (await call()).samples.at(-1);
      expect(Object.keys(last.consumerLag)).toEqual(expect.arrayContaining(['inventory', 'orders', 'payments', 'shipments']));
    } finally {
      await app.close();
    }
  });

  it('takes one throughput sample at a time, the first one included, however slow the database', async () => {
    // The first read of the log head takes 300 ms; the sampler ticks every 10 ms meanwhile.
    const app = await appOver(h, { throughput: { intervalMs: 10 } });
    const log = h.flow.engine.log;
    const head = log.head;
    let reads = 0;
    log.head = async () => {
      if (reads++ === 0) await new Promise((resolve) => setTimeout(resolve, 300));
      return head.call(log);
    };
    try {
      const first = (await app.inject({ method: 'GET', url: '/api/throughput', headers: { authorization: `Bearer ${h.tokens.admin}` } })).json();
      expect(first.samples).toHaveLength(1);
    } finally {
      log.head = head;
      await app.close();
    }
  });
});

describe('the console page at /', () => {
  let h: HttpHarness;
  const webRoot = mkdtempSync(join(tmpdir(), 'orderflow-web-'));
  beforeAll(async () => {
    h = await createHttpHarness('sqlite');
    mkdirSync(join(webRoot, 'assets'));
    writeFileSync(join(webRoot, 'index.html'), '<!doctype html><title>console</title><script type="module" src="/assets/app-1a2b.js"></script>');
    writeFileSync(join(webRoot, 'assets', 'app-1a2b.js'), 'console.log("hi")');
  });
  afterAll(async () => {
    await h?.close();
    rmSync(webRoot, { recursive: true, force: true });
  });

  it('serves the built page and its assets without a token; API routes and unknown API paths keep their answers', async () => {
    const app = await appOver(h, { webRoot });
    try {
      const page = await app.inject({ method: 'GET', url: '/' });
      expect(page.statusCode).toBe(200);
      expect(page.headers['content-type']).toMatch(/^text\/html/);
      expect(page.body).toContain('/assets/app-1a2b.js');
      expect(page.headers['content-security-policy']).toContain("script-src 'self'");
      const asset = await app.inject({ method: 'GET', url: '/assets/app-1a2b.js' });
      expect(asset.statusCode).toBe(200);
      expect(asset.headers['content-type']).toMatch(/javascript/);
      expect(asset.headers['cache-control']).toMatch(/immutable/);
      expectProblem(await app.inject({ method: 'GET', url: '/assets/missing.js' }), 404);
      expect((await app.inject({ method: 'GET', url: '/assets/..%2Findex.html' })).statusCode).toBe(400);
      // A browser at a client route gets the page; API clients and /api paths get problems.
      const html = { accept: 'text/html,application/xhtml+xml' };
      expect((await app.inject({ method: 'GET', url: '/console/orders', headers: html })).body).toContain('<title>console</title>');
      expectProblem(await app.inject({ method: 'GET', url: '/console/orders' }), 404, 'ROUTE_NOT_FOUND');
      expectProblem(await app.inject({ method: 'GET', url: '/api/nope', headers: html }), 404, 'ROUTE_NOT_FOUND');
      expectProblem(await app.inject({ method: 'GET', url: '/orders', headers: html }), 401);
    } finally {
      await app.close();
    }
  });

  it('says how to build the console when web/dist is missing', async () => {
    const app = await appOver(h, { webRoot: join(webRoot, 'not-built') });
    try {
      const page = await app.inject({ method: 'GET', url: '/' });
      expect(page.statusCode).toBe(503);
      expect(page.headers['content-type']).toMatch(/^text\/html/);
      expect(page.body).toContain('npm run build:web');
    } finally {
      await app.close();
    }
  });
});
