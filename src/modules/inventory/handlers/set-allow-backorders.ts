import type { CommandOrigin } from '../../../kernel/envelope.js';
import { AppError, appError } from '../../../kernel/errors.js';
import type { ModuleRuntime } from '../../../platform/engine.js';
import type { ProductView } from '../api.js';
import { findProduct, setAllowBackorders as writeAllowBackorders } from '../storage/product-repository.js';
import type { InventoryTables } from '../storage/tables.js';
import { toProductView } from '../views.js';

/**
 * Command: turns a product's backorders on or off. Backorders already waiting stay in the
 * queue either way; the flag decides only what later short orders do.
 */
export function setAllowBackorders(runtime: ModuleRuntime, source: string) {
  return async (productId: string, allow: boolean, origin?: CommandOrigin): Promise<ProductView> => {
    if (typeof allow !== 'boolean') throw appError('BAD_ALLOW_BACKORDERS', 'allowBackorders must be true or false');
    return runtime.unitOfWork.run<ProductView, InventoryTables>(source, async (tx) => {
      if (!(await writeAllowBackorders(tx.db, productId, allow, tx.now))) throw new AppError('not_found', 'PRODUCT_NOT_FOUND', `no product ${productId}`);
      return toProductView((await findProduct(tx.db, productId))!);
    }, origin);
  };
}
