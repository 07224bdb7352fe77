import type { Kysely } from 'kysely';
import { AppError } from '../../kernel/errors.js';
import type { AlertView, BackorderView, InventoryLevel, ProductPage, ProductView, ReservationView, StockLedgerEntry } from './api.js';
import { priceItems, type CatalogEntry, type Quote, type QuoteItem } from './domain/products.js';
import { listAlertRows } from './storage/alert-repository.js';
import { backordersOfOrder, waitingByProduct } from './storage/backorder-repository.js';
import { heldForEditsByProduct } from './storage/edit-hold-repository.js';
import { allProducts, findProduct, findProductsByIds, listProductRows } from './storage/product-repository.js';
import { findReservation, openReservedByProduct } from './storage/reservation-repository.js';
import type { InventoryTables } from './storage/tables.js';
import { toAlertView, toBackorderView, toInventoryLevel, toProductView } from './views.js';

const DEFAULT_PAGE = 50;
const MAX_PAGE = 200;

/** The read side: queries over the module's own tables. */
export function createInventoryQueries(db: Kysely<InventoryTables>) {
  return {
    async getProduct(productId: string): Promise<ProductView | undefined> {
      const row = await findProduct(db, productId);
      return row && toProductView(row);
    },

    async listProducts(options: { limit?: number; cursor?: string | null } = {}): Promise<ProductPage> {
      const limit = pageSize(options.limit);
      const after = options.cursor ? decodeCursor(options.cursor) : undefined;
      const rows = await listProductRows(db, after, limit + 1);
      const page = rows.slice(0, limit);
      const last = page[page.length - 1];
      return { products: page.map(toProductView), nextCursor: rows.length > limit && last ? encodeCursor(last.product_id) : null };
    },

    async getInventory(productId: string): Promise<InventoryLevel | undefined> {
      const row = await findProduct(db, productId);
      return row && toInventoryLevel(productId, { onHand: row.on_hand, reserved: row.reserved, reorderPoint: row.reorder_point }, row.backordered);
    },

    async backordersOf(orderId: string): Promise<BackorderView[]> {
      return (await backordersOfOrder(db, orderId)).map(toBackorderView);
    },

    async listAlerts(options: { resolved?: boolean } = {}): Promise<AlertView[]> {
      return (await listAlertRows(db, options.resolved === true)).map(toAlertView);
    },

    async quote(items: readonly QuoteItem[]): Promise<Quote> {
      const ids = Array.isArray(items) ? [...new Set(items.map((i) => i.productId))] : [];
      const rows = await findProductsByIds(db, ids);
      const catalog = new Map<string, CatalogEntry>(rows.map((r) => [r.product_id, { productId: r.product_id, name: r.name, price: r.price, currency: r.currency }]));
      return priceItems(items, catalog);
    },

    reservationOf: (orderId: string): Promise<ReservationView | undefined> => findReservation(db, orderId),

    async stockLedger(): Promise<StockLedgerEntry[]> {
      const [products, open, waiting, heldForEdits] = await Promise.all([allProducts(db), openReservedByProduct(db), waitingByProduct(db), heldForEditsByProduct(db)]);
      return products.map((p) => ({
        productId: p.product_id,
        onHand: p.on_hand,
        reserved: p.reserved,
        initialStock: p.initial_stock,
        restocked: p.restocked,
        shipped: p.shipped,
        // Units held by item edits under way are reserved too.
        openReservations: (open.get(p.product_id) ?? 0) + (heldForEdits.get(p.product_id) ?? 0),
        backordered: p.backordered,
        waitingBackorders: waiting.get(p.product_id) ?? 0,
      }));
    },
  };
}

function pageSize(limit: number | undefined): number {
  if (limit === undefined) return DEFAULT_PAGE;
  if (!Number.isSafeInteger(limit) || limit < 1 || limit > MAX_PAGE) {
    throw new AppError('validation', 'INVALID_LIMIT', `limit must be an integer between 1 and ${MAX_PAGE}`);
  }
  return limit;
}

function encodeCursor(productId: string): string {
  return Buffer.from(productId, 'utf8').toString('base64url');
}

function decodeCursor(cursor: string): string {
  const productId = Buffer.from(cursor, 'base64url').toString('utf8');
  if (productId === '' || encodeCursor(productId) !== cursor) throw new AppError('validation', 'INVALID_CURSOR', 'cursor is not one this API returned');
  return productId;
}
