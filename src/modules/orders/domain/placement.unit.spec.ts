import { describe, expect, it } from 'vitest';
import { AppError } from '../../../kernel/errors.js';
import { createOrder, duplicateProducts, formatOrderNumber, orderPlacedPayload, priceOrder, type CatalogQuote } from './placement.js';

const quote: CatalogQuote = {
  currency: 'USD',
  lines: [
    { productId: 'p-1', name: 'Widget', quantity: 2, unitPrice: 1250 },
    { productId: 'p-2', name: 'Gadget', quantity: 1, unitPrice: 999 },
  ],
};
const items = [
  { productId: 'p-1', quantity: 2 },
  { productId: 'p-2', quantity: 1 },
];

function refusal(run: () => unknown): AppError {
  try {
    run();
  } catch (error) {
    if (error instanceof AppError) return error;
    throw error;
  }
  throw new Error('expected a refusal');
}

describe('priceOrder', () => {
  it('given lines without client prices, then prices and total come from the catalog', () => {
    expect(priceOrder(items, {}, quote)).toEqual({
      currency: 'USD',
      lines: [
        { productId: 'p-1', name: 'Widget', quantity: 2, unitPrice: 1250 },
        { productId: 'p-2', name: 'Gadget', quantity: 1, unitPrice: 999 },
      ],
      totalAmount: 3499,
    });
  });

  it('given client prices, total and currency that agree, then they are accepted', () => {
    const priced = priceOrder([{ ...items[0]!, unitPrice: 1250 }, { ...items[1]!, unitPrice: 999 }], { currency: 'USD', totalAmount: 3499 }, quote);
    expect(priced.totalAmount).toBe(3499);
  });

  it('given a client unit price that disagrees, then PRICE_MISMATCH names the line and the catalog price', () => {
    const error = refusal(() => priceOrder([{ ...items[0]!, unitPrice: 1000 }, items[1]!], {}, quote));
    expect(error).toMatchObject({ kind: 'validation', code: 'PRICE_MISMATCH', details: { currency: 'USD', mismatches: [{ productId: 'p-1', expected: 1250, received: 1000 }] } });
  });

  it('given a total that disagrees, then TOTAL_MISMATCH with the catalog total', () => {
    const error = refusal(() => priceOrder(items, { totalAmount: 3500 }, quote));
    expect(error).toMatchObject({ kind: 'validation', code: 'TOTAL_MISMATCH', details: { expected: 3499, received: 3500 } });
  });

  it('given a currency that disagrees, then CURRENCY_MISMATCH before anything else', () => {
    const error = refusal(() => priceOrder([{ ...items[0]!, unitPrice: 1 }], { currency: 'EUR', totalAmount: 1 }, quote));
    expect(error).toMatchObject({ kind: 'validation', code: 'CURRENCY_MISMATCH', details: { expected: 'USD', received: 'EUR' } });
  });

  it('given a product the quote does not price, then UNKNOWN_PRODUCT', () => {
    expect(refusal(() => priceOrder([{ productId: 'p-9', quantity: 1 }], {}, quote))).toMatchObject({ kind: 'validation', code: 'UNKNOWN_PRODUCT' });
  });

  it('given a total beyond safe integers, then AMOUNT_TOO_LARGE', () => {
    const huge: CatalogQuote = { currency: 'USD', lines: [{ productId: 'p-1', name: 'x', quantity: 1000, unitPrice: Number.MAX_SAFE_INTEGER }] };
    expect(refusal(() => priceOrder([{ productId: 'p-1', quantity: 1000 }], {}, huge))).toMatchObject({ code: 'AMOUNT_TOO_LARGE' });
  });
});

describe('duplicateProducts', () => {
  it('given repeated product ids, then each is named once', () => {
    expect(duplicateProducts([{ productId: 'a', quantity: 1 }, { productId: 'b', quantity: 1 }, { productId: 'a', quantity: 2 }, { productId: 'a', quantity: 3 }])).toEqual(['a']);
    expect(duplicateProducts(items)).toEqual([]);
  });
});

describe('formatOrderNumber', () => {
  it('pads the counter to six digits and grows past them', () => {
    expect(formatOrderNumber(2026, 1)).toBe('ORD-2026-000001');
    expect(formatOrderNumber(2026, 123456)).toBe('ORD-2026-123456');
    expect(formatOrderNumber(2027, 1234567)).toBe('ORD-2027-1234567');
  });
});

describe('createOrder', () => {
  it('given a priced request, then the order is PENDING with one history entry and OrderPlaced carries the catalog prices', () => {
    const at = Date.UTC(2026, 0, 2);
    const order = createOrder(
      {
        orderId: 'o-1',
        orderNumber: 'ORD-2026-000001',
        sagaId: 's-1',
        correlationId: 'c-1',
        customerId: 'cust',
        shippingAddress: { street: 's', city: 'c', postalCode: 'p', country: 'US' },
        billingAddress: null,
        sourceChannel: 'chat',
        paymentToken: null,
      },
      priceOrder(items, {}, quote),
      at,
    );
    expect(order).toMatchObject({ status: 'PENDING', statusHistory: [{ status: 'PENDING', at }], createdAt: at, updatedAt: at, totalAmount: 3499 });
    expect(orderPlacedPayload(order)).toEqual({
      orderId: 'o-1',
      orderNumber: 'ORD-2026-000001',
      customerId: 'cust',
      items: [
        { productId: 'p-1', quantity: 2, unitPrice: 1250 },
        { productId: 'p-2', quantity: 1, unitPrice: 999 },
      ],
      itemCount: 3,
      totalAmount: 3499,
      currency: 'USD',
      shippingAddress: { street: 's', city: 'c', postalCode: 'p', country: 'US' },
      sourceChannel: 'chat',
      sagaId: 's-1',
    });
  });
});
