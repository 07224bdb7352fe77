import { describe, expect, it } from 'vitest';
import { AppError } from '../../../kernel/errors.js';
import { priceItems, validateNewProduct, type CatalogEntry, type NewProductInput } from './products.js';

const valid: NewProductInput = { productId: 'p-1', name: 'Widget', price: 9999, stock: 10 };

function errorOf(fn: () => unknown): AppError {
  try {
    fn();
  } catch (error) {
    if (error instanceof AppError) return error;
    throw error;
  }
  throw new Error('expected an AppError');
}

describe('new product', () => {
  it('fills the defaults: USD, reorder point 0, no sku', () => {
    expect(validateNewProduct(valid)).toEqual({ productId: 'p-1', sku: null, name: 'Widget', price: 9999, currency: 'USD', stock: 10, reorderPoint: 0, allowBackorders: false });
  });

  it('given allowBackorders, when validated, then the product takes backorders', () => {
    expect(validateNewProduct({ ...valid, allowBackorders: true })).toMatchObject({ allowBackorders: true });
  });

  it('keeps what is given', () => {
    expect(validateNewProduct({ ...valid, sku: 'W-1', currency: 'JPY', reorderPoint: 3, stock: 0, price: 0 })).toMatchObject({ sku: 'W-1', currency: 'JPY', reorderPoint: 3, stock: 0, price: 0 });
  });

  it.each([
    [{ productId: '' }, 'BAD_PRODUCTID'],
    [{ name: '  ' }, 'BAD_NAME'],
    [{ sku: '' }, 'BAD_SKU'],
    [{ price: -1 }, 'BAD_PRICE'],
    [{ price: 99.99 }, 'BAD_PRICE'],
    [{ currency: 'usd' }, 'BAD_CURRENCY'],
    [{ stock: -1 }, 'BAD_STOCK'],
    [{ stock: 1.5 }, 'BAD_STOCK'],
    [{ reorderPoint: -2 }, 'BAD_REORDERPOINT'],
    [{ allowBackorders: 'yes' as unknown as boolean }, 'BAD_ALLOW_BACKORDERS'],
  ] as [Partial<NewProductInput>, string][])('refuses %j with %s', (change, code) => {
    expect(errorOf(() => validateNewProduct({ ...valid, ...change }))).toMatchObject({ kind: 'validation', code });
  });
});

describe('quote', () => {
  const catalog = new Map<string, CatalogEntry>([
    ['p-1', { productId: 'p-1', name: 'Widget', price: 9999, currency: 'USD' }],
    ['p-2', { productId: 'p-2', name: 'Gadget', price: 150, currency: 'USD' }],
    ['p-y', { productId: 'p-y', name: 'Yen thing', price: 1200, currency: 'JPY' }],
  ]);

  it('prices each item from the catalog, in the given order', () => {
    expect(priceItems([{ productId: 'p-2', quantity: 3 }, { productId: 'p-1', quantity: 1 }], catalog)).toEqual({
      currency: 'USD',
      lines: [
        { productId: 'p-2', name: 'Gadget', quantity: 3, unitPrice: 150 },
        { productId: 'p-1', name: 'Widget', quantity: 1, unitPrice: 9999 },
      ],
    });
  });

  it('refuses unknown products, naming each once', () => {
    const error = errorOf(() => priceItems([{ productId: 'x', quantity: 1 }, { productId: 'p-1', quantity: 1 }, { productId: 'x', quantity: 2 }, { productId: 'a', quantity: 1 }], catalog));
    expect(error).toMatchObject({ kind: 'validation', code: 'UNKNOWN_PRODUCT', details: { productIds: ['a', 'x'] } });
  });

  it('refuses products of different currencies', () => {
    expect(errorOf(() => priceItems([{ productId: 'p-1', quantity: 1 }, { productId: 'p-y', quantity: 1 }], catalog))).toMatchObject({ kind: 'validation', code: 'MIXED_CURRENCY' });
  });

  it('refuses no items and bad quantities', () => {
    expect(errorOf(() => priceItems([], catalog))).toMatchObject({ code: 'NO_ITEMS' });
    expect(errorOf(() => priceItems([{ productId: 'p-1', quantity: 0 }], catalog))).toMatchObject({ code: 'BAD_QUANTITY' });
  });
});
