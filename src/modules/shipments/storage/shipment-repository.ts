import type { Kysely } from 'kysely';
import type { ShipmentStatus } from '../domain/shipment.js';
import type { ShipmentRow, ShipmentsDb } from './tables.js';

type Db = Kysely<ShipmentsDb>;

/** A line of the shipment. */
export interface ShipmentItem {
  productId: string;
  quantity: number;
}

/** Where the shipment goes (the order's shipping address, as the customer gave it). */
export interface ShippingAddress {
  street: string;
  city: string;
  postalCode: string;
  country: string;
  [field: string]: unknown;
}

/** A shipment as the API shows it; times are ISO-8601 or null. */
export interface ShipmentView {
  shipmentId: string;
  orderId: string;
  status: ShipmentStatus;
  trackingNumber: string;
  items: ShipmentItem[];
  shippingAddress: ShippingAddress;
  createdAt: string;
  dispatchedAt: string | null;
  deliveredAt: string | null;
}

export function findShipment(db: Db, shipmentId: string): Promise<ShipmentRow | undefined> {
  return db.selectFrom('shipments').selectAll().where('shipment_id', '=', shipmentId).executeTakeFirst();
}

export function findShipmentByOrder(db: Db, orderId: string): Promise<ShipmentRow | undefined> {
  return db.selectFrom('shipments').selectAll().where('order_id', '=', orderId).executeTakeFirst();
}

/** Inserts a new shipment; false when the order already has one (the unique order id decides a race). */
export async function insertShipment(db: Db, row: ShipmentRow): Promise<boolean> {
  const inserted = await db
    .insertInto('shipments')
    .values(row)
    .onConflict((oc) => oc.column('order_id').doNothing())
    .returning('shipment_id')
    .executeTakeFirst();
  return inserted !== undefined;
}

const STAMP = { DISPATCHED: 'dispatched_at', DELIVERED: 'delivered_at', CANCELLED: 'cancelled_at' } as const;

/**
 * Moves a shipment from the status it was read in to `next`, stamping the time; undefined when
 * someone moved it first (the update is guarded by the status read).
 */
export async function moveShipment(db: Db, current: ShipmentRow, next: Exclude<ShipmentStatus, 'CREATED'>, now: number): Promise<ShipmentRow | undefined> {
  const changes = { status: next, updated_at: now, [STAMP[next]]: now };
  const result = await db
    .updateTable('shipments')
    .set(changes)
    .where('shipment_id', '=', current.shipment_id)
    .where('status', '=', current.status)
    .executeTakeFirst();
  return Number(result.numUpdatedRows) === 1 ? { ...current, ...changes } : undefined;
}

/** Remembers that an order was cancelled (idempotent). */
export async function recordCancelledOrder(db: Db, orderId: string, reason: string, now: number): Promise<void> {
  await db
    .insertInto('shipment_cancelled_orders')
    .values({ order_id: orderId, reason, cancelled_at: now })
    .onConflict((oc) => oc.column('order_id').doNothing())
    .execute();
}

export async function isOrderCancelled(db: Db, orderId: string): Promise<boolean> {
  const row = await db.selectFrom('shipment_cancelled_orders').select('order_id').where('order_id', '=', orderId).executeTakeFirst();
  return row !== undefined;
}

export function toShipmentView(row: ShipmentRow): ShipmentView {
  return {
    shipmentId: row.shipment_id,
    orderId: row.order_id,
    status: row.status,
    trackingNumber: row.tracking_number,
    items: JSON.parse(row.items) as ShipmentItem[],
    shippingAddress: JSON.parse(row.shipping_address) as ShippingAddress,
    createdAt: iso(row.created_at),
    dispatchedAt: row.dispatched_at === null ? null : iso(row.dispatched_at),
    deliveredAt: row.delivered_at === null ? null : iso(row.delivered_at),
  };
}

export const iso = (ms: number | string) => new Date(Number(ms)).toISOString();
