import type { Kysely } from 'kysely';
import type { StockOverride, StockReview } from '../domain/stock-override.js';

/** A short order held for review: JSON of what was short, and of the override once there is one. */
export interface OrderStockReviewRow {
  order_id: string;
  /** JSON [{ productId, requested, available }]. */
  shortages: string;
  /** JSON StockOverride, null until an admin approves. */
  override: string | null;
  created_at: number;
  updated_at: number;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Db = Kysely<any>;

function fromRow(row: OrderStockReviewRow): StockReview {
  return {
    orderId: row.order_id,
    shortages: JSON.parse(row.shortages) as StockReview['shortages'],
    override: row.override === null ? null : (JSON.parse(row.override) as StockOverride),
    createdAt: Number(row.created_at),
  };
}

/** Records what an order is short of; a redelivered report changes nothing. */
export async function insertStockReview(db: Db, orderId: string, shortages: StockReview['shortages'], now: number): Promise<void> {
  await db
    .insertInto('order_stock_reviews')
    .values({ order_id: orderId, shortages: JSON.stringify(shortages), override: null, created_at: now, updated_at: now })
    .onConflict((oc) => oc.column('order_id').doNothing())
    .execute();
}

export async function findStockReview(db: Db, orderId: string): Promise<StockReview | undefined> {
  const row = (await db.selectFrom('order_stock_reviews').selectAll().where('order_id', '=', orderId).executeTakeFirst()) as OrderStockReviewRow | undefined;
  return row && fromRow(row);
}

export async function recordOverride(db: Db, orderId: string, override: StockOverride, now: number): Promise<void> {
  await db.updateTable('order_stock_reviews').set({ override: JSON.stringify(override), updated_at: now }).where('order_id', '=', orderId).execute();
}
