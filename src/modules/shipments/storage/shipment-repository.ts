import type { Kysely } from 'kysely';
import type { ShipmentStatus } from '../domain/shipment.js';
import { rowStatement, statement } from '../../../platform/storage/statements.js';
import type { ShipmentRow, ShipmentsDb } from './tables.js';

type Db = Kysely<ShipmentsDb>;

// Every paid order gets a shipment: statements written once.
const SHIPMENT_COLUMNS = [
  'shipment_id', 'order_id', 'status', 'tracking_number', 'items', 'shipping_address', 'customer_id', 'payment_id', 'correlation_id', 'created_at', 'updated_at', 'dispatched_at', 'delivered_at', 'cancelled_at',
] as const satisfies readonly (keyof ShipmentRow)[];
const everyShipmentColumn: Exclude<keyof ShipmentRow, (typeof SHIPMENT_COLUMNS)[number]> extends never ? true : never = true;
void everyShipmentColumn;
const insertShipmentRow = rowStatement<ShipmentRow, { shipment_id: string }>('shipments', SHIPMENT_COLUMNS, 'on conflict (order_id) do nothing returning shipment_id');
const selectByOrder = statement<ShipmentRow>('select * from shipments where order_id = ?');
const selectCancelled = statement<{ order_id: string }>('select order_id from shipment_cancelled_orders where order_id = ?');
/** A row always: the shipment's columns (null without one) and whether the order was cancelled. */
const selectWithCancellation = statement<Partial<Record<keyof ShipmentRow, unknown>> & { shipment_id: string | null; cancelled: boolean | number }>(
  `select s.*, exists (select 1 from shipment_cancelled_orders where order_id = ?) as cancelled
   from (select 1 as one) as one left join shipments s on s.order_id = ?`,
);

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

export async function findShipmentByOrder(db: Db, orderId: string): Promise<ShipmentRow | undefined> {
  const [row] = await selectByOrder(db, [orderId]);
  return row;
}

/** The order's shipment, if any, and whether the order was cancelled: one statement. */
export async function shipmentAndCancellationOf(db: Db, orderId: string): Promise<{ shipment: ShipmentRow | undefined; cancelled: boolean }> {
  const [row] = await selectWithCancellation(db, [orderId, orderId]);
  const { cancelled, ...shipment } = row!;
  return { shipment: shipment.shipment_id === null ? undefined : (shipment as ShipmentRow), cancelled: Boolean(cancelled) };
}

/** Inserts a new shipment; false when the order already has one (the unique order id decides a race). */
export async function insertShipment(db: Db, row: ShipmentRow): Promise<boolean> {
  return (await insertShipmentRow(db, row)).length === 1;
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

/** A new destination for a shipment that has not left (CREATED); false when it has (or is gone). */
export async function readdressShipment(db: Db, shipmentId: string, address: ShippingAddress, now: number): Promise<boolean> {
  const result = await db
    .updateTable('shipments')
    .set({ shipping_address: JSON.stringify(address), updated_at: now })
    .where('shipment_id', '=', shipmentId)
    .where('status', '=', 'CREATED')
    .executeTakeFirst();
  return Number(result.numUpdatedRows) === 1;
}

/** The shipment, while still CREATED, carries `items` instead (an item edit applied); false once it left. */
export async function repackShipment(db: Db, shipmentId: string, items: readonly { productId: string; quantity: number }[], now: number): Promise<boolean> {
  const result = await db
    .updateTable('shipments')
    .set({ items: JSON.stringify(items.map(({ productId, quantity }) => ({ productId, quantity }))), updated_at: now })
    .where('shipment_id', '=', shipmentId)
    .where('status', '=', 'CREATED')
    .executeTakeFirst();
  return Number(result.numUpdatedRows) === 1;
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
  return (await selectCancelled(db, [orderId])).length === 1;
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
