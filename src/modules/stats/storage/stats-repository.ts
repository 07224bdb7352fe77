import type { Kysely } from 'kysely';
import type { OrderStatus } from '../../orders/index.js';
import type { CounterDelta, OrderFacts } from '../domain/order-stats.js';
import type { StatsCounterRow, StatsOrderRow, StatsTables } from './tables.js';

// Rows per statement: far below the parameter limits of both databases.
const CHUNK = 500;

function chunks<T>(items: readonly T[]): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += CHUNK) out.push(items.slice(i, i + CHUNK));
  return out;
}

/** The facts of the given orders that the projection has seen. */
export async function loadOrders(db: Kysely<StatsTables>, orderIds: readonly string[]): Promise<Map<string, OrderFacts>> {
  const found = new Map<string, OrderFacts>();
  for (const ids of chunks([...new Set(orderIds)])) {
    const rows = await db.selectFrom('stats_orders').selectAll().where('order_id', 'in', ids).execute();
    for (const row of rows) found.set(row.order_id, toFacts(row));
  }
  return found;
}

/** Inserts or overwrites the facts of the given orders. */
export async function saveOrders(db: Kysely<StatsTables>, orders: Iterable<OrderFacts>): Promise<void> {
  for (const batch of chunks([...orders].map(toRow))) {
    await db
      .insertInto('stats_orders')
      .values(batch)
      .onConflict((oc) =>
        oc.column('order_id').doUpdateSet((eb) => ({
          status: eb.ref('excluded.status'),
          currency: eb.ref('excluded.currency'),
          total_amount: eb.ref('excluded.total_amount'),
          paid_amount: eb.ref('excluded.paid_amount'),
          refunded_amount: eb.ref('excluded.refunded_amount'),
        })),
      )
      .execute();
  }
}

/** Adds each delta to its counter, creating counters on first use. Deltas must be one per counter. */
export async function addToCounters(db: Kysely<StatsTables>, deltas: readonly CounterDelta[]): Promise<void> {
  for (const batch of chunks(deltas)) {
    await db
      .insertInto('stats_counters')
      .values(batch.map((d) => ({ metric: d.metric, dimension: d.dimension, value: d.delta })))
      .onConflict((oc) => oc.columns(['metric', 'dimension']).doUpdateSet((eb) => ({ value: eb('stats_counters.value', '+', eb.ref('excluded.value')) })))
      .execute();
  }
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

function toRow(order: OrderFacts): StatsOrderRow {
  return {
    order_id: order.orderId,
    status: order.status,
    currency: order.currency,
    total_amount: order.totalAmount,
    paid_amount: order.paidAmount,
    refunded_amount: order.refundedAmount,
  };
}
