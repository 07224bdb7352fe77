// Shared machinery of the distributed suites: a split deployment of real `orderflow start`
// processes on PostgreSQL + NATS, a load of orders over every flow through the HTTP API, and
// the checks run over what the processes left in the database.
import { mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql, type Kysely } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll } from 'vitest';
import { createBusinessModules, type ModuleApis } from '../../src/composition.js';
import { loadConfig } from '../../src/config.js';
import { mintToken } from '../../src/http/index.js';
import { canTransition, isOrderStatus } from '../../src/modules/orders/domain/order-status.js';
import { createEngine, type Engine } from '../../src/platform/engine.js';
import { openStorage, type Storage } from '../../src/platform/storage/database.js';
import { runCli, spawnCli, type RunningCli } from '../cli/cli.js';
import { postgresAdminUrl } from '../support/databases.js';
import { fulfilmentViolations } from '../support/invariants.js';

export const JWT_SECRET = 'distributed-suite-secret-of-at-least-32-characters';
export const adminToken = mintToken(JWT_SECRET, { sub: 'admin-1', role: 'admin', expiresInSeconds: 3600 });
const customerTokens = Array.from({ length: 10 }, (_, n) => mintToken(JWT_SECRET, { sub: `customer-${n}`, role: 'customer', expiresInSeconds: 3600 }));

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `probe` (every `everyMs`) until it holds; generous by default: the machine has 2 cores and is shared. */
export async function until(probe: () => Promise<boolean>, what: string, timeoutMs = 120_000, everyMs = 250): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      if (await probe()) return;
    } catch (error) {
      lastError = error;
    }
    await sleep(everyMs);
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastError ? ` (last error: ${(lastError as Error).message})` : ''}`);
}

/**
 * Runs the suites of this folder one at a time, also across vitest workers and concurrent
 * runs on the machine: each starts 5 or 6 processes, and side by side on 2 cores their
 * latencies would say more about the machine than about orderflow. A session-level advisory
 * lock of the test's own PostgreSQL connection; it goes with the connection if the run dies.
 */
export function oneSuiteAtATime(): void {
  let client: pg.Client | undefined;
  beforeAll(async () => {
    client = new pg.Client({ connectionString: postgresAdminUrl, connectionTimeoutMillis: 5000 });
    await client.connect();
    await client.query('select pg_advisory_lock(7301299)');
  }, 1_800_000);
  afterAll(async () => {
    await client?.end();
  });
}

// ---------------------------------------------------------------------------------------------
// The deployment

/** One process of a deployment: its MODULES and any environment of its own. */
export interface ProcessSpec {
  name: string;
  modules: string;
  env?: Record<string, string>;
}

/**
 * The split deployment of issue 5: HTTP with orders, two inventory instances, payments,
 * shipments. The inventory instances log at debug, so each one's handled events can be counted.
 */
export const SPLIT_DEPLOYMENT: readonly ProcessSpec[] = [
  { name: 'http+orders', modules: 'http,orders' },
  { name: 'inventory-a', modules: 'inventory', env: { LOG_LEVEL: 'debug' } },
  { name: 'inventory-b', modules: 'inventory', env: { LOG_LEVEL: 'debug' } },
  { name: 'payments', modules: 'payments' },
  { name: 'shipments', modules: 'shipments' },
];

export interface Member {
  spec: ProcessSpec;
  cli: RunningCli;
  pid: number;
  /** Whether the process is still running. */
  alive(): boolean;
  /** `"msg":"event handled"` debug lines of `consumer` this process printed so far. */
  handled(consumer: string): number;
}

export interface Deployment {
  /** Base URL of the HTTP process. */
  url: string;
  member(name: string): Member;
  members(): Member[];
  /** SIGTERM to every live process; resolves with the exit code of each (by name). */
  stop(): Promise<Record<string, number | null>>;
  /** Writes each process's stdout and stderr to `<dir>/<name>.out|.err` (for a failed test); returns `dir`. */
  saveLogs(dir: string): string;
}

export interface DeploymentOptions {
  databaseUrl: string;
  natsUrl: string;
  stream: string;
  specs?: readonly ProcessSpec[];
  /** Environment of every process, on top of the deployment's. */
  env?: Record<string, string>;
}

/** Runs `orderflow migrate` once, then starts every process of the deployment at once, and waits for each to say it started. */
export async function startDeployment(options: DeploymentOptions): Promise<Deployment> {
  const common = {
    DATABASE_URL: options.databaseUrl,
    NATS_URL: options.natsUrl,
    NATS_STREAM: options.stream,
    JWT_SECRET,
    ORDER_RATE_LIMIT: '0',
    // The suites check that every order completes its flow; on a 2-core machine under a burst
    // an order can take longer than the default 30 s, and a timeout would cancel it instead.
    SAGA_TIMEOUT_MS: '180000',
    // The checks read every consumer's inbox records: none may be pruned while a suite runs.
    INBOX_RETENTION: '365d',
    LOG_LEVEL: 'info',
    ...options.env,
  };
  const migrated = await runCli(['migrate'], common, 90_000);
  if (migrated.code !== 0) throw new Error(`orderflow migrate failed (${migrated.code}): ${migrated.stderr}`);

  const members: Member[] = [];
  // Should the test run itself die, its processes go with it.
  const killAll = () => members.forEach((m) => m.alive() && m.cli.process.kill('SIGKILL'));
  process.once('exit', killAll);
  const stopAll = async () => {
    process.off('exit', killAll);
    const codes: Record<string, number | null> = {};
    await Promise.all(
      members.map(async (m) => {
        if (!m.alive()) {
          codes[m.spec.name] = m.cli.process.exitCode;
          return;
        }
        const timer = setTimeout(() => m.cli.process.kill('SIGKILL'), 30_000);
        codes[m.spec.name] = await m.cli.stop('SIGTERM');
        clearTimeout(timer);
      }),
    );
    return codes;
  };
  try {
    for (const spec of options.specs ?? SPLIT_DEPLOYMENT) {
      const port = spec.modules.split(',').includes('http') ? '0' : '';
      const cli = spawnCli(['start'], { ...common, PORT: port || undefined, MODULES: spec.modules, ...spec.env });
      const handledLine = /"msg":"event handled"/;
      members.push({
        spec,
        cli,
        pid: cli.process.pid!,
        alive: () => cli.process.exitCode === null && cli.process.signalCode === null,
        handled: (consumer) => cli.stdout().split('\n').filter((line) => handledLine.test(line) && line.includes(`"consumer":"${consumer}"`)).length,
      });
    }
    const started = await Promise.all(members.map((m) => m.cli.waitFor(/^.*"msg":"orderflow started".*$/m, 'stdout', 120_000)));
    const http = started.map((s) => /"address":"(http:\/\/[^"]+)"/.exec(s[0])?.[1]).find(Boolean);
    if (!http) throw new Error('no process of the deployment serves HTTP');
    return {
      url: http.replace('0.0.0.0', '127.0.0.1'),
      member(name) {
        const found = members.find((m) => m.spec.name === name);
        if (!found) throw new Error(`no process ${name}`);
        return found;
      },
      members: () => [...members],
      stop: stopAll,
      saveLogs(dir) {
        mkdirSync(dir, { recursive: true });
        for (const m of members) {
          writeFileSync(join(dir, `${m.spec.name}.out`), m.cli.stdout());
          writeFileSync(join(dir, `${m.spec.name}.err`), m.cli.stderr());
        }
        return dir;
      },
    };
  } catch (error) {
    await stopAll();
    throw error;
  }
}

// ---------------------------------------------------------------------------------------------
// HTTP

export interface HttpResult {
  status: number;
  body: Record<string, unknown>;
  contentType: string;
  ms: number;
}

/** One API call; never hangs longer than `timeoutMs`. */
export async function call(url: string, method: string, path: string, token: string | undefined, body?: unknown, timeoutMs = 30_000): Promise<HttpResult> {
  const started = performance.now();
  const response = await fetch(`${url}${path}`, {
    method,
    headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(timeoutMs),
  });
  const text = await response.text();
  let parsed: Record<string, unknown> = {};
  try {
    parsed = text ? (JSON.parse(text) as Record<string, unknown>) : {};
  } catch {
    parsed = { text };
  }
  return { status: response.status, body: parsed, contentType: response.headers.get('content-type') ?? '', ms: performance.now() - started };
}

// ---------------------------------------------------------------------------------------------
// The catalog and the load

/** Plenty of stock; scarce products run out during the run (later orders for them are REJECTED); `rare` can never fill an order of 10. */
export const CATALOG = [
  { productId: 'plenty-1', name: 'Plenty one', price: 12.5, stock: 1_000_000 },
  { productId: 'plenty-2', name: 'Plenty two', price: 3.99, stock: 1_000_000 },
  { productId: 'plenty-3', name: 'Plenty three', price: 149, stock: 1_000_000 },
  { productId: 'plenty-4', name: 'Plenty four', price: 0.5, stock: 1_000_000 },
  { productId: 'scarce-1', name: 'Scarce one', price: 99.99, stock: 40, reorderPoint: 10 },
  { productId: 'scarce-2', name: 'Scarce two', price: 45, stock: 25, reorderPoint: 5 },
  { productId: 'rare', name: 'Rare', price: 1000, stock: 5 },
] as const;

export async function createCatalog(url: string): Promise<void> {
  for (const product of CATALOG) {
    const created = await call(url, 'POST', '/products', adminToken, product);
    if (created.status !== 201) throw new Error(`POST /products ${product.productId}: ${created.status} ${JSON.stringify(created.body)}`);
  }
}

/** What an order of the load is meant to exercise. */
export type Plan = 'visa' | 'declined' | 'scarce' | 'insufficient' | 'cancel';

/** Of every 20 orders: 12 paid with tok_visa, 2 declined, 2 for scarce stock, 1 that cannot be filled, 3 cancelled right after placement. */
export function planOf(i: number): Plan {
  const slot = i % 20;
  if (slot < 12) return 'visa';
  if (slot < 14) return 'declined';
  if (slot < 16) return 'scarce';
  if (slot < 17) return 'insufficient';
  return 'cancel';
}

const ADDRESS = { street: '1 Main St', city: 'Springfield', postalCode: '12345', country: 'US' };

function orderBody(i: number, plan: Plan): Record<string, unknown> {
  const plenty = (n: number) => `plenty-${(n % 4) + 1}`;
  const items =
    plan === 'scarce'
      ? [{ productId: i % 3 === 0 ? 'scarce-2' : 'scarce-1', quantity: 1 + (i % 2) }]
      : plan === 'insufficient'
        ? [{ productId: 'rare', quantity: 10 }, { productId: plenty(i), quantity: 1 }]
        : i % 5 === 0
          ? [{ productId: plenty(i), quantity: 1 + (i % 3) }, { productId: plenty(i + 1), quantity: 2 }]
          : [{ productId: plenty(i), quantity: 1 + (i % 3) }];
  return { items, shippingAddress: ADDRESS, paymentMethod: { token: plan === 'declined' ? 'tok_chargeDeclined' : 'tok_visa' }, sourceChannel: 'web' };
}

export interface PlacedOrder {
  index: number;
  orderId: string;
  plan: Plan;
  token: string;
  /** The status of POST /orders/:id/cancel, for the orders of the `cancel` plan. */
  cancelStatus?: number;
}

export interface Refusal {
  index: number;
  request: string;
  status: number | 'error';
  code?: string;
  detail?: string;
  contentType?: string;
  ms: number;
}

export interface LoadResult {
  placed: PlacedOrder[];
  refused: Refusal[];
  durationMs: number;
}

export interface Load {
  /** Orders accepted so far. */
  accepted(): number;
  /** Requests answered so far (accepted or not). */
  answered(): number;
  done: Promise<LoadResult>;
}

export interface LoadOptions {
  url: string;
  count: number;
  /** Requests in flight at most (default 20). */
  concurrency?: number;
  /** First order index (several loads in one test number their orders apart). */
  from?: number;
  /**
   * Whether a request may fail (during an outage): it is recorded as refused and the load goes
   * on. Otherwise anything but 201 (and 202 or 409 for a cancel) fails the load.
   */
  tolerateFailures?: boolean;
}

/** Places `count` orders over every flow through POST /orders, `concurrency` at a time; cancels those of the `cancel` plan at once. */
export function placeOrders(options: LoadOptions): Load {
  const { url, count } = options;
  const from = options.from ?? 0;
  const placed: PlacedOrder[] = [];
  const refused: Refusal[] = [];
  let next = from;
  let answered = 0;
  const started = performance.now();

  const refuse = (index: number, request: string, result: HttpResult | Error, ms: number) => {
    const refusal: Refusal =
      result instanceof Error
        ? { index, request, status: 'error', detail: result.message, ms }
        : { index, request, status: result.status, code: result.body.code as string | undefined, detail: result.body.detail as string | undefined, contentType: result.contentType, ms };
    if (!options.tolerateFailures) throw new Error(`${request} (order ${index}) failed: ${JSON.stringify(refusal)}`);
    refused.push(refusal);
  };

  async function attempt(request: string, index: number, run: () => Promise<HttpResult>, ok: (status: number) => boolean): Promise<HttpResult | undefined> {
    const t0 = performance.now();
    try {
      const result = await run();
      if (ok(result.status)) return result;
      refuse(index, request, result, performance.now() - t0);
    } catch (error) {
      if (!options.tolerateFailures) throw error;
      refuse(index, request, error as Error, performance.now() - t0);
    }
    return undefined;
  }

  async function worker(): Promise<void> {
    while (next < from + count) {
      const index = next++;
      const plan = planOf(index);
      const token = customerTokens[index % customerTokens.length]!;
      const result = await attempt('POST /orders', index, () => call(url, 'POST', '/orders', token, orderBody(index, plan)), (s) => s === 201);
      answered++;
      if (!result) continue;
      const order: PlacedOrder = { index, orderId: result.body.orderId as string, plan, token };
      placed.push(order);
      if (plan === 'cancel') {
        const cancelled = await attempt('POST /orders/:id/cancel', index, () => call(url, 'POST', `/orders/${order.orderId}/cancel`, token, { reason: 'changed my mind' }), (s) => s === 202 || s === 409);
        order.cancelStatus = cancelled?.status;
      }
    }
  }

  const done = Promise.all(Array.from({ length: options.concurrency ?? 20 }, worker)).then(() => ({
    placed: placed.sort((a, b) => a.index - b.index),
    refused,
    durationMs: performance.now() - started,
  }));
  return { accepted: () => placed.length, answered: () => answered, done };
}

// ---------------------------------------------------------------------------------------------
// Checks over the database

const SETTLED = ['SHIPPED', 'DELIVERED', 'REJECTED', 'PAYMENT_FAILED', 'CANCELLED'];

/** A connection of the test's own to the deployment's database (directly, not through any proxy), with the module APIs. */
export interface Inspector {
  db: Kysely<any>; // eslint-disable-line @typescript-eslint/no-explicit-any
  apis: ModuleApis;
  engine: Engine;
  /** How many orders exist, and how many are SHIPPED or terminal. */
  progress(): Promise<{ orders: number; settled: number; byStatus: Record<string, number> }>;
  close(): Promise<void>;
}

export async function openInspector(databaseUrl: string): Promise<Inspector> {
  const storage: Storage = await openStorage(databaseUrl, { poolSize: 4 });
  const modules = createBusinessModules(loadConfig({}));
  // Not started: only its APIs and dead letters are used, on the same database.
  const engine = createEngine({ storage, modules: modules.engineModules([]) });
  const apis = modules.connect(engine.runtime);
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const db = storage.db as Kysely<any>;
  return {
    db,
    apis,
    engine,
    async progress() {
      const rows = await db.selectFrom('orders').select(['status', (eb) => eb.fn.countAll<number>().as('n')]).groupBy('status').execute();
      const byStatus = Object.fromEntries(rows.map((r) => [r.status as string, Number(r.n)]));
      const orders = rows.reduce((sum, r) => sum + Number(r.n), 0);
      const settled = rows.filter((r) => SETTLED.includes(r.status as string)).reduce((sum, r) => sum + Number(r.n), 0);
      return { orders, settled, byStatus };
    },
    close: () => storage.close(),
  };
}

/**
 * Waits until the deployment is quiet: at least `expected` orders, every one SHIPPED or
 * terminal, the outbox empty, every consumer caught up (each event of its types in its inbox)
 * and no delivery failing or parked. Returns how long it took. With `deployment`, a process
 * that was running when the wait began and stops meanwhile fails the wait at once, naming it:
 * what it left undone would only show as a backlog that never drains.
 */
export async function untilQuiet(inspector: Inspector, expected: number, options: { deployment?: Deployment; timeoutMs?: number } = {}): Promise<number> {
  const started = performance.now();
  const running = options.deployment?.members().filter((m) => m.alive()) ?? [];
  let stopped: Member | undefined;
  let last: Record<string, unknown> = {};
  try {
    await until(
      async () => {
        stopped = running.find((m) => !m.alive());
        if (stopped) return true;
        const progress = await inspector.progress();
        last = progress;
        if (progress.orders < expected || progress.settled !== progress.orders) return false;
        const behind = await backlog(inspector.db);
        last = { ...progress, ...behind };
        return Object.values(behind).every((n) => n === 0);
      },
      'every order to be SHIPPED or terminal and every consumer to catch up',
      options.timeoutMs ?? 180_000,
      1000,
    );
  } catch (error) {
    throw new Error(`${(error as Error).message}; last seen: ${JSON.stringify(last)}`);
  }
  if (stopped) {
    const { exitCode, signalCode } = stopped.cli.process;
    throw new Error(`${stopped.spec.name} (pid ${stopped.pid}) stopped (${exitCode ?? signalCode}) while the test waited for the deployment to be quiet; last seen: ${JSON.stringify(last)}`);
  }
  return performance.now() - started;
}

/** Events after the relay's cursor: not yet on the published feed (the deployment uses one stream). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
async function unpublishedCount(db: Kysely<any>): Promise<number> {
  const cursor = await db.selectFrom('transport_relay_cursor').select((eb) => eb.fn.max('position').as('position')).executeTakeFirst();
  const row = await db.selectFrom('events').select((eb) => eb.fn.countAll().as('n')).where('sequence', '>', Number(cursor?.position ?? 0)).executeTakeFirstOrThrow();
  return Number(row.n);
}

/** What is still to do: unpublished events, events each consumer has not handled yet, failing and parked deliveries. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function backlog(db: Kysely<any>): Promise<Record<string, number>> {
  const count = async (q: { executeTakeFirstOrThrow(): Promise<{ n: unknown }> }) => Number((await q.executeTakeFirstOrThrow()).n);
  const behind: Record<string, number> = {
    unpublished: await unpublishedCount(db),
    failing: await count(db.selectFrom('failed_deliveries').select((eb) => eb.fn.countAll().as('n')).where('status', 'in', ['retrying', 'dead'])),
    parked: await count(db.selectFrom('parked_deliveries').select((eb) => eb.fn.countAll().as('n'))),
  };
  for (const [consumer, types] of subscriptions()) {
    behind[`${consumer}Behind`] = await count(
      db
        .selectFrom('events as e')
        .select((eb) => eb.fn.countAll().as('n'))
        .where('e.event_type', 'in', types)
        .where((eb) => eb.not(eb.exists(eb.selectFrom('inbox as i').select('i.event_id').whereRef('i.event_id', '=', 'e.event_id').where('i.consumer', '=', consumer)))),
    );
  }
  return behind;
}

/** Consumers and the event types each subscribes to, as the modules declare them. */
function subscriptions(): Map<string, string[]> {
  const modules = createBusinessModules(loadConfig({})).engineModules(['orders', 'inventory', 'payments', 'shipments']);
  return new Map(modules.flatMap((m) => m.consumers).map((c) => [c.name, Object.keys(c.handlers)]));
}

/**
 * What each plan may end in. A cancel that came too late (409) leaves the order to its flow. A
 * cancel without an answer (a 503 once the database's timeout passed, or no response) may have
 * committed before its answer was lost — a timeout does not say which — so it may end either way.
 */
function expectedStatuses(order: PlacedOrder): string[] {
  switch (order.plan) {
    case 'visa':
      return ['SHIPPED'];
    case 'declined':
      return ['PAYMENT_FAILED'];
    case 'scarce':
      return ['SHIPPED', 'REJECTED'];
    case 'insufficient':
      return ['REJECTED'];
    case 'cancel':
      if (order.cancelStatus === 202) return ['CANCELLED'];
      return order.cancelStatus === 409 ? ['SHIPPED'] : ['CANCELLED', 'SHIPPED'];
  }
}

export interface CheckReport {
  violations: string[];
  figures: Record<string, unknown>;
}

/**
 * Everything the distributed mode promises, over what the processes left:
 * - the fulfilment invariants (stock ledger identities, reservations, one charge at most, refunds, no dead letters);
 * - every accepted order ended as its flow says, and exists once;
 * - nothing lost: every event a consumer subscribes to has its inbox record, and the outbox is empty;
 * - nothing applied twice: the inbox is unique per (consumer, event) by its key, and no effect event exists twice for an order;
 * - per-aggregate order: for every consumer and aggregate, inbox `handled_at` never decreases in log order,
 *   and every order's statusHistory (read over HTTP) follows the status machine.
 */
export async function checkEverything(inspector: Inspector, url: string, placed: readonly PlacedOrder[]): Promise<CheckReport> {
  const { db, apis, engine } = inspector;
  const violations = [...(await fulfilmentViolations(apis, engine))];
  const figures: Record<string, unknown> = {};

  // Every accepted order, as its flow says.
  const statuses = new Map((await db.selectFrom('orders').select(['order_id', 'status']).execute()).map((r) => [r.order_id as string, r.status as string]));
  const outcome: Record<string, Record<string, number>> = {};
  for (const order of placed) {
    const status = statuses.get(order.orderId);
    (outcome[order.plan] ??= {})[status ?? 'MISSING'] = (outcome[order.plan]![status ?? 'MISSING'] ?? 0) + 1;
    if (!status) violations.push(`accepted order ${order.orderId} (${order.plan}) does not exist`);
    else if (!expectedStatuses(order).includes(status)) violations.push(`order ${order.orderId} (${order.plan}, cancel ${order.cancelStatus ?? '-'}) ended ${status}, expected ${expectedStatuses(order).join(' or ')}`);
  }
  figures.outcomes = outcome;
  figures.ordersInDatabase = statuses.size;
  figures.cancels = { accepted: placed.filter((o) => o.cancelStatus === 202).length, tooLate: placed.filter((o) => o.cancelStatus === 409).length };
  // Scarce stock was never oversold: what shipped fits in what there was.
  for (const p of await apis.inventory.stockLedger()) {
    if (p.onHand < 0) violations.push(`${p.productId}: onHand ${p.onHand} < 0`);
  }

  // Nothing lost: each consumer's inbox holds every event of the types it subscribes to.
  const inbox: Record<string, number> = {};
  for (const [consumer, types] of subscriptions()) {
    const missing = await db
      .selectFrom('events as e')
      .select(['e.event_type', (eb) => eb.fn.countAll<number>().as('n')])
      .where('e.event_type', 'in', types)
      .where((eb) => eb.not(eb.exists(eb.selectFrom('inbox as i').select('i.event_id').whereRef('i.event_id', '=', 'e.event_id').where('i.consumer', '=', consumer))))
      .groupBy('e.event_type')
      .execute();
    for (const m of missing) violations.push(`${consumer} never handled ${m.n} ${m.event_type} events`);
    const outcomes = await db.selectFrom('inbox').select(['outcome', (eb) => eb.fn.countAll<number>().as('n')]).where('consumer', '=', consumer).groupBy('outcome').execute();
    for (const o of outcomes) {
      inbox[`${consumer}:${o.outcome}`] = Number(o.n);
      if (o.outcome !== 'handled' && o.outcome !== 'ignored') violations.push(`${consumer}: ${o.n} inbox records with outcome ${o.outcome}`);
    }
  }
  figures.inbox = inbox;
  const unpublished = await unpublishedCount(db);
  if (unpublished > 0) violations.push(`${unpublished} events never reached the published feed (JetStream)`);
  const events = await db.selectFrom('events').select(['event_type', (eb) => eb.fn.countAll<number>().as('n')]).groupBy('event_type').orderBy('event_type').execute();
  figures.events = Object.fromEntries(events.map((e) => [e.event_type, Number(e.n)]));

  // Nothing applied twice: an order has at most one of each effect (one reservation, one charge, one shipment, …).
  const twice = await sql<{ event_type: string; order_id: string; n: number }>`
    select event_type, payload::jsonb->>'orderId' as order_id, count(*)::int as n from events
    where event_type in ('InventoryReserved', 'InventoryReservationFailed', 'InventoryReleased', 'PaymentProcessed', 'PaymentFailed', 'PaymentRefunded',
                         'ShipmentCreated', 'OrderPlaced', 'OrderConfirmed', 'OrderRejected', 'OrderPaid', 'OrderPaymentFailed', 'OrderShipped', 'OrderCancelled')
    group by 1, 2 having count(*) > 1`.execute(db);
  for (const r of twice.rows) violations.push(`order ${r.order_id}: ${r.n} × ${r.event_type}`);
  const movedTwice = await sql<{ order_id: string; product_id: string; reason: string; n: number }>`
    select payload::jsonb->>'orderId' as order_id, payload::jsonb->>'productId' as product_id, payload::jsonb->>'reason' as reason, count(*)::int as n
    from events where event_type = 'StockAdjusted' and payload::jsonb ? 'orderId'
    group by 1, 2, 3 having count(*) > 1`.execute(db);
  for (const r of movedTwice.rows) violations.push(`order ${r.order_id}: stock of ${r.product_id} moved ${r.n} times for ${r.reason}`);

  // Per-aggregate order, consumer side: handled_at (the handling transaction's time) never goes back in log order.
  const backwards = await sql<{ consumer: string; aggregate_id: string; n: number }>`
    select consumer, aggregate_id, count(*)::int as n from (
      select i.consumer, e.aggregate_id, i.handled_at,
             lag(i.handled_at) over (partition by i.consumer, e.aggregate_id order by e.sequence) as previous
      from inbox i join events e on e.event_id = i.event_id) handled
    where handled_at < previous group by 1, 2`.execute(db);
  for (const r of backwards.rows) violations.push(`${r.consumer} handled ${r.n} events of ${r.aggregate_id} before an earlier one`);
  const pairs = await sql<{ n: number; aggregates: number }>`
    select count(*)::int as n, count(distinct (i.consumer, e.aggregate_id))::int as aggregates from inbox i join events e on e.event_id = i.event_id`.execute(db);
  figures.orderingChecked = { inboxRecords: pairs.rows[0]?.n, consumerAggregatePairs: pairs.rows[0]?.aggregates };

  // Per-aggregate order, order side: every statusHistory follows the machine (read over HTTP, every page).
  let cursor: string | undefined;
  let read = 0;
  const latencies: number[] = [];
  do {
    const page = await call(url, 'GET', `/orders?limit=200${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`, adminToken);
    if (page.status !== 200) throw new Error(`GET /orders: ${page.status} ${JSON.stringify(page.body)}`);
    for (const order of page.body.orders as { orderId: string; status: string; statusHistory: { status: string; at: string }[] }[]) {
      read++;
      latencies.push(Date.parse(order.statusHistory.at(-1)!.at) - Date.parse(order.statusHistory[0]!.at));
      const history = order.statusHistory.map((h) => h.status);
      if (history[0] !== 'PENDING') violations.push(`order ${order.orderId}: history starts at ${history[0]}`);
      for (let k = 1; k < history.length; k++) {
        const [a, b] = [history[k - 1]!, history[k]!];
        if (!isOrderStatus(a) || !isOrderStatus(b) || !canTransition(a, b)) violations.push(`order ${order.orderId}: ${a} → ${b} in ${history.join(' → ')}`);
      }
      if (history.at(-1) !== order.status) violations.push(`order ${order.orderId}: status ${order.status} but history ends at ${history.at(-1)}`);
    }
    cursor = (page.body.nextCursor as string | null) ?? undefined;
  } while (cursor);
  figures.historiesRead = read;
  latencies.sort((x, y) => x - y);
  const at = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? 0;
  figures.placedToSettledMs = { p50: at(0.5), p95: at(0.95), max: at(1) };
  return { violations, figures };
}

/** Lease owners of a consumer's partitions: owner → partitions held and not expired (by the database's clock). */
export async function leaseOwners(db: Kysely<any>, consumer: string): Promise<Map<string, number[]>> { // eslint-disable-line @typescript-eslint/no-explicit-any
  const rows = await sql<{ owner: string; partition: number }>`
    select owner, partition from transport_leases
    where consumer = ${consumer} and owner is not null and expires_at > (extract(epoch from clock_timestamp()) * 1000)::bigint
    order by partition`.execute(db);
  const owners = new Map<string, number[]>();
  for (const r of rows.rows) owners.set(r.owner, [...(owners.get(r.owner) ?? []), r.partition]);
  return owners;
}

/** The pid in a lease owner (`host:pid:nonce`). */
export const pidOfOwner = (owner: string) => Number(owner.split(':').at(-2));

const NOTABLE = [
  'handler failed',
  'delivery transaction conflicted with another; running it again',
  'event dead-lettered',
  'partition worker failed; retrying',
  'partition lease lost',
  'partition lease round failed',
  'outbox relay round failed; retrying',
  'taking events the broker has not delivered yet from the log, to keep their order',
  'events published long ago never arrived from the broker; delivering them from the log',
  'the checkpoint moved under this worker (another process worked the partition); reading it again',
  'timer handler failed; will fire again',
  'NATS connection lost; reconnecting',
  'NATS connection back',
];

/** How often each process logged the lines worth knowing about in a run (failures, gap fills, reconnects), for the report. */
export function notableLogLines(deployment: Deployment): Record<string, Record<string, number>> {
  const notes: Record<string, Record<string, number>> = {};
  for (const m of deployment.members()) {
    for (const line of m.cli.stdout().split('\n')) {
      const msg = /"msg":"([^"]*)"/.exec(line)?.[1];
      if (msg === undefined || !NOTABLE.includes(msg)) continue;
      const deadlock = msg === 'handler failed' && line.includes('deadlock detected') ? ' (deadlock detected)' : '';
      const entry = (notes[m.spec.name] ??= {});
      entry[msg + deadlock] = (entry[msg + deadlock] ?? 0) + 1;
    }
  }
  return notes;
}

/** Runs a test's body; when it fails, saves the processes' logs to a temporary folder and names it in the error. */
export async function keepingLogsOnFailure<T>(name: string, deployment: () => Deployment | undefined, body: () => Promise<T>): Promise<T> {
  try {
    return await body();
  } catch (error) {
    const running = deployment();
    if (running && error instanceof Error) error.message += `\n(the processes' logs are in ${running.saveLogs(join(tmpdir(), `orderflow-${name}-${Date.now()}`))})`;
    throw error;
  }
}

/** A one-line summary for the test log. */
export function report(title: string, figures: Record<string, unknown>): void {
  console.log(`\n[${title}]\n${JSON.stringify(figures, null, 2)}`);
}
