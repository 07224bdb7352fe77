/**
 * The inventory module: products, stock levels, all-or-nothing reservations and low-stock
 * alerts. Other modules import from here only, and only for event types.
 */

/** The module factory and its types. */
export { createInventoryModule, type InventoryModule, type InventoryOptions } from './module.js';
/** The commands and queries `connect(runtime)` returns, and the views they answer with. */
export type { AlertView, BackorderView, InventoryApi, InventoryLevel, ProductPage, ProductView, ReservationView, StockLedgerEntry } from './api.js';
/** Inputs of the commands and the quote port. */
export type { NewProductInput, Quote, QuoteItem } from './domain/products.js';
/** A reservation's status and lines; a line that could not be reserved. */
export type { ReservationLine, ReservationStatus, Shortage } from './domain/reservations.js';
/** Where a backorder stands. */
export type { BackorderStatus } from './domain/backorders.js';
/** A restock or correction. */
export type { StockAdjustment } from './domain/stock.js';
/** Payloads of the events inventory publishes. */
export type {
  BackorderFulfilledPayload,
  InventoryReleasedPayload,
  InventoryReservationShortPayload,
  OrderBackorderedPayload,
  InventoryReservationFailedPayload,
  InventoryReservedPayload,
  LowStockDetectedPayload,
  StockAdjustedPayload,
  StockMovement,
} from './events.js';
/** The names of the events inventory publishes. */
export { inventoryEventTypes } from './events.js';
