/**
 * Engine cost per order: what the engine itself spends to take one order from placement to
 * SHIPPED, without HTTP and without the bench client on the same cores. Run with
 * `npm run bench:engine` (add `-- --orders=N --concurrency=C`; `--postgres` for a scratch
 * PostgreSQL database, `--nats` for the NATS transport on it as well).
 *
 * All modules run in this process on a SQLite file in a temp dir with orderflow's durable
 * defaults (WAL, synchronous=FULL), or on PostgreSQL (its backends' CPU is counted too, and
 * nats-server's with `--nats`). 50 products with ample stock; C placers each place an
 * order through the orders module's API (the same command POST /orders runs) and place the
 * next once it was accepted; the run ends when every order's OrderShipped is in the log.
 *
 * Printed and written to bench/results/engine-cost-<time>.json:
 *  - CPU ms per order: this process's user + system CPU (all threads, the WAL checkpointer
 *    included) over the run ÷ orders. CPU time hardly depends on what else the machine runs,
 *    unlike wall time and fsync rates, so it is the figure to compare across commits on a
 *    shared machine;
 *  - KB written per order: growth of `write_bytes` in /proc/self/io (WAL and checkpoints);
 *  - orders/s: wall-clock throughput (noisy on a shared machine).
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import pg from 'pg';
import { createBusinessModules } from '../src/composition.js';
import { moduleNames } from '../src/config.js';
import { createEngine } from '../src/platform/engine.js';
import { openStorage } from '../src/platform/storage/database.js';
import { createNatsTransportFactory } from '../src/platform/transport/nats.js';
import { natsUrl, postgresAdminUrl } from './e2e/deployments.js';
import { cpuSecondsOf, findPids } from './e2e/proc.js';

const option = (name: string, fallback: number) => Number(process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? fallback);
const orders = option('orders', 5_000);
const concurrency = option('concurrency', 64);
const PRODUCTS = 50;
const onNats = process.argv.includes('--nats');
const onPostgres = onNats || process.argv.includes('--postgres');

async function admin(statement: string): Promise<void> {
  const client = new pg.Client({ connectionString: postgresAdminUrl });
  await client.connect();
  try {
    await client.query(statement);
  } finally {
    await client.end();
  }
}

/** CPU seconds of the PostgreSQL backends of `database` and, with NATS, of nats-server. */
function serverCpuSeconds(database: string | undefined): number {
  if (!database) return 0;
  const pids = [...findPids({ postgresDatabase: database }), ...(onNats ? findPids({ command: 'nats-server' }) : [])];
  return pids.reduce((sum, pid) => sum + (cpuSecondsOf(pid) ?? 0), 0);
}

function writtenBytes(): number {
  const line = readFileSync('/proc/self/io', 'utf8').split('\n').find((l) => l.startsWith('write_bytes:'));
  return Number(line?.split(':')[1] ?? 0);
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'orderflow-engine-cost-'));
  const suffix = `${process.pid}_${Date.now().toString(36)}`;
  const database = onPostgres ? `orderflow_cost_${suffix}` : undefined;
  const stream = onNats ? `ORDERFLOW_COST_${suffix}` : undefined;
  let url = `sqlite:${join(dir, 'orderflow.db')}`;
  if (database) {
    await admin(`create database ${database}`);
    const target = new URL(postgresAdminUrl);
    target.pathname = `/${database}`;
    url = target.toString();
  }
  const storage = await openStorage(url);
  try {
    const modules = createBusinessModules({ sagaTimeoutMs: 60_000, paymentSuccessRate: 1, paymentLatencyMs: 0 });
    const transport = stream ? createNatsTransportFactory({ servers: natsUrl, stream }) : undefined;
    const engine = createEngine({ storage, modules: modules.engineModules(moduleNames), ...(transport ? { transport } : {}) });
    await engine.migrate();
    const apis = modules.connect(engine.runtime);
    for (let p = 0; p < PRODUCTS; p++) {
      await apis.inventory.createProduct({ productId: `p-${p}`, name: `Product ${p}`, price: 1000 + p, stock: 10_000_000, reorderPoint: 0 });
    }
    await engine.start();
    const address = { street: '1 Main St', city: 'Springfield', postalCode: '12345', country: 'US' };
    let next = 0;
    let seed = 42;
    const random = () => ((seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31);
    const cpuBefore = process.cpuUsage();
    const serverCpuBefore = serverCpuSeconds(database);
    const writtenBefore = writtenBytes();
    const started = performance.now();
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (next < orders) {
          const n = next++;
          const lines = 1 + Math.floor(random() * 3);
          const first = Math.floor(random() * PRODUCTS);
          const items = Array.from({ length: lines }, (_, i) => ({ productId: `p-${(first + i) % PRODUCTS}`, quantity: 1 + Math.floor(random() * 2) }));
          await apis.orders.placeOrder({ customerId: `customer-${n % 100}`, items, shippingAddress: address, paymentMethod: { token: 'tok_visa' } });
        }
      }),
    );
    const placedAt = performance.now();
    for (;;) {
      const { count } = (await storage.db.selectFrom('events').select((eb) => eb.fn.countAll<number>().as('count')).where('event_type', '=', 'OrderShipped').executeTakeFirstOrThrow()) as { count: number };
      if (Number(count) >= orders) break;
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    const seconds = (performance.now() - started) / 1000;
    const cpu = process.cpuUsage(cpuBefore);
    const serverCpu = serverCpuSeconds(database) - serverCpuBefore;
    const written = writtenBytes() - writtenBefore;
    const events = Number(await engine.log.head());
    await engine.stop();
    const result = {
      at: new Date().toISOString(),
      storage: onNats ? 'postgres+nats' : onPostgres ? 'postgres' : 'sqlite',
      orders,
      concurrency,
      seconds: round(seconds),
      placementSeconds: round((placedAt - started) / 1000),
      ordersPerSecond: round(orders / seconds),
      eventsPerOrder: round(events / orders),
      cpuMsPerOrder: round((cpu.user + cpu.system) / 1000 / orders),
      cpuUserMsPerOrder: round(cpu.user / 1000 / orders),
      cpuSystemMsPerOrder: round(cpu.system / 1000 / orders),
      writtenKBPerOrder: round(written / 1024 / orders),
      serverCpuMsPerOrder: round((serverCpu * 1000) / orders),
    };
    console.log(
      `engine cost (${result.storage}, in-process, ${orders} orders, ${concurrency} placers): ${result.cpuMsPerOrder} ms CPU/order ` +
        `(user ${result.cpuUserMsPerOrder}, system ${result.cpuSystemMsPerOrder})${database ? `, servers (PostgreSQL backends${onNats ? ', nats-server' : ''}) ${result.serverCpuMsPerOrder} ms CPU/order` : ''}, ${result.writtenKBPerOrder} KB written/order, ` +
        `${result.ordersPerSecond} orders/s, ${result.eventsPerOrder} events/order`,
    );
    const out = fileURLToPath(new URL('./results/', import.meta.url));
    mkdirSync(out, { recursive: true });
    writeFileSync(join(out, `engine-cost-${result.at.replace(/[:.]/g, '-')}.json`), `${JSON.stringify(result, null, 2)}\n`);
  } finally {
    await storage.close();
    rmSync(dir, { recursive: true, force: true });
    if (database) await admin(`drop database if exists ${database} with (force)`);
    if (stream) {
      const nc = await connect({ servers: natsUrl });
      await (await jetstreamManager(nc)).streams.delete(stream).catch(() => undefined);
      await nc.close();
    }
  }
}

const round = (n: number) => Math.round(n * 100) / 100;

await main();
