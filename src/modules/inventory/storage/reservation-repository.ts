import type { Kysely } from 'kysely';
import { reservationLines, type ReservationLine, type ReservationStatus } from '../domain/reservations.js';
import type { InventoryTables } from './tables.js';

type Db = Kysely<InventoryTables>;

/** A reservation with its lines. */
export interface StoredReservation {
  orderId: string;
  status: ReservationStatus;
  lines: ReservationLine[];
}

/**
 * Claims the order for reservation: false when the order already has a reservation record
 * (a redelivered or repeated OrderPlaced), so it is never reserved twice.
 */
export async function claimReservation(db: Db, orderId: string, now: number): Promise<boolean> {
  const row = await db
    .insertInto('inventory_reservations')
    .values({ order_id: orderId, status: 'reserved', reason: null, created_at: now, updated_at: now })
    .onConflict((oc) => oc.column('order_id').doNothing())
    .returning('order_id')
    .executeTakeFirst();
  return row !== undefined;
}

export async function insertReservationLines(db: Db, orderId: string, lines: readonly ReservationLine[]): Promise<void> {
  if (lines.length === 0) return;
  await db
    .insertInto('inventory_reservation_lines')
    .values(lines.map((l) => ({ order_id: orderId, product_id: l.productId, quantity: l.quantity })))
    .execute();
}

export async function markReservationFailed(db: Db, orderId: string, reason: string, now: number): Promise<void> {
  await db.updateTable('inventory_reservations').set({ status: 'failed', reason, updated_at: now }).where('order_id', '=', orderId).execute();
}

/** Moves a reservation from one status to another; false when it was no longer in `from`. */
export async function transitionReservation(db: Db, orderId: string, from: ReservationStatus, to: ReservationStatus, now: number): Promise<boolean> {
  const result = await db
    .updateTable('inventory_reservations')
    .set({ status: to, updated_at: now })
    .where('order_id', '=', orderId)
    .where('status', '=', from)
    .executeTakeFirst();
  return Number(result.numUpdatedRows) === 1;
}

export async function findReservation(db: Db, orderId: string): Promise<StoredReservation | undefined> {
  const row = await db.selectFrom('inventory_reservations').select(['order_id', 'status']).where('order_id', '=', orderId).executeTakeFirst();
  if (!row) return undefined;
  const lines = await db
    .selectFrom('inventory_reservation_lines')
    .select(['product_id', 'quantity'])
    .where('order_id', '=', orderId)
    .execute();
  return {
    orderId: row.order_id,
    status: row.status as ReservationStatus,
    // Sorted in JavaScript: the same (bytewise) order the reservation locked the rows in.
    lines: reservationLines(lines.map((l) => ({ productId: l.product_id, quantity: Number(l.quantity) }))),
  };
}

/** Units held by reservations still in status `reserved`, per product. */
export async function openReservedByProduct(db: Db): Promise<Map<string, number>> {
  const rows = await db
    .selectFrom('inventory_reservation_lines as l')
    .innerJoin('inventory_reservations as r', 'r.order_id', 'l.order_id')
    .select(['l.product_id', (eb) => eb.fn.sum<number>('l.quantity').as('quantity')])
    .where('r.status', '=', 'reserved')
    .groupBy('l.product_id')
    .execute();
  return new Map(rows.map((r) => [r.product_id, Number(r.quantity)]));
}
