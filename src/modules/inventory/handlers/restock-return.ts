import type { PayloadOf } from '../../../kernel/catalog.js';
import type { EventEnvelope } from '../../../kernel/envelope.js';
import type { IdGenerator } from '../../../kernel/ids.js';
import type { HandlerContext } from '../../../platform/delivery/consumer.js';
import { adjustUnits } from '../storage/product-repository.js';
import type { InventoryTables } from '../storage/tables.js';
import { recordStockChange } from './record-stock-change.js';
import { serveBackorders } from './serve-backorders.js';

/**
 * ReturnReceived with `restock` → the returned units are back on hand (StockAdjusted, movement
 * `return`); damaged goods (`restock: false`) stay out of stock. Products in id order, as every
 * handler that touches several products takes their rows.
 */
export function restockReturn(ids: IdGenerator) {
  return async (event: EventEnvelope<PayloadOf<'ReturnReceived'>>, ctx: HandlerContext<InventoryTables>): Promise<void> => {
    const { returnId, orderId, lines, restock } = event.payload;
    if (!restock) {
      ctx.log.info({ orderId, returnId }, 'ReturnReceived: damaged goods, not restocked');
      return;
    }
    for (const line of [...lines].sort((a, b) => (a.productId < b.productId ? -1 : a.productId > b.productId ? 1 : 0))) {
      const level = await adjustUnits(ctx.db, line.productId, line.quantity, ctx.now);
      if (!level) {
        ctx.log.warn({ orderId, returnId, productId: line.productId }, 'ReturnReceived: the product no longer exists; its units were not restocked');
        continue;
      }
      await recordStockChange(ctx, ids, {
        productId: line.productId,
        level,
        quantityAdjusted: line.quantity,
        reason: `return ${returnId} of order ${orderId} restocked`,
        movement: 'return',
        orderId,
      });
    }
    // Returned units serve waiting backorders first (every product's row is locked by now).
    for (const line of lines) await serveBackorders(ctx, ids, line.productId, `return ${returnId} restocked`);
  };
}
