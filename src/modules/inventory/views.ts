import type { AlertView, BackorderView, InventoryLevel, ProductView } from './api.js';
import type { StoredBackorder } from './storage/backorder-repository.js';
import { alertMessage, availableOf, type StockLevel } from './domain/stock.js';
import type { AlertRow, ProductRow } from './storage/tables.js';

export function toProductView(row: ProductRow): ProductView {
  return {
    productId: row.product_id,
    sku: row.sku,
    name: row.name,
    price: row.price,
    currency: row.currency,
    onHand: row.on_hand,
    reserved: row.reserved,
    available: row.on_hand - row.reserved,
    reorderPoint: row.reorder_point,
    allowBackorders: row.allow_backorders === 1,
    backordered: row.backordered,
    createdAt: new Date(row.created_at).toISOString(),
    updatedAt: new Date(row.updated_at).toISOString(),
  };
}

export function toInventoryLevel(productId: string, level: StockLevel, backordered: number): InventoryLevel {
  return { productId, onHand: level.onHand, reserved: level.reserved, available: availableOf(level), backordered, reorderPoint: level.reorderPoint };
}

export function toAlertView(row: AlertRow): AlertView {
  return {
    alertId: row.alert_id,
    productId: row.product_id,
    available: row.available,
    reorderPoint: row.reorder_point,
    openedAt: new Date(row.opened_at).toISOString(),
    resolvedAt: row.resolved_at === null ? null : new Date(row.resolved_at).toISOString(),
    message: alertMessage(row.product_id, row.available, row.reorder_point),
  };
}

export function toBackorderView(b: StoredBackorder): BackorderView {
  return {
    productId: b.productId,
    quantity: b.quantity,
    allocated: b.allocated,
    status: b.status,
    createdAt: new Date(b.createdAt).toISOString(),
    updatedAt: new Date(b.updatedAt).toISOString(),
  };
}
