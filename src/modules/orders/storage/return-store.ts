import type { Kysely } from 'kysely';
import type { OrderReturn, ReturnStatus } from '../domain/returns.js';
import type { OrderReturnRow, OrdersTables } from './tables.js';

type Db = Kysely<OrdersTables>;

function toRow(r: OrderReturn): OrderReturnRow {
  return {
    return_id: r.returnId,
    order_id: r.orderId,
    status: r.status,
    lines: JSON.stringify(r.lines),
    amount: r.amount,
    currency: r.currency,
    reason: r.reason,
    rejection_reason: r.rejectionReason,
    restocked: r.restocked === null ? null : r.restocked ? 1 : 0,
    refunded_amount: r.refundedAmount,
    created_at: r.createdAt,
    updated_at: r.updatedAt,
  };
}

function fromRow(row: OrderReturnRow): OrderReturn {
  return {
    returnId: row.return_id,
    orderId: row.order_id,
    status: row.status as ReturnStatus,
    lines: JSON.parse(row.lines) as OrderReturn['lines'],
    amount: Number(row.amount),
    currency: row.currency,
    reason: row.reason,
    rejectionReason: row.rejection_reason,
    restocked: row.restocked === null ? null : Number(row.restocked) === 1,
    refundedAmount: row.refunded_amount === null ? null : Number(row.refunded_amount),
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
  };
}

export async function insertReturn(db: Db, value: OrderReturn): Promise<void> {
  await db.insertInto('order_returns').values(toRow(value)).execute();
}

export async function findReturn(db: Db, returnId: string): Promise<OrderReturn | undefined> {
  const row = await db.selectFrom('order_returns').selectAll().where('return_id', '=', returnId).executeTakeFirst();
  return row ? fromRow(row) : undefined;
}

/** The order's returns, oldest first. */
export async function returnsOfOrder(db: Db, orderId: string): Promise<OrderReturn[]> {
  const rows = await db.selectFrom('order_returns').selectAll().where('order_id', '=', orderId).orderBy('created_at').orderBy('return_id').execute();
  return rows.map(fromRow);
}

/** Writes a return's next state if it is still in `from`; false when another step got there first. */
export async function saveReturn(db: Db, from: ReturnStatus, next: OrderReturn): Promise<boolean> {
  const row = toRow(next);
  const result = await db
    .updateTable('order_returns')
    .set({ status: row.status, rejection_reason: row.rejection_reason, restocked: row.restocked, refunded_amount: row.refunded_amount, updated_at: row.updated_at })
    .where('return_id', '=', next.returnId)
    .where('status', '=', from)
    .executeTakeFirst();
  return Number(result.numUpdatedRows) === 1;
}
