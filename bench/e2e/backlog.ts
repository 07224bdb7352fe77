/**
 * The backlog phase of the embedded mode: a server started with `MODULES=http` runs no
 * consumer, so the orders placed on it only queue their OrderPlaced events. It is stopped and
 * the same database is started again with every module: the consumers find the whole backlog
 * at once. While they drain it, one client asks `GET /health` back to back and another places
 * orders at a low fixed rate; their latencies say whether requests wait behind delivery.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import SqliteDatabase from 'better-sqlite3';
import { histogram, summarize, type LatencySummary } from './load.js';
import { NPM_START_NODE_OPTIONS, startServer } from './servers.js';
import { Client, JWT_SECRET, OrderSource, adminToken, seedCatalog } from './workload.js';

export interface BacklogResult {
  orders: number;
  /** Events the consumers appended while draining, per second of the drain. */
  drainEventsPerSecond: number;
  drainOrdersPerSecond: number;
  drainSeconds: number;
  health: LatencySummary;
  post: LatencySummary;
  /** Orders placed during the drain (all of them must ship too). */
  placedDuringDrain: number;
}

const env = (databaseUrl: string, modules?: string): Record<string, string> => ({
  JWT_SECRET,
  ORDER_RATE_LIMIT: '0',
  LOG_LEVEL: 'info',
  DATABASE_URL: databaseUrl,
  PORT: '0',
  ...(modules ? { MODULES: modules } : {}),
});

export async function runBacklog(options: { orders: number; postRatePerSecond: number; timeoutMs: number }): Promise<BacklogResult> {
  const dir = mkdtempSync(join(tmpdir(), 'orderflow-backlog-'));
  const databaseUrl = `sqlite:${join(dir, 'orderflow.db')}`;
  try {
    // 1. Queue the backlog: placements only.
    const placer = await startServer('embedded (http only)', env(databaseUrl, 'http'), { nodeOptions: NPM_START_NODE_OPTIONS });
    const source = new OrderSource();
    {
      const client = new Client(placer.url!, 64);
      await seedCatalog(client, adminToken());
      let next = 0;
      await Promise.all(
        Array.from({ length: 64 }, async () => {
          while (next < options.orders) {
            next++;
            const { token, body } = source.order();
            const placed = await client.send('POST', '/orders', token, body);
            if (placed.status !== 201) throw new Error(`POST /orders answered ${placed.status}: ${placed.body}`);
          }
        }),
      );
      client.close();
    }
    if ((await placer.stop()) !== 0) throw new Error(`the http-only server did not exit 0:\n${placer.tail()}`);

    // 2. Start every module on it and measure requests while the backlog drains.
    const reader = new SqliteDatabase(join(dir, 'orderflow.db'), { readonly: true, fileMustExist: true });
    const headQuery = reader.prepare('select coalesce(max(sequence), 0) as head from events');
    const shippedQuery = reader.prepare(`select count(*) as n from events where event_type = 'OrderShipped'`);
    const head = () => Number((headQuery.get() as { head: number }).head);
    const before = head();
    const server = await startServer('embedded', env(databaseUrl), { nodeOptions: NPM_START_NODE_OPTIONS });
    const started = performance.now();
    const healthLatency = histogram();
    const postLatency = histogram();
    const client = new Client(server.url!, 8);
    let draining = true;
    let placedDuringDrain = 0;
    const shipped = () => Number((shippedQuery.get() as { n: number }).n) >= options.orders + placedDuringDrain;
    const healthProbe = (async () => {
      while (draining) {
        const t = performance.now();
        const answer = await client.send('GET', '/health', undefined);
        if (answer.status !== 200) throw new Error(`GET /health answered ${answer.status}`);
        healthLatency.recordValue(Math.max(1, Math.round((performance.now() - t) * 1000)));
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    })();
    const placements = (async () => {
      const interval = 1000 / options.postRatePerSecond;
      while (draining) {
        const t = performance.now();
        const { token, body } = source.order();
        const placed = await client.send('POST', '/orders', token, body);
        if (placed.status !== 201) throw new Error(`POST /orders answered ${placed.status}: ${placed.body}`);
        placedDuringDrain++;
        postLatency.recordValue(Math.max(1, Math.round((performance.now() - t) * 1000)));
        await new Promise((resolve) => setTimeout(resolve, Math.max(0, interval - (performance.now() - t))));
      }
    })();
    const deadline = started + options.timeoutMs;
    while (!shipped()) {
      if (performance.now() > deadline) throw new Error(`the backlog did not drain in ${options.timeoutMs} ms`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const drainSeconds = (performance.now() - started) / 1000;
    draining = false;
    await Promise.all([healthProbe, placements]);
    const after = head();
    client.close();
    reader.close();
    if ((await server.stop()) !== 0) throw new Error(`the server did not exit 0:\n${server.tail()}`);
    const placedEvents = placedDuringDrain; // each placement appended one OrderPlaced itself
    return {
      orders: options.orders,
      drainSeconds: round(drainSeconds),
      drainEventsPerSecond: round((after - before - placedEvents) / drainSeconds),
      drainOrdersPerSecond: round((options.orders + placedDuringDrain) / drainSeconds),
      health: summarize(healthLatency),
      post: summarize(postLatency),
      placedDuringDrain,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const round = (n: number) => Math.round(n * 10) / 10;
