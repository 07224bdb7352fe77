import type { CommandOrigin } from '../../kernel/envelope.js';
import type { BackorderStatus } from './domain/backorders.js';
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
  /** Whether an order short of this product waits for a restock instead of being refused. */
  allowBackorders: boolean;
  /** Units ordered and waiting for a restock (kept apart: never taken from `available`). */
  backordered: number;
  createdAt: string;
  updatedAt: string;
}

/** A product's stock counters; `available = onHand − reserved`, never negative; `backordered` apart. */
export interface InventoryLevel {
  productId: string;
  onHand: number;
  reserved: number;
  available: number;
  /** Units waiting backorders still miss. */
  backordered: number;
  reorderPoint: number;
}

/** What an order is short of one product, and how far it got. */
export interface BackorderView {
  productId: string;
  /** Units the order was short of at placement. */
  quantity: number;
  /** Units reserved for it since (restocks, released stock). */
  allocated: number;
  /** REVIEW (held for an admin's override), WAITING (for a restock), FULFILLED or CANCELLED. */
  status: BackorderStatus;
  createdAt: string;
  updatedAt: string;
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
  /** Units held by open reservations (reserved, or waiting for stock or review). */
  openReservations: number;
  /** The product's backordered counter. */
  backordered: number;
  /** Units its WAITING backorders still miss: must equal `backordered`. */
  waitingBackorders: number;
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
  /** Whether orders short of the product wait for a restock (true) or are refused (false); PRODUCT_NOT_FOUND. */
  setAllowBackorders(productId: string, allow: boolean, origin?: CommandOrigin): Promise<ProductView>;
  /** An order's backorders, by productId (empty when it was never short). */
  backordersOf(orderId: string): Promise<BackorderView[]>;
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
