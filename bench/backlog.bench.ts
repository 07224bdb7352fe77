/**
 * Backlog bench of the embedded mode (see bench/e2e/backlog.ts): `npm run bench:backlog`
 * (`-- --orders=N`, default 5,000). Prints the drain rate and the latency of GET /health and
 * of POST /orders while the consumers work through the backlog, and writes
 * bench/results/backlog-<time>.json. The full `npm run bench` runs it too.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runBacklog, type BacklogResult } from './e2e/backlog.js';

const orders = Number(process.argv.find((a) => a.startsWith('--orders='))?.slice('--orders='.length) ?? 5_000);

export function formatBacklog(r: BacklogResult): string {
  const ms = (s: { p50: number; p99: number; max: number }) => `p50 ${s.p50} / p99 ${s.p99} / max ${s.max} ms`;
  return [
    `backlog of ${r.orders} orders drained in ${r.drainSeconds} s: ${r.drainEventsPerSecond} events/s, ${r.drainOrdersPerSecond} orders/s`,
    `  GET /health while draining (${r.health.count} requests): ${ms(r.health)}`,
    `  POST /orders while draining (${r.placedDuringDrain} orders): ${ms(r.post)}`,
  ].join('\n');
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const result = await runBacklog({ orders, postRatePerSecond: 20, timeoutMs: 300_000 });
  console.log(formatBacklog(result));
  const out = fileURLToPath(new URL('./results/', import.meta.url));
  mkdirSync(out, { recursive: true });
  writeFileSync(join(out, `backlog-${new Date().toISOString().replace(/[:.]/g, '-')}.json`), `${JSON.stringify({ at: new Date().toISOString(), ...result }, null, 2)}\n`);
}
