import { Type, type Static } from '@sinclair/typebox';
import { Currency, Decimal, Id, Nullable, Text, Timestamp } from './common.js';

const Count = (description: string) => Type.Integer({ minimum: 0, maximum: 1_000_000_000, description });

/** POST /products. */
export const CreateProductBody = Type.Object(
  {
    productId: Id('your id for the product'),
    sku: Type.Optional(Text(200)),
    name: Text(500),
    price: Decimal('unit price as a decimal in the currency, e.g. 99.99'),
    currency: Type.Optional(Currency),
    stock: Count('initial units on hand'),
    reorderPoint: Type.Optional(Count('a low-stock alert opens when available falls to or below this')),
    allowBackorders: Type.Optional(Type.Boolean({ description: 'true: an order short of this product waits for a restock instead of being refused (default false)' })),
  },
  { additionalProperties: false },
);
export type CreateProductBody = Static<typeof CreateProductBody>;

export const ProductResponse = Type.Object({
  productId: Type.String(),
  sku: Nullable(Type.String()),
  name: Type.String(),
  price: Type.Number({ description: 'decimal, in the currency' }),
  currency: Type.String(),
  onHand: Type.Integer(),
  reserved: Type.Integer(),
  available: Type.Integer(),
  reorderPoint: Type.Integer(),
  allowBackorders: Type.Boolean(),
  backordered: Type.Integer({ description: 'units waiting backorders still miss (kept apart from available)' }),
  createdAt: Timestamp,
  updatedAt: Timestamp,
});
export type ProductResponse = Static<typeof ProductResponse>;

export const ListProductsQuery = Type.Object({
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200, description: 'page size, default 50' })),
  cursor: Type.Optional(Text(500, { description: 'nextCursor of the previous page' })),
});
export type ListProductsQuery = Static<typeof ListProductsQuery>;

export const ProductPageResponse = Type.Object({ products: Type.Array(ProductResponse), nextCursor: Nullable(Type.String()) });

export const InventoryResponse = Type.Object({
  productId: Type.String(),
  onHand: Type.Integer(),
  reserved: Type.Integer(),
  available: Type.Integer({ description: 'onHand − reserved; never negative' }),
  backordered: Type.Integer({ description: 'units waiting backorders still miss (kept apart from available)' }),
  reorderPoint: Type.Integer(),
});

/** POST /products/:id/stock: a restock (delta > 0) or a correction (delta < 0). */
export const AdjustStockBody = Type.Object(
  {
    delta: Type.Integer({ minimum: -1_000_000_000, maximum: 1_000_000_000, description: 'units added (> 0) or removed (< 0); never 0' }),
    reason: Text(500, { description: 'why, e.g. "restock" or "damaged"' }),
  },
  { additionalProperties: false },
);
export type AdjustStockBody = Static<typeof AdjustStockBody>;

export const AlertsQuery = Type.Object({ resolved: Type.Optional(Type.Boolean({ description: 'true: the closed alerts' })) });
export type AlertsQuery = Static<typeof AlertsQuery>;

export const AlertsResponse = Type.Object({
  alerts: Type.Array(
    Type.Object({
      alertId: Type.String(),
      productId: Type.String(),
      available: Type.Integer(),
      reorderPoint: Type.Integer(),
      openedAt: Timestamp,
      resolvedAt: Nullable(Timestamp),
      message: Type.String(),
    }),
  ),
});
