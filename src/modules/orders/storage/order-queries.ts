import type { Kysely } from 'kysely';
import { AppError } from '../../../kernel/errors.js';
import type { Order } from '../domain/order.js';
import { ORDER_STATUSES, type OrderStatus } from '../domain/order-status.js';
import type { Saga } from '../domain/saga.js';
import { orderFromRows, sagaFromRow } from './rows.js';
import type { OrderItemRow, OrdersTables } from './tables.js';

// Reads of the module's own tables, outside any transaction.
type Db = Kysely<OrdersTables>;

export async function findOrder(db: Db, orderId: string): Promise<Order | undefined> {
  const row = await db.selectFrom('orders').selectAll().where('order_id', '=', orderId).executeTakeFirst();
  if (!row) return undefined;
  const items = await db.selectFrom('order_items').selectAll().where('order_id', '=', orderId).execute();
  return orderFromRows(row, items);
}

/** A page position: the (createdAt, orderId) of the last order shown. */
export interface PagePosition {
  createdAt: number;
  orderId: string;
}

/** Orders newest first (ties broken by id), after `after`; one more than `limit` tells whether a next page exists. */
export async function findOrders(
  db: Db,
  filter: { status?: OrderStatus; customerId?: string; after?: PagePosition; limit: number },
): Promise<{ orders: Order[]; more: boolean }> {
  let q = db.selectFrom('orders').selectAll();
  if (filter.status) q = q.where('status', '=', filter.status);
  if (filter.customerId) q = q.where('customer_id', '=', filter.customerId);
  const after = filter.after;
  if (after) {
    q = q.where((eb) =>
      eb.or([eb('created_at', '<', after.createdAt), eb.and([eb('created_at', '=', after.createdAt), eb('order_id', '<', after.orderId)])]),
    );
  }
  const rows = await q.orderBy('created_at', 'desc').orderBy('order_id', 'desc').limit(filter.limit + 1).execute();
  const page = rows.slice(0, filter.limit);
  const items = page.length === 0 ? [] : await db.selectFrom('order_items').selectAll().where('order_id', 'in', page.map((r) => r.order_id)).execute();
  const byOrder = new Map<string, OrderItemRow[]>();
  for (const item of items) byOrder.set(item.order_id, [...(byOrder.get(item.order_id) ?? []), item]);
  return { orders: page.map((r) => orderFromRows(r, byOrder.get(r.order_id) ?? [])), more: rows.length > filter.limit };
}

export async function findSaga(db: Db, by: { sagaId: string } | { orderId: string }): Promise<Saga | undefined> {
  const q = db.selectFrom('order_sagas').selectAll();
  const row = await ('sagaId' in by ? q.where('saga_id', '=', by.sagaId) : q.where('order_id', '=', by.orderId)).executeTakeFirst();
  return row ? sagaFromRow(row) : undefined;
}

/** How many orders are in each status (every status present, zero when none). */
export async function countOrdersByStatus(db: Db): Promise<Record<OrderStatus, number>> {
  const rows = await db.selectFrom('orders').select((eb) => ['status', eb.fn.countAll<number>().as('count')]).groupBy('status').execute();
  const counts = Object.fromEntries(ORDER_STATUSES.map((s) => [s, 0])) as Record<OrderStatus, number>;
  for (const row of rows) {
    if (!(ORDER_STATUSES as readonly string[]).includes(row.status)) throw new AppError('internal', 'UNKNOWN_ORDER_STATUS', `orders table holds status ${row.status}`);
    counts[row.status as OrderStatus] = Number(row.count);
  }
  return counts;
}
