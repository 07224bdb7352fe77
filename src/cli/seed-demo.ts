import type { Config } from '../config.js';
import { AppError } from '../kernel/errors.js';
import { currencyExponent, fromMinorUnits } from '../kernel/money.js';
import type { InventoryApi, NewProductInput } from '../modules/inventory/index.js';
import { parse } from './args.js';
import { openWorkbench } from './workbench.js';

/** The demo catalog (prices in cents). product-001 at 99.99 is the product of the SPEC's example order. */
export const demoProducts: readonly NewProductInput[] = [
  { productId: 'product-001', sku: 'HDP-NC-01', name: 'Noise-cancelling headphones', price: 9999, currency: 'USD', stock: 100, reorderPoint: 10 },
  { productId: 'product-002', sku: 'KBD-MX-02', name: 'Mechanical keyboard', price: 12999, currency: 'USD', stock: 50, reorderPoint: 5 },
  { productId: 'product-003', sku: 'CBL-UC-03', name: 'USB-C cable, 2 m', price: 1299, currency: 'USD', stock: 500, reorderPoint: 50 },
  { productId: 'product-004', sku: 'MON-27-04', name: '27-inch monitor', price: 32999, currency: 'USD', stock: 20, reorderPoint: 3 },
  { productId: 'product-005', sku: 'STD-LP-05', name: 'Laptop stand', price: 4999, currency: 'USD', stock: 8, reorderPoint: 5 },
];

/** What seeding did to each demo product. */
export interface SeedResult {
  created: NewProductInput[];
  skipped: NewProductInput[];
}

/** Creates the demo products that do not exist yet; existing ones are left as they are. */
export async function seedDemoProducts(inventory: InventoryApi): Promise<SeedResult> {
  const result: SeedResult = { created: [], skipped: [] };
  for (const product of demoProducts) {
    if (await inventory.getProduct(product.productId)) {
      result.skipped.push(product);
      continue;
    }
    try {
      await inventory.createProduct(product);
      result.created.push(product);
    } catch (error) {
      // Another process created it between the look and the insert.
      if (!(error instanceof AppError && error.code === 'PRODUCT_EXISTS')) throw error;
      result.skipped.push(product);
    }
  }
  return result;
}

/** `orderflow seed-demo`: creates the demo catalog, idempotently, and prints what it did. */
export async function seedDemo(config: Config, args: readonly string[]): Promise<number> {
  parse(args, {});
  const bench = await openWorkbench(config);
  try {
    const { created, skipped } = await seedDemoProducts(bench.apis.inventory);
    for (const p of created) process.stdout.write(`created  ${describe(p)}\n`);
    for (const p of skipped) process.stdout.write(`exists   ${p.productId} (left as it is)\n`);
    process.stdout.write(`${created.length} demo products created, ${skipped.length} already there\n`);
    return 0;
  } finally {
    await bench.close();
  }
}

function describe(p: NewProductInput): string {
  const currency = p.currency ?? 'USD';
  return `${p.productId}  ${p.name}  ${currency} ${fromMinorUnits(p.price, currency).toFixed(currencyExponent(currency))}  stock ${p.stock}`;
}
