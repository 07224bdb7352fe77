import type { CommandOrigin } from '../../../kernel/envelope.js';
import { AppError } from '../../../kernel/errors.js';
import type { ModuleRuntime } from '../../../platform/engine.js';
import type { ProductView } from '../api.js';
import { validateNewProduct, type NewProductInput } from '../domain/products.js';
import { findProduct, insertProduct } from '../storage/product-repository.js';
import type { InventoryTables } from '../storage/tables.js';
import { toProductView } from '../views.js';
import { moveAlert, recordStockChange } from './record-stock-change.js';

/**
 * Command: adds a product with its initial stock. Emits StockAdjusted (`initial stock`) when
 * stock > 0, and opens a low-stock alert when available ≤ reorderPoint.
 */
export function createProduct(runtime: ModuleRuntime, source: string) {
  return async (input: NewProductInput, origin?: CommandOrigin): Promise<ProductView> => {
    const product = validateNewProduct(input);
    return runtime.unitOfWork.run<ProductView, InventoryTables>(source, async (tx) => {
      if (!(await insertProduct(tx.db, product, tx.now))) {
        throw new AppError('conflict', 'PRODUCT_EXISTS', `product ${product.productId} already exists`);
      }
      const level = { onHand: product.stock, reserved: 0, reorderPoint: product.reorderPoint };
      if (product.stock > 0) {
        await recordStockChange(tx, runtime.ids, {
          productId: product.productId,
          level,
          quantityAdjusted: product.stock,
          reason: 'initial stock',
          movement: 'initial',
        });
      } else await moveAlert(tx, runtime.ids, product.productId, level);
      const row = await findProduct(tx.db, product.productId);
      return toProductView(row!);
    }, origin);
  };
}
