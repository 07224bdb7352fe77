import type { EventDraft } from '../../kernel/envelope.js';
import type { ReservationLine, Shortage } from './domain/reservations.js';

/**
 * The events the inventory module publishes (SPEC §3). Order-scoped events belong to the
 * Order aggregate (aggregateId = orderId); stock events to the Product (aggregateId = productId).
 */

/** Every line of an order was reserved. */
export interface InventoryReservedPayload {
  /** The order the stock is held for. */
  orderId: string;
  /** The units held, one line per product (lines of the same product are merged), by productId. */
  reservations: ReservationLine[];
}

/** The order could not be reserved; nothing was held. */
export interface InventoryReservationFailedPayload {
  /** The order that was refused. */
  orderId: string;
  /** `insufficient_stock`, or `unknown_product` when any line names a product the catalog lacks. */
  reason: 'insufficient_stock' | 'unknown_product';
  /** Every line that could not be served; `available` is 0 for unknown products. Each carries its own `reason`. */
  shortages: Shortage[];
}

/** A held reservation was given back (payment failed or order cancelled). */
export interface InventoryReleasedPayload {
  /** The order whose reservation was released. */
  orderId: string;
  /** The units returned to available stock. */
  items: ReservationLine[];
}

/** An order is short of a product that takes backorders (or an admin approved its shortfall): it waits for `quantity` units. */
export interface OrderBackorderedPayload {
  /** The order that waits. */
  orderId: string;
  /** The product it waits for. */
  productId: string;
  /** Units it waits for: what was ordered minus what was available. */
  quantity: number;
  /** Added: units of the line reserved at once (what was available). */
  reserved: number;
  /** Added: `backorders allowed` (the product takes them) or `override` (an admin approved the shortfall). */
  cause: 'backorders allowed' | 'override';
}

/** A waiting backorder has all its units: a restock (or stock given back) served it. */
export interface BackorderFulfilledPayload {
  /** The order served. */
  orderId: string;
  /** The product it waited for. */
  productId: string;
  /** Units of the backorder, now reserved for the order. */
  quantity: number;
}

/**
 * An order is short of a product that does not take backorders, and short orders are held
 * for review (SHORT_ORDER_REVIEW_MS > 0): what is available is held, the shortfalls wait for an
 * admin's override (OrderStockOverrideApplied) or the end of the review window.
 */
export interface InventoryReservationShortPayload {
  /** The order held for review. */
  orderId: string;
  /** Every short line: units requested and available when the order was placed. */
  shortages: { productId: string; requested: number; available: number }[];
}

/** Why stock moved, machine-readable (the `reason` text is for people). */
export type StockMovement = 'initial' | 'adjustment' | 'reservation' | 'release' | 'shipment' | 'return';

/** A product's stock moved: emitted on every change of available, and on shipment. */
export interface StockAdjustedPayload {
  /** The product whose stock moved. */
  productId: string;
  /** Change of the available quantity (negative when units were reserved or removed; 0 on shipment). */
  quantityAdjusted: number;
  /** Available quantity after the change (onHand − reserved). */
  newQuantity: number;
  /** Units on hand after the change. */
  onHand: number;
  /** Units reserved for orders after the change. */
  reserved: number;
  /** Human-readable cause, e.g. `initial stock`, an admin's restock reason, `order ORD-1 reserved`. */
  reason: string;
  /** What kind of movement this was. */
  movement: StockMovement;
  /** The order that caused the movement, for reservation, release and shipment. */
  orderId?: string;
}

/** A product's available quantity fell to or below its reorder point; one alert is open per product. */
export interface LowStockDetectedPayload {
  /** The product running low. */
  productId: string;
  /** Available quantity when the alert opened. */
  available: number;
  /** The product's reorder point. */
  reorderPoint: number;
  /** The id of the alert this opened (see listAlerts). */
  alertId: string;
  /** Human-readable description of the alert. */
  message: string;
}

/** The names of the events inventory publishes. */
export const inventoryEventTypes = [
  'InventoryReserved',
  'InventoryReservationFailed',
  'InventoryReservationShort',
  'InventoryReleased',
  'StockAdjusted',
  'LowStockDetected',
  'OrderBackordered',
  'BackorderFulfilled',
] as const;

/** The draft of an InventoryReserved event (aggregate: the Order). */
export function inventoryReserved(payload: InventoryReservedPayload, correlationId?: string): EventDraft {
  return { eventType: 'InventoryReserved', aggregateType: 'Order', aggregateId: payload.orderId, ...(correlationId === undefined ? {} : { correlationId }), payload: { ...payload } };
}

/** The draft of an InventoryReservationFailed event (aggregate: the Order). */
export function inventoryReservationFailed(payload: InventoryReservationFailedPayload): EventDraft {
  return { eventType: 'InventoryReservationFailed', aggregateType: 'Order', aggregateId: payload.orderId, payload: { ...payload } };
}

/** The draft of an InventoryReleased event (aggregate: the Order). */
export function inventoryReleased(payload: InventoryReleasedPayload): EventDraft {
  return { eventType: 'InventoryReleased', aggregateType: 'Order', aggregateId: payload.orderId, payload: { ...payload } };
}

/** The draft of a StockAdjusted event (aggregate: the Product). */
export function stockAdjusted(payload: StockAdjustedPayload): EventDraft {
  return { eventType: 'StockAdjusted', aggregateType: 'Product', aggregateId: payload.productId, payload: { ...payload } };
}

/** The draft of a LowStockDetected event (aggregate: the Product). */
export function lowStockDetected(payload: LowStockDetectedPayload): EventDraft {
  return { eventType: 'LowStockDetected', aggregateType: 'Product', aggregateId: payload.productId, payload: { ...payload } };
}

/** The draft of an InventoryEditReserved event: the units an item edit adds are held (aggregate: the Order). */
export function inventoryEditReserved(payload: { orderId: string; editId: string; reservations: { productId: string; quantity: number }[] }): EventDraft {
  return { eventType: 'InventoryEditReserved', aggregateType: 'Order', aggregateId: payload.orderId, payload: { ...payload } };
}

/** The draft of an InventoryEditReservationFailed event: the units an item edit adds are not all available. */
export function inventoryEditReservationFailed(payload: {
  orderId: string;
  editId: string;
  reason: string;
  shortages: { productId: string; requested: number; available: number }[];
}): EventDraft {
  return { eventType: 'InventoryEditReservationFailed', aggregateType: 'Order', aggregateId: payload.orderId, payload: { ...payload } };
}

/** The draft of an OrderBackordered event (aggregate: the Order, in the order's flow). */
export function orderBackordered(payload: OrderBackorderedPayload, correlationId: string): EventDraft {
  return { eventType: 'OrderBackordered', aggregateType: 'Order', aggregateId: payload.orderId, correlationId, payload: { ...payload } };
}

/** The draft of a BackorderFulfilled event (aggregate: the Order, in the order's flow). */
export function backorderFulfilled(payload: BackorderFulfilledPayload, correlationId: string): EventDraft {
  return { eventType: 'BackorderFulfilled', aggregateType: 'Order', aggregateId: payload.orderId, correlationId, payload: { ...payload } };
}

/** The draft of an InventoryReservationShort event (aggregate: the Order). */
export function inventoryReservationShort(payload: InventoryReservationShortPayload): EventDraft {
  return { eventType: 'InventoryReservationShort', aggregateType: 'Order', aggregateId: payload.orderId, payload: { ...payload } };
}
