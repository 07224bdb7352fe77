import type { Kysely } from 'kysely';
import { isPostgres, rowsStatement, statement } from '../../../platform/storage/statements.js';
import type { OrderStatus } from '../../orders/index.js';
import type { CounterDelta, OrderFacts } from '../domain/order-stats.js';
import type { StatsCounterRow, StatsOrderRow, StatsTables } from './tables.js';

// Every order event passes through the projection: statements written once.
const selectOrder = statement<StatsOrderRow>('select * from stats_orders where order_id = ?');
/** PostgreSQL: the orders of a batch in one round trip (the ids as one array parameter). */
const selectOrdersIn = statement<StatsOrderRow>('select * from stats_orders where order_id = any(?)');
const upsertOrders = rowsStatement(
  'insert into stats_orders (order_id, status, currency, total_amount, paid_amount, refunded_amount)',
  6,
  'on conflict (order_id) do update set status = excluded.status, currency = excluded.currency, total_amount = excluded.total_amount, paid_amount = excluded.paid_amount, refunded_amount = excluded.refunded_amount',
);
const addCounters = rowsStatement(
  'insert into stats_counters (metric, dimension, value)',
  3,
  'on conflict (metric, dimension) do update set value = stats_counters.value + excluded.value',
);

/** The facts of the given orders that the projection has seen. */
export async function loadOrders(db: Kysely<StatsTables>, orderIds: readonly string[]): Promise<Map<string, OrderFacts>> {
  const found = new Map<string, OrderFacts>();
  if (isPostgres(db)) {
    for (const row of await selectOrdersIn(db, [[...new Set(orderIds)]])) found.set(row.order_id, toFacts(row));
    return found;
  }
  for (const orderId of new Set(orderIds)) {
    const [row] = await selectOrder(db, [orderId]);
    if (row) found.set(row.order_id, toFacts(row));
  }
  return found;
}

/**
 * Inserts or overwrites the facts of the given orders. In a PostgreSQL transaction nothing waits
 * for the answer (`Statement.send`): it goes out with the next statement or the commit.
 */
export async function saveOrders(db: Kysely<StatsTables>, orders: Iterable<OrderFacts>): Promise<void> {
  await upsertOrders.send(
    db,
    [...orders].map((o) => [o.orderId, o.status, o.currency, o.totalAmount, o.paidAmount, o.refundedAmount]),
  );
}

const compare = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** Adds each delta to its counter, creating counters on first use. Deltas must be one per counter. Sent as `saveOrders`. */
export async function addToCounters(db: Kysely<StatsTables>, deltas: readonly CounterDelta[]): Promise<void> {
  // In one order (bytewise, as everywhere): rows locked in it, transactions never wait in a circle.
  const sorted = [...deltas].sort((a, b) => compare(a.metric, b.metric) || compare(a.dimension, b.dimension));
  await addCounters.send(
    db,
    sorted.map((d) => [d.metric, d.dimension, d.delta]),
  );
}

export async function readCounters(db: Kysely<StatsTables>): Promise<StatsCounterRow[]> {
  const rows = await db.selectFrom('stats_counters').selectAll().execute();
  return rows.map((r) => ({ ...r, value: Number(r.value) }));
}

/** Empties the projection (the replay rebuilds it). */
export async function clearStats(db: Kysely<StatsTables>): Promise<void> {
  await db.deleteFrom('stats_counters').execute();
  await db.deleteFrom('stats_orders').execute();
}

function toFacts(row: StatsOrderRow): OrderFacts {
  return {
    orderId: row.order_id,
    status: row.status as OrderStatus,
    currency: row.currency,
    totalAmount: Number(row.total_amount),
    paidAmount: Number(row.paid_amount),
    refundedAmount: Number(row.refunded_amount),
  };
}
