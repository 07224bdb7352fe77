import type { Kysely } from 'kysely';
import type { OrderFlow } from '../domain/order-flow.js';
import type { Order } from '../domain/order.js';
import type { Saga } from '../domain/saga.js';
import { itemsToRows, orderFromRows, orderToRow, sagaFromRow, sagaToRow } from './rows.js';
import type { OrdersTables } from './tables.js';

// Writes, always inside the caller's transaction.
type Db = Kysely<OrdersTables>;

/**
 * The next number of `year`, in one atomic statement: the first order of a year inserts the
 * counter row, every later one increments it. The row stays locked until the transaction
 * ends, so concurrent placements get distinct numbers on both databases.
 */
export async function nextOrderNumber(db: Db, year: number): Promise<number> {
  const row = await db
    .insertInto('order_number_counters')
    .values({ year, last_number: 1 })
    .onConflict((oc) => oc.column('year').doUpdateSet((eb) => ({ last_number: eb('order_number_counters.last_number', '+', 1) })))
    .returning('last_number')
    .executeTakeFirstOrThrow();
  return Number(row.last_number);
}

/** Inserts a new order, its lines and its saga. */
export async function insertOrderFlow(db: Db, { order, saga }: OrderFlow): Promise<void> {
  await db.insertInto('orders').values({ ...orderToRow(order), version: 1 }).execute();
  await db.insertInto('order_items').values(itemsToRows(order)).execute();
  await db.insertInto('order_sagas').values(sagaToRow(saga)).execute();
}

/**
 * Loads an order and its saga for a change, holding the order's row lock until the
 * transaction ends (the version bump is the write that takes it, on PostgreSQL and SQLite
 * alike), so concurrent handlers, commands and timers of one order run one after another.
 */
export async function lockOrderFlow(db: Db, orderId: string): Promise<OrderFlow | undefined> {
  const row = await db
    .updateTable('orders')
    .set((eb) => ({ version: eb('version', '+', 1) }))
    .where('order_id', '=', orderId)
    .returningAll()
    .executeTakeFirst();
  if (!row) return undefined;
  const items = await db.selectFrom('order_items').selectAll().where('order_id', '=', orderId).execute();
  const saga = await db.selectFrom('order_sagas').selectAll().where('order_id', '=', orderId).executeTakeFirstOrThrow();
  return { order: orderFromRows(row, items), saga: sagaFromRow(saga) };
}

/** Writes what changed between `before` and `after` (the lines never change after placement). */
export async function saveOrderFlow(db: Db, before: OrderFlow, after: { order: Order; saga: Saga }): Promise<void> {
  if (after.order !== before.order) {
    const { order_id: _id, order_number: _n, created_at: _c, ...changes } = orderToRow(after.order);
    await db.updateTable('orders').set(changes).where('order_id', '=', after.order.orderId).execute();
  }
  if (after.saga !== before.saga) {
    const { saga_id: _id, order_id: _o, started_at: _s, ...changes } = sagaToRow(after.saga);
    await db.updateTable('order_sagas').set(changes).where('saga_id', '=', after.saga.sagaId).execute();
  }
}
