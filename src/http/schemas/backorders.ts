import { Type, type Static } from '@sinclair/typebox';
import { Nullable, Text, Timestamp } from './common.js';

/** POST /orders/:id/override: why an admin approves an order short of stock. */
export const StockOverrideBody = Type.Object(
  {
    reason: Text(500, { description: 'why the order is approved over stock (required)' }),
    expectedRestockAt: Type.Optional(Type.String({ minLength: 1, maxLength: 40, description: 'ISO-8601 date the stock is expected', examples: ['2026-12-24'] })),
  },
  { additionalProperties: false },
);
export type StockOverrideBody = Static<typeof StockOverrideBody>;

/** One product an order is short of, as GET /orders/:id shows it. */
export const BackorderSummary = Type.Object({
  productId: Type.String(),
  quantity: Type.Integer({ description: 'units the order was short of at placement' }),
  allocated: Type.Integer({ description: 'units reserved for it since' }),
  status: Type.Union(['REVIEW', 'WAITING', 'FULFILLED', 'CANCELLED'].map((s) => Type.Literal(s)), {
    description: 'REVIEW: held for an admin\u2019s override; WAITING: for a restock (first placed, first served)',
  }),
});

const OverriddenLine = Type.Object({ productId: Type.String(), requested: Type.Integer(), available: Type.Integer(), overridden: Type.Integer() });

/** What an order held for a stock review was short of, and the admin's override. */
export const StockReviewSummary = Type.Object({
  shortages: Type.Array(Type.Object({ productId: Type.String(), requested: Type.Integer(), available: Type.Integer() })),
  heldAt: Timestamp,
  override: Nullable(
    Type.Object({ items: Type.Array(OverriddenLine), reason: Type.String(), expectedRestockAt: Nullable(Type.String()), approvedBy: Type.String(), at: Timestamp }),
  ),
});

/** PATCH /products/:id. */
export const UpdateProductBody = Type.Object(
  { allowBackorders: Type.Boolean({ description: 'true: an order short of this product waits for a restock instead of being refused' }) },
  { additionalProperties: false },
);
export type UpdateProductBody = Static<typeof UpdateProductBody>;
