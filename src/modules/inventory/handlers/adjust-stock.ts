import type { CommandOrigin } from '../../../kernel/envelope.js';
import { AppError } from '../../../kernel/errors.js';
import type { ModuleRuntime } from '../../../platform/engine.js';
import type { InventoryLevel } from '../api.js';
import { checkAdjustment, decideAdjustment, type StockAdjustment } from '../domain/stock.js';
import { adjustUnits, lockProductStock, stockLevelOf } from '../storage/product-repository.js';
import type { InventoryTables } from '../storage/tables.js';
import { toInventoryLevel } from '../views.js';
import { recordStockChange } from './record-stock-change.js';
import { serveBackorders } from './serve-backorders.js';

/**
 * Command: a restock or a correction of the units on hand → StockAdjusted, and the low-stock
 * alert opens or closes as available crosses the reorder point. Never takes on hand below
 * zero or below the reserved units (INSUFFICIENT_STOCK). A restock serves the product's waiting
 * backorders first placed, first served (BackorderFulfilled; InventoryReserved for an order
 * whose last backorder it served).
 */
export function adjustStock(runtime: ModuleRuntime, source: string) {
  return async (productId: string, adjustment: StockAdjustment, origin?: CommandOrigin): Promise<InventoryLevel> => {
    const invalid = checkAdjustment(adjustment);
    if (invalid) throw invalid;
    return runtime.unitOfWork.run<InventoryLevel, InventoryTables>(source, async (tx) => {
      const current = await stockLevelOf(tx.db, productId);
      if (!current) throw new AppError('not_found', 'PRODUCT_NOT_FOUND', `no product ${productId}`);
      const decision = decideAdjustment(current, adjustment);
      if (decision.kind === 'refused') throw decision.error;
      // The guard re-checks in the statement itself: a reservation may have committed since the read.
      const level = await adjustUnits(tx.db, productId, adjustment.delta, tx.now);
      if (!level) throw new AppError('conflict', 'INSUFFICIENT_STOCK', `cannot remove ${-adjustment.delta} units of ${productId}: stock changed concurrently`);
      const { backordered } = (await lockProductStock(tx.db, productId))!;
      await recordStockChange(tx, runtime.ids, {
        productId,
        level,
        quantityAdjusted: adjustment.delta,
        reason: adjustment.reason,
        movement: 'adjustment',
      });
      if (adjustment.delta < 0) return toInventoryLevel(productId, level, backordered);
      // A restock serves the product's waiting backorders first, in the same transaction.
      await serveBackorders(tx, runtime.ids, productId, adjustment.reason);
      const after = await lockProductStock(tx.db, productId);
      return toInventoryLevel(productId, after!.level, after!.backordered);
    }, origin);
  };
}
