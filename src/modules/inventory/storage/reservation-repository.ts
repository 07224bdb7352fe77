import type { Kysely } from 'kysely';
import { reservationLines, type ReservationLine, type ReservationStatus } from '../domain/reservations.js';
import { isPostgres, rowsStatement, statement } from '../../../platform/storage/statements.js';
import type { InventoryTables } from './tables.js';

type Db = Kysely<InventoryTables>;

// Every order claims, reads and moves its reservation: statements written once.
const claim = statement<{ order_id: string }>(
  `insert into inventory_reservations (order_id, status, reason, created_at, updated_at) values (?, 'reserved', null, ?, ?) on conflict (order_id) do nothing returning order_id`,
);
const insertLines = rowsStatement('insert into inventory_reservation_lines (order_id, product_id, quantity)', 3);
const transition = statement<{ order_id: string }>('update inventory_reservations set status = ?, updated_at = ? where order_id = ? and status = ? returning order_id');
const selectReservation = statement<{ order_id: string; status: string }>('select order_id, status from inventory_reservations where order_id = ?');
const selectLines = statement<{ product_id: string; quantity: number }>('select product_id, quantity from inventory_reservation_lines where order_id = ?');

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
  return (await claim(db, [orderId, now, now])).length === 1;
}

/** Nothing waits for the answer in a PostgreSQL transaction (`Statement.send`): it goes out with the next statement. */
export async function insertReservationLines(db: Db, orderId: string, lines: readonly ReservationLine[]): Promise<void> {
  await insertLines.send(db, lines.map((l) => [orderId, l.productId, l.quantity]));
}

export async function markReservationFailed(db: Db, orderId: string, reason: string, now: number): Promise<void> {
  await db.updateTable('inventory_reservations').set({ status: 'failed', reason, updated_at: now }).where('order_id', '=', orderId).execute();
}

const deleteLines = statement('delete from inventory_reservation_lines where order_id = ?');

/** The reservation's lines become `lines` (an item edit applied); lines of no units are left out. */
export async function replaceReservationLines(db: Db, orderId: string, lines: readonly ReservationLine[]): Promise<void> {
  await deleteLines(db, [orderId]);
  const kept = lines.filter((l) => l.quantity > 0);
  if (kept.length > 0) await insertReservationLines(db, orderId, kept);
}

/**
 * Moves the reservation from `from` to `to` and reads its lines once the move holds its row:
 * they cannot change before the commit. Undefined (nothing moved) when it was not in `from`. In a
 * PostgreSQL transaction the move and the read go out together, one round trip.
 */
export async function takeReservation(db: Db, orderId: string, from: ReservationStatus, to: ReservationStatus, now: number): Promise<StoredReservation | undefined> {
  const moved = await transition.send(db, [to, now, orderId, from]);
  const lines = await selectLines(db, [orderId]);
  if ((await moved.answer).length === 0) return undefined;
  return { orderId, status: to, lines: reservationLines(lines.map((l) => ({ productId: l.product_id, quantity: Number(l.quantity) }))) };
}

/** Moves a reservation from one status to another; false when it was no longer in `from`. */
export async function transitionReservation(db: Db, orderId: string, from: ReservationStatus, to: ReservationStatus, now: number): Promise<boolean> {
  return (await transition(db, [to, now, orderId, from])).length === 1;
}

/**
 * The order's reservation and its lines. In a PostgreSQL transaction the two reads go out
 * together, one round trip (the lines' read runs after the reservation's, on a snapshot of its own).
 */
export async function findReservation(db: Db, orderId: string): Promise<StoredReservation | undefined> {
  let row: { order_id: string; status: string } | undefined;
  let lines: { product_id: string; quantity: number }[];
  if (isPostgres(db) && db.isTransaction) {
    const sent = await selectReservation.send(db, [orderId]);
    lines = await selectLines(db, [orderId]);
    [row] = await sent.answer;
    if (!row) return undefined;
  } else {
    [row] = await selectReservation(db, [orderId]);
    if (!row) return undefined;
    lines = await selectLines(db, [orderId]);
  }
  return {
    orderId: row.order_id,
    status: row.status as ReservationStatus,
    // Sorted in JavaScript: the same (bytewise) order the reservation locked the rows in.
    lines: reservationLines(lines.map((l) => ({ productId: l.product_id, quantity: Number(l.quantity) }))),
  };
}

/** Units held by reservations still open (`reserved`, or waiting for stock or review), per product. */
export async function openReservedByProduct(db: Db): Promise<Map<string, number>> {
  const rows = await db
    .selectFrom('inventory_reservation_lines as l')
    .innerJoin('inventory_reservations as r', 'r.order_id', 'l.order_id')
    .select(['l.product_id', (eb) => eb.fn.sum<number>('l.quantity').as('quantity')])
    .where('r.status', 'in', ['reserved', 'waiting', 'review'])
    .groupBy('l.product_id')
    .execute();
  return new Map(rows.map((r) => [r.product_id, Number(r.quantity)]));
}
