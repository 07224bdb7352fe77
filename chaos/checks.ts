// What must hold once a campaign's faults stopped and the system settled, read from the
// database (a connection of the campaign's own, never through a proxy) and the HTTP API.
import { sql, type Kysely } from 'kysely';
import { createBusinessModules, type ModuleApis } from '../src/composition.js';
import { loadConfig } from '../src/config.js';
import { canTransition, isOrderStatus } from '../src/modules/orders/domain/order-status.js';
import { createEngine, type Engine } from '../src/platform/engine.js';
import { openStorage, type DialectName, type Storage } from '../src/platform/storage/database.js';
import { fulfilmentViolations } from '../test/support/invariants.js';
import { call, type WorkloadRecord } from './workload.js';

const SETTLED = new Set(['SHIPPED', 'DELIVERED', 'REJECTED', 'PAYMENT_FAILED', 'CANCELLED']);

export interface Inspector {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  db: Kysely<any>;
  dialect: DialectName;
  apis: ModuleApis;
  engine: Engine;
  close(): Promise<void>;
}

export async function openInspector(databaseUrl: string): Promise<Inspector> {
  const storage: Storage = await openStorage(databaseUrl, { poolSize: 4, checkpointer: false });
  const modules = createBusinessModules(loadConfig({}));
  // Not started: only its APIs and dead letters are used.
  const engine = createEngine({ storage, modules: modules.engineModules([]) });
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  return { db: storage.db as Kysely<any>, dialect: storage.dialect, apis: modules.connect(engine.runtime), engine, close: () => storage.close() };
}

/** Consumers and the event types each handles, as the modules declare them. */
export function subscriptions(): Map<string, string[]> {
  const modules = createBusinessModules(loadConfig({})).engineModules(['orders', 'inventory', 'payments', 'shipments']);
  return new Map(modules.flatMap((m) => m.consumers).map((c) => [c.name, Object.keys(c.handlers)]));
}

const count = async (q: { executeTakeFirstOrThrow(): Promise<{ n: unknown }> }) => Number((await q.executeTakeFirstOrThrow()).n);

/** What is still to do: orders not settled, unpublished events (distributed), events a consumer has not handled, failing and parked deliveries. */
export async function backlog(inspector: Inspector, distributed: boolean): Promise<Record<string, number>> {
  const { db } = inspector;
  const behind: Record<string, number> = {
    unsettled: await count(db.selectFrom('orders').select((eb) => eb.fn.countAll().as('n')).where('status', 'not in', [...SETTLED])),
    retrying: await count(db.selectFrom('failed_deliveries').select((eb) => eb.fn.countAll().as('n')).where('status', '=', 'retrying')),
    dead: await count(db.selectFrom('failed_deliveries').select((eb) => eb.fn.countAll().as('n')).where('status', '=', 'dead')),
    parked: await count(db.selectFrom('parked_deliveries').select((eb) => eb.fn.countAll().as('n'))),
  };
  if (distributed) {
    // Events after the relay's cursor: not yet on the published feed (one stream per campaign).
    const cursor = await db.selectFrom('transport_relay_cursor').select((eb) => eb.fn.max('position').as('position')).executeTakeFirst();
    behind.unpublished = await count(db.selectFrom('events').select((eb) => eb.fn.countAll().as('n')).where('sequence', '>', Number(cursor?.position ?? 0)));
  }
  for (const [consumer, types] of subscriptions()) {
    behind[`${consumer} behind`] = await count(
      db
        .selectFrom('events as e')
        .select((eb) => eb.fn.countAll().as('n'))
        .where('e.event_type', 'in', types)
        .where((eb) => eb.not(eb.exists(eb.selectFrom('inbox as i').select('i.event_id').whereRef('i.event_id', '=', 'e.event_id').where('i.consumer', '=', consumer)))),
    );
  }
  return behind;
}

/** A payload field as text, in the dialect's JSON functions. */
function field(dialect: DialectName, name: string) {
  return dialect === 'postgres' ? sql.raw(`(payload::jsonb->>'${name}')`) : sql.raw(`json_extract(payload, '$.${name}')`);
}

/** Events that cause an effect, at most one of each per order. */
const ONCE_PER_ORDER = [
  'InventoryReserved', 'InventoryReservationFailed', 'InventoryReleased', 'PaymentProcessed', 'PaymentFailed', 'PaymentRefunded',
  'ShipmentCreated', 'ShipmentDispatched', 'ShipmentDelivered', 'OrderPlaced', 'OrderConfirmed', 'OrderRejected', 'OrderPaid', 'OrderPaymentFailed',
  'OrderShipped', 'OrderDelivered', 'OrderCancelled',
];

export interface CheckReport {
  violations: string[];
  figures: Record<string, unknown>;
}

/**
 * Everything the campaign holds the engine to:
 * - the fulfilment invariants (test/support/invariants.ts): stock identities, reservations, at
 *   most one charge, refunds = charges of cancelled orders, every order settled, no open dead letter;
 * - every 201 is in the log (its order and its OrderPlaced), and what the log holds that was never
 *   answered is whole (an order row and its OrderPlaced, both or neither);
 * - each card token's flow: a declined or never-answering card is never charged;
 * - nothing lost (every consumer handled every event of its types), nothing applied twice (one
 *   effect event of each kind per order, one stock move per order, product and reason);
 * - per-aggregate order of every consumer's deliveries (inbox handled_at never goes back in log
 *   order), and every order's statusHistory follows the status machine.
 */
export async function checkEverything(inspector: Inspector, url: string, adminToken: string, record: WorkloadRecord): Promise<CheckReport> {
  const { db, dialect, apis, engine } = inspector;
  const violations = [...record.violations, ...(await fulfilmentViolations(apis, engine))];
  const figures: Record<string, unknown> = {};
  const orderId = field(dialect, 'orderId');

  const orders = new Map((await db.selectFrom('orders').select(['order_id', 'status']).execute()).map((r) => [r.order_id as string, r.status as string]));
  const placed = new Set((await db.selectFrom('events').select('aggregate_id').where('event_type', '=', 'OrderPlaced').execute()).map((r) => r.aggregate_id as string));
  for (const [id, order] of record.accepted) {
    if (!orders.has(id)) violations.push(`answered 201 for ${id}, which does not exist`);
    if (!placed.has(id)) violations.push(`answered 201 for ${id}, whose OrderPlaced is not in the log`);
    const status = orders.get(id);
    if ((order.token === 'tok_chargeDeclined' || order.token === 'tok_timeout') && (status === 'PAID' || status === 'SHIPPED' || status === 'DELIVERED')) violations.push(`order ${id} paid with ${order.token} ended ${status}`);
  }
  for (const id of orders.keys()) if (!placed.has(id)) violations.push(`order ${id} exists without its OrderPlaced (half-applied)`);
  for (const id of placed) if (!orders.has(id)) violations.push(`OrderPlaced ${id} without its order (half-applied)`);
  const byStatus: Record<string, number> = {};
  for (const status of orders.values()) byStatus[status] = (byStatus[status] ?? 0) + 1;
  figures.orders = { answered201: record.accepted.size, inDatabase: orders.size, neverAnswered: orders.size - [...record.accepted.keys()].filter((id) => orders.has(id)).length, byStatus };
  const keyed = await db.selectFrom('http_idempotency_keys').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow().catch(() => ({ n: -1 }));
  figures.idempotencyKeys = { used: record.keys.size, stored: Number(keyed.n) };

  // Nothing lost: each consumer's inbox holds every event of its types.
  for (const [consumer, types] of subscriptions()) {
    const missing = await db
      .selectFrom('events as e')
      .select(['e.event_type', (eb) => eb.fn.countAll().as('n')])
      .where('e.event_type', 'in', types)
      .where((eb) => eb.not(eb.exists(eb.selectFrom('inbox as i').select('i.event_id').whereRef('i.event_id', '=', 'e.event_id').where('i.consumer', '=', consumer))))
      .groupBy('e.event_type')
      .execute();
    for (const m of missing) violations.push(`${consumer} never handled ${m.n} ${m.event_type} events`);
  }
  const outcomes = await db.selectFrom('inbox').select(['consumer', 'outcome', (eb) => eb.fn.countAll().as('n')]).groupBy(['consumer', 'outcome']).execute();
  figures.inbox = Object.fromEntries(outcomes.map((o) => [`${o.consumer}:${o.outcome}`, Number(o.n)]));
  for (const o of outcomes) if (o.outcome !== 'handled' && o.outcome !== 'ignored') violations.push(`${o.consumer}: ${o.n} inbox records with outcome ${o.outcome}`);

  // Nothing applied twice.
  const twice = await sql<{ event_type: string; order_id: string; n: number }>`
    select event_type, ${orderId} as order_id, count(*) as n from events
    where event_type in (${sql.join(ONCE_PER_ORDER)}) group by event_type, ${orderId} having count(*) > 1`.execute(db);
  for (const r of twice.rows) violations.push(`order ${r.order_id}: ${r.n} × ${r.event_type}`);
  const movedTwice = await sql<{ order_id: string; product_id: string; reason: string; n: number }>`
    select ${orderId} as order_id, ${field(dialect, 'productId')} as product_id, ${field(dialect, 'reason')} as reason, count(*) as n
    from events where event_type = 'StockAdjusted' and ${orderId} is not null
    group by 1, 2, 3 having count(*) > 1`.execute(db);
  for (const r of movedTwice.rows) violations.push(`order ${r.order_id}: stock of ${r.product_id} moved ${r.n} times for ${r.reason}`);

  // Per-aggregate order of every consumer's deliveries.
  const backwards = await sql<{ consumer: string; aggregate_id: string; n: number }>`
    select consumer, aggregate_id, count(*) as n from (
      select i.consumer, e.aggregate_id, i.handled_at,
             lag(i.handled_at) over (partition by i.consumer, e.aggregate_id order by e.sequence) as previous
      from inbox i join events e on e.event_id = i.event_id) handled
    where handled_at < previous group by 1, 2`.execute(db);
  for (const r of backwards.rows) violations.push(`${r.consumer} handled ${r.n} events of ${r.aggregate_id} before an earlier one`);
  const events = await db.selectFrom('events').select(['event_type', (eb) => eb.fn.countAll().as('n')]).groupBy('event_type').orderBy('event_type').execute();
  figures.events = Object.fromEntries(events.map((e) => [e.event_type, Number(e.n)]));

  // Every order's history follows the status machine (read over HTTP, every page).
  let cursor: string | undefined;
  let read = 0;
  do {
    const page = await call(url, 'GET', `/orders?limit=200${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`, adminToken, undefined, {}, 30_000);
    if (page.status !== 200) throw new Error(`GET /orders: ${page.status} ${JSON.stringify(page.body)}`);
    for (const order of page.body.orders as { orderId: string; status: string; statusHistory: { status: string }[] }[]) {
      read++;
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
  if (read !== orders.size) violations.push(`GET /orders listed ${read} orders, the database holds ${orders.size}`);
  return { violations, figures };
}
