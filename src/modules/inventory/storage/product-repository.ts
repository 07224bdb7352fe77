import { sql, type Kysely } from 'kysely';
import type { NewProduct } from '../domain/products.js';
import type { StockLevel } from '../domain/stock.js';
import type { InventoryTables, ProductRow } from './tables.js';

type Db = Kysely<InventoryTables>;

const LEVEL = ['on_hand', 'reserved', 'reorder_point'] as const;

function toLevel(row: Pick<ProductRow, 'on_hand' | 'reserved' | 'reorder_point'>): StockLevel {
  return { onHand: Number(row.on_hand), reserved: Number(row.reserved), reorderPoint: Number(row.reorder_point) };
}

/** Normalises a row read from either database (PostgreSQL bigint columns arrive as numbers too, but stay explicit). */
export function productFromRow(row: ProductRow): ProductRow {
  return {
    ...row,
    price: Number(row.price),
    on_hand: Number(row.on_hand),
    reserved: Number(row.reserved),
    reorder_point: Number(row.reorder_point),
    initial_stock: Number(row.initial_stock),
    restocked: Number(row.restocked),
    shipped: Number(row.shipped),
    created_at: Number(row.created_at),
    updated_at: Number(row.updated_at),
  };
}

/** Inserts a new product; false when the id is taken. */
export async function insertProduct(db: Db, product: NewProduct, now: number): Promise<boolean> {
  const row = await db
    .insertInto('inventory_products')
    .values({
      product_id: product.productId,
      sku: product.sku,
      name: product.name,
      price: product.price,
      currency: product.currency,
      on_hand: product.stock,
      reserved: 0,
      reorder_point: product.reorderPoint,
      initial_stock: product.stock,
      restocked: 0,
      shipped: 0,
      created_at: now,
      updated_at: now,
    })
    .onConflict((oc) => oc.column('product_id').doNothing())
    .returning('product_id')
    .executeTakeFirst();
  return row !== undefined;
}

export async function findProduct(db: Db, productId: string): Promise<ProductRow | undefined> {
  const row = await db.selectFrom('inventory_products').selectAll().where('product_id', '=', productId).executeTakeFirst();
  return row && productFromRow(row);
}

/** Products in productId order after `after` (exclusive). */
export async function listProductRows(db: Db, after: string | undefined, limit: number): Promise<ProductRow[]> {
  let query = db.selectFrom('inventory_products').selectAll().orderBy('product_id').limit(limit);
  if (after !== undefined) query = query.where('product_id', '>', after);
  return (await query.execute()).map(productFromRow);
}

export async function findProductsByIds(db: Db, productIds: readonly string[]): Promise<ProductRow[]> {
  if (productIds.length === 0) return [];
  return (await db.selectFrom('inventory_products').selectAll().where('product_id', 'in', [...productIds]).execute()).map(productFromRow);
}

export async function allProducts(db: Db): Promise<ProductRow[]> {
  return (await db.selectFrom('inventory_products').selectAll().orderBy('product_id').execute()).map(productFromRow);
}

export async function stockLevelOf(db: Db, productId: string): Promise<StockLevel | undefined> {
  const row = await db.selectFrom('inventory_products').select(LEVEL).where('product_id', '=', productId).executeTakeFirst();
  return row && toLevel(row);
}

/**
 * Reserves `quantity` units in one guarded statement: it changes the row only while enough
 * is available, so concurrent reservations can never oversell. Undefined when it did not apply.
 */
export async function reserveUnits(db: Db, productId: string, quantity: number, now: number): Promise<StockLevel | undefined> {
  const row = await db
    .updateTable('inventory_products')
    .set({ reserved: sql`reserved + ${quantity}`, updated_at: now })
    .where('product_id', '=', productId)
    .where(sql<number>`on_hand - reserved`, '>=', quantity)
    .returning(LEVEL)
    .executeTakeFirst();
  return row && toLevel(row);
}

/** Gives reserved units back (release, or undoing a partial reservation). */
export async function unreserveUnits(db: Db, productId: string, quantity: number, now: number): Promise<StockLevel> {
  const row = await db
    .updateTable('inventory_products')
    .set({ reserved: sql`reserved - ${quantity}`, updated_at: now })
    .where('product_id', '=', productId)
    .where('reserved', '>=', quantity)
    .returning(LEVEL)
    .executeTakeFirst();
  if (!row) throw new Error(`cannot unreserve ${quantity} of ${productId}: fewer units are reserved (stock ledger out of step)`);
  return toLevel(row);
}

/** Reserved units leave the warehouse: on hand and reserved both drop. */
export async function shipUnits(db: Db, productId: string, quantity: number, now: number): Promise<StockLevel> {
  const row = await db
    .updateTable('inventory_products')
    .set({ on_hand: sql`on_hand - ${quantity}`, reserved: sql`reserved - ${quantity}`, shipped: sql`shipped + ${quantity}`, updated_at: now })
    .where('product_id', '=', productId)
    .where('reserved', '>=', quantity)
    .returning(LEVEL)
    .executeTakeFirst();
  if (!row) throw new Error(`cannot ship ${quantity} of ${productId}: fewer units are reserved (stock ledger out of step)`);
  return toLevel(row);
}

/** Adds `delta` to on hand, guarded so it never drops below zero or below the reserved units. */
export async function adjustUnits(db: Db, productId: string, delta: number, now: number): Promise<StockLevel | undefined> {
  const row = await db
    .updateTable('inventory_products')
    .set({ on_hand: sql`on_hand + ${delta}`, restocked: sql`restocked + ${delta}`, updated_at: now })
    .where('product_id', '=', productId)
    .where(sql<number>`on_hand + ${delta}`, '>=', sql<number>`reserved`)
    .where(sql<number>`on_hand + ${delta}`, '>=', 0)
    .returning(LEVEL)
    .executeTakeFirst();
  return row && toLevel(row);
}
