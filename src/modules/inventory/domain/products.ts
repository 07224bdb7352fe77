import { AppError, appError, type ErrorCode } from '../../../kernel/errors.js';
import { MAX_QUANTITY } from './stock.js';

/** What createProduct accepts (price in integer minor units of `currency`). */
export interface NewProductInput {
  productId: string;
  sku?: string;
  name: string;
  price: number;
  currency?: string;
  stock: number;
  reorderPoint?: number;
  /** Whether an order short of this product waits for a restock instead of being refused (default false). */
  allowBackorders?: boolean;
}

/** A validated new product with its defaults filled in. */
export interface NewProduct {
  productId: string;
  sku: string | null;
  name: string;
  price: number;
  currency: string;
  stock: number;
  reorderPoint: number;
  allowBackorders: boolean;
}

const MAX_ID_LENGTH = 200;
const MAX_NAME_LENGTH = 500;

/** Checks a new product's fields; throws AppError('validation') naming the first bad one. */
export function validateNewProduct(input: NewProductInput): NewProduct {
  if (typeof input !== 'object' || input === null) throw invalid('BAD_PRODUCT', 'a product object is required');
  const productId = text(input.productId, 'productId', 'BAD_PRODUCTID', MAX_ID_LENGTH);
  const name = text(input.name, 'name', 'BAD_NAME', MAX_NAME_LENGTH);
  const sku = input.sku === undefined || input.sku === null ? null : text(input.sku, 'sku', 'BAD_SKU', MAX_ID_LENGTH);
  const currency = input.currency ?? 'USD';
  if (typeof currency !== 'string' || !/^[A-Z]{3}$/.test(currency)) throw invalid('BAD_CURRENCY', 'currency must be an ISO 4217 code such as USD');
  if (!Number.isSafeInteger(input.price) || input.price < 0) throw invalid('BAD_PRICE', 'price must be an integer number of minor units ≥ 0');
  const stock = count(input.stock, 'stock', 'BAD_STOCK');
  const reorderPoint = count(input.reorderPoint ?? 0, 'reorderPoint', 'BAD_REORDERPOINT');
  const allowBackorders = input.allowBackorders ?? false;
  if (typeof allowBackorders !== 'boolean') throw invalid('BAD_ALLOW_BACKORDERS', 'allowBackorders must be true or false');
  return { productId, sku, name, price: input.price, currency, stock, reorderPoint, allowBackorders };
}

function text(value: unknown, field: string, code: 'BAD_PRODUCTID' | 'BAD_NAME' | 'BAD_SKU', max: number): string {
  if (typeof value !== 'string' || value.trim() === '' || value.length > max) {
    throw invalid(code, `${field} must be a non-empty string of at most ${max} characters`);
  }
  return value;
}

function count(value: unknown, field: string, code: 'BAD_STOCK' | 'BAD_REORDERPOINT'): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0 || value > MAX_QUANTITY) {
    throw invalid(code, `${field} must be an integer between 0 and ${MAX_QUANTITY}`);
  }
  return value;
}

function invalid(code: ErrorCode, message: string): AppError {
  return appError(code, message);
}

/** A line to price. */
export interface QuoteItem {
  productId: string;
  quantity: number;
}

/** What the catalog knows about a product, for pricing. */
export interface CatalogEntry {
  productId: string;
  name: string;
  price: number;
  currency: string;
}

/** An order's lines priced from the catalog (unit prices in minor units of `currency`). */
export interface Quote {
  currency: string;
  lines: { productId: string; name: string; quantity: number; unitPrice: number }[];
}

/**
 * Prices items from the catalog, one line per item in the given order. Unknown products and
 * products of different currencies are refused: an order has one currency.
 */
export function priceItems(items: readonly QuoteItem[], catalog: ReadonlyMap<string, CatalogEntry>): Quote {
  if (!Array.isArray(items) || items.length === 0) throw invalid('NO_ITEMS', 'at least one item is required');
  for (const item of items) {
    if (!Number.isSafeInteger(item.quantity) || item.quantity < 1 || item.quantity > MAX_QUANTITY) {
      throw invalid('BAD_QUANTITY', `quantity of ${item.productId} must be a positive integer`);
    }
  }
  const unknown = [...new Set(items.filter((i) => !catalog.has(i.productId)).map((i) => i.productId))].sort();
  if (unknown.length > 0) {
    throw new AppError('validation', 'UNKNOWN_PRODUCT', `unknown product${unknown.length > 1 ? 's' : ''}: ${unknown.join(', ')}`, { details: { productIds: unknown } });
  }
  const entries = items.map((i) => ({ item: i, entry: catalog.get(i.productId)! }));
  const currencies = [...new Set(entries.map((e) => e.entry.currency))].sort();
  if (currencies.length > 1) {
    throw new AppError('validation', 'MIXED_CURRENCY', `the products are priced in different currencies: ${currencies.join(', ')}`, { details: { currencies } });
  }
  return {
    currency: currencies[0]!,
    lines: entries.map(({ item, entry }) => ({ productId: item.productId, name: entry.name, quantity: item.quantity, unitPrice: entry.price })),
  };
}
