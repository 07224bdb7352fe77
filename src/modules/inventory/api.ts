import type { CommandOrigin } from '../../kernel/envelope.js';
import type { NewProductInput, Quote, QuoteItem } from './domain/products.js';
import type { ReservationLine, ReservationStatus } from './domain/reservations.js';
import type { StockAdjustment } from './domain/stock.js';

/** A catalog product with its stock (price in integer minor units of `currency`). */
export interface ProductView {
  productId: string;
  sku: string | null;
  name: string;
  price: number;
  currency: string;
  onHand: number;
  reserved: number;
  available: number;
  reorderPoint: number;
  createdAt: string;
  updatedAt: string;
}

/** A product's stock counters; `available = onHand − reserved`. */
export interface InventoryLevel {
  productId: string;
  onHand: number;
  reserved: number;
  available: number;
  reorderPoint: number;
}

/** A low-stock alert; `available` is the latest quantity seen while it was open. */
export interface AlertView {
  alertId: string;
  productId: string;
  available: number;
  reorderPoint: number;
  openedAt: string;
  resolvedAt: string | null;
  message: string;
}

/** One order's reservation and the units it holds or held. */
export interface ReservationView {
  orderId: string;
  status: ReservationStatus;
  lines: ReservationLine[];
}

/**
 * A product's stock accounting, for invariant checks:
 * `onHand = initialStock + restocked − shipped` and `reserved = openReservations`.
 */
export interface StockLedgerEntry {
  productId: string;
  onHand: number;
  reserved: number;
  initialStock: number;
  /** Sum of adjustStock deltas. */
  restocked: number;
  /** Units that left with shipments. */
  shipped: number;
  /** Units held by reservations whose status is `reserved`. */
  openReservations: number;
}

/** A page of products in productId order. */
export interface ProductPage {
  products: ProductView[];
  /** Pass back as `cursor` for the next page; null on the last page. */
  nextCursor: string | null;
}

/** The inventory module's commands and queries. */
export interface InventoryApi {
  /** Adds a product to the catalog with its initial stock. */
  createProduct(input: NewProductInput, origin?: CommandOrigin): Promise<ProductView>;
  getProduct(productId: string): Promise<ProductView | undefined>;
  listProducts(options?: { limit?: number; cursor?: string | null }): Promise<ProductPage>;
  getInventory(productId: string): Promise<InventoryLevel | undefined>;
  /** Restock (delta > 0) or correction (delta < 0) of the units on hand. */
  adjustStock(productId: string, adjustment: StockAdjustment, origin?: CommandOrigin): Promise<InventoryLevel>;
  /** Open alerts, or with `resolved: true` the closed ones. */
  listAlerts(options?: { resolved?: boolean }): Promise<AlertView[]>;
  /** Prices items from the catalog: the port Orders uses to price an order. */
  quote(items: readonly QuoteItem[]): Promise<Quote>;
  reservationOf(orderId: string): Promise<ReservationView | undefined>;
  /** Per-product stock accounting (tests and operators check the conservation invariants). */
  stockLedger(): Promise<StockLedgerEntry[]>;
}
