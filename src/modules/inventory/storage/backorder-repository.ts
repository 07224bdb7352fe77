import type { Kysely } from 'kysely';
import { statement } from '../../../platform/storage/statements.js';
import type { BackorderStatus, QueuedBackorder } from '../domain/backorders.js';
import type { BackorderRow, InventoryTables } from './tables.js';

type Db = Kysely<InventoryTables>;

/** A backorder as the module reads it. */
export interface StoredBackorder {
  orderId: string;
  productId: string;
  quantity: number;
  allocated: number;
  status: BackorderStatus;
  placedSeq: number;
  correlationId: string;
  createdAt: number;
  updatedAt: number;
}

function fromRow(row: BackorderRow): StoredBackorder {
  return {
    orderId: row.order_id,
    productId: row.product_id,
    quantity: Number(row.quantity),
    allocated: Number(row.allocated),
    status: row.status as BackorderStatus,
    placedSeq: Number(row.placed_seq),
    correlationId: row.correlation_id,
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
  };
}

const QUEUE_PAGE = 100;
const selectQueue = statement<{ order_id: string; quantity: number; allocated: number }>(
  `select order_id, quantity, allocated from inventory_backorders where product_id = ? and status = 'WAITING' order by placed_seq, order_id limit ${QUEUE_PAGE}`,
);
const allocate = statement<BackorderRow>(
  `update inventory_backorders set allocated = allocated + ?, status = case when allocated + ? = quantity then 'FULFILLED' else status end, updated_at = ?
   where order_id = ? and product_id = ? and status = 'WAITING' and allocated + ? <= quantity returning *`,
);
const selectOfOrder = statement<BackorderRow>('select * from inventory_backorders where order_id = ? order by product_id');
const countWaiting = statement<{ n: number }>(`select count(*) as n from inventory_backorders where order_id = ? and status = 'WAITING'`);
const addToLine = statement<{ quantity: number }>('update inventory_reservation_lines set quantity = quantity + ? where order_id = ? and product_id = ? returning quantity');
const lockReservation = statement<{ status: string }>('update inventory_reservations set updated_at = updated_at where order_id = ? returning status');

/** Records an order's shortfalls, all in one status. */
export async function insertBackorders(
  db: Db,
  order: { orderId: string; placedSeq: number; correlationId: string },
  lines: readonly { productId: string; quantity: number }[],
  status: BackorderStatus,
  now: number,
): Promise<void> {
  if (lines.length === 0) return;
  await db
    .insertInto('inventory_backorders')
    .values(
      lines.map((l) => ({
        order_id: order.orderId,
        product_id: l.productId,
        quantity: l.quantity,
        allocated: 0,
        status,
        placed_seq: order.placedSeq,
        correlation_id: order.correlationId,
        created_at: now,
        updated_at: now,
      })),
    )
    .execute();
}

/** The oldest waiting backorders of a product, first placed first (a page of them). */
export async function waitingQueue(db: Db, productId: string): Promise<QueuedBackorder[]> {
  const rows = await selectQueue(db, [productId]);
  return rows.map((r) => ({ orderId: r.order_id, remaining: Number(r.quantity) - Number(r.allocated) }));
}

/** Gives a waiting backorder `take` more units; FULFILLED once it has them all. */
export async function allocateBackorder(db: Db, orderId: string, productId: string, take: number, now: number): Promise<StoredBackorder> {
  const [row] = await allocate(db, [take, take, now, orderId, productId, take]);
  if (!row) throw new Error(`cannot allocate ${take} of ${productId} to the backorder of ${orderId} (not waiting for that many)`);
  return fromRow(row);
}

export async function backordersOfOrder(db: Db, orderId: string): Promise<StoredBackorder[]> {
  return (await selectOfOrder(db, [orderId])).map(fromRow);
}

/** Moves every backorder of an order in `from` to `to`; the rows as they were before. */
export async function moveBackorders(db: Db, orderId: string, from: BackorderStatus, to: BackorderStatus, now: number): Promise<StoredBackorder[]> {
  const before = (await backordersOfOrder(db, orderId)).filter((b) => b.status === from);
  if (before.length > 0) {
    await db.updateTable('inventory_backorders').set({ status: to, updated_at: now }).where('order_id', '=', orderId).where('status', '=', from).execute();
  }
  return before;
}

export async function waitingBackordersOf(db: Db, orderId: string): Promise<number> {
  const [row] = await countWaiting(db, [orderId]);
  return Number(row?.n ?? 0);
}

/** Adds units to an order's reservation line of a product (a backorder served). */
export async function addToReservationLine(db: Db, orderId: string, productId: string, quantity: number): Promise<void> {
  const [row] = await addToLine(db, [quantity, orderId, productId]);
  if (!row) throw new Error(`order ${orderId} has no reservation line of ${productId}`);
}

/**
 * Locks an order's reservation row and reads its status after the lock: two restocks of two
 * products serving the last backorders of one order see each other, and one of them completes it.
 */
export async function lockReservationStatus(db: Db, orderId: string): Promise<string | undefined> {
  const [row] = await lockReservation(db, [orderId]);
  return row?.status;
}

/** Units of WAITING backorders not yet allocated, per product (the ledger's check of `backordered`). */
export async function waitingByProduct(db: Db): Promise<Map<string, number>> {
  const rows = await db
    .selectFrom('inventory_backorders')
    .select(['product_id', (eb) => eb.fn.sum<number>(eb('quantity', '-', eb.ref('allocated'))).as('units')])
    .where('status', '=', 'WAITING')
    .groupBy('product_id')
    .execute();
  return new Map(rows.map((r) => [r.product_id, Number(r.units)]));
}
