import type { Kysely } from 'kysely';
import { AppError } from '../../kernel/errors.js';
import { DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, type ListOrdersQuery, type OrderPage, type OrderView, type SagaView } from './api.js';
import { isOrderStatus } from './domain/order-status.js';
import { findOrder, findOrders, findSaga, type PagePosition } from './storage/order-queries.js';
import type { OrdersTables } from './storage/tables.js';
import { toOrderView, toSagaView } from './views.js';

export async function getOrder(db: Kysely<OrdersTables>, orderId: string): Promise<OrderView | undefined> {
  const order = await findOrder(db, orderId);
  return order ? toOrderView(order) : undefined;
}

export async function getSaga(db: Kysely<OrdersTables>, by: { sagaId: string } | { orderId: string }): Promise<SagaView | undefined> {
  const saga = await findSaga(db, by);
  return saga ? toSagaView(saga) : undefined;
}

/** Orders newest first, filtered, a page at a time with an opaque cursor. */
export async function listOrders(db: Kysely<OrdersTables>, query: ListOrdersQuery = {}): Promise<OrderPage> {
  if (query.status !== undefined && !isOrderStatus(query.status)) throw new AppError('validation', 'INVALID_STATUS', `unknown order status ${String(query.status)}`);
  const limit = pageSize(query.limit);
  const after = query.cursor === undefined ? undefined : decodeCursor(query.cursor);
  const { orders, more } = await findOrders(db, { status: query.status, customerId: query.customerId, after, limit });
  const last = orders[orders.length - 1];
  return { orders: orders.map(toOrderView), nextCursor: more && last ? encodeCursor({ createdAt: last.createdAt, orderId: last.orderId }) : null };
}

function pageSize(limit: number | undefined): number {
  if (limit === undefined) return DEFAULT_PAGE_SIZE;
  if (!Number.isInteger(limit) || limit < 1) throw new AppError('validation', 'INVALID_LIMIT', `limit must be an integer from 1 to ${MAX_PAGE_SIZE}`);
  return Math.min(limit, MAX_PAGE_SIZE);
}

export function encodeCursor(position: PagePosition): string {
  return Buffer.from(JSON.stringify([position.createdAt, position.orderId])).toString('base64url');
}

export function decodeCursor(cursor: string): PagePosition {
  try {
    const value: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (Array.isArray(value) && value.length === 2 && Number.isSafeInteger(value[0]) && typeof value[1] === 'string') {
      return { createdAt: value[0] as number, orderId: value[1] };
    }
  } catch {
    // Falls through to the error below.
  }
  throw new AppError('validation', 'INVALID_CURSOR', 'cursor is not one this API returned');
}
