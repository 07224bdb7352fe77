import type { IdGenerator } from '../../../kernel/ids.js';
import type { TxContext } from '../../../platform/log/tx-context.js';
import { alertMessage, availableOf, decideAlert, type StockLevel } from '../domain/stock.js';
import { lowStockDetected, stockAdjusted, type StockMovement } from '../events.js';
import { insertAlert, openAlertOf, refreshOpenAlert, resolveOpenAlert } from '../storage/alert-repository.js';
import type { InventoryTables } from '../storage/tables.js';

/** A movement of one product's stock, with its counters after the change. */
export interface StockChange {
  productId: string;
  level: StockLevel;
  quantityAdjusted: number;
  reason: string;
  movement: StockMovement;
  orderId?: string;
}

/**
 * Publishes a stock movement (StockAdjusted) and moves the product's low-stock alert. Runs
 * after the product row was updated in this transaction, so its row lock orders alert changes
 * of one product across concurrent transactions.
 */
export async function recordStockChange(tx: TxContext<InventoryTables>, ids: IdGenerator, change: StockChange): Promise<void> {
  const { productId, level } = change;
  tx.emit(
    stockAdjusted({
      productId,
      quantityAdjusted: change.quantityAdjusted,
      newQuantity: availableOf(level),
      onHand: level.onHand,
      reserved: level.reserved,
      reason: change.reason,
      movement: change.movement,
      ...(change.orderId === undefined ? {} : { orderId: change.orderId }),
    }),
  );
  await moveAlert(tx, ids, productId, level);
}

/** Opens, refreshes or closes the product's low-stock alert for its new level (LowStockDetected on open). */
export async function moveAlert(tx: TxContext<InventoryTables>, ids: IdGenerator, productId: string, level: StockLevel): Promise<void> {
  const available = availableOf(level);
  // The product's flag says there is no open alert, and none is needed: nothing to look up.
  if (level.alertOpen === false && decideAlert(level, false) === 'none') return;
  const open = await openAlertOf(tx.db, productId);
  switch (decideAlert(level, open !== undefined)) {
    case 'open': {
      const alertId = ids.next();
      await insertAlert(tx.db, { alert_id: alertId, product_id: productId, available, reorder_point: level.reorderPoint, opened_at: tx.now });
      tx.emit(lowStockDetected({ productId, available, reorderPoint: level.reorderPoint, alertId, message: alertMessage(productId, available, level.reorderPoint) }));
      return;
    }
    case 'refresh':
      if (open && open.available !== available) await refreshOpenAlert(tx.db, productId, available, level.reorderPoint);
      return;
    case 'close':
      await resolveOpenAlert(tx.db, productId, tx.now);
      return;
    case 'none':
      return;
  }
}
