import type { Kysely } from 'kysely';
import { isPostgres, statement } from '../../../platform/storage/statements.js';
import type { NewProduct } from '../domain/products.js';
import type { StockLevel } from '../domain/stock.js';
import type { InventoryTables, ProductRow } from './tables.js';

type Db = Kysely<InventoryTables>;

type Level = Pick<ProductRow, 'on_hand' | 'reserved' | 'reorder_point'> & Partial<Pick<ProductRow, 'low_stock_alert_open'>>;
// Reservation, release and shipment run for every order: statements written once. Each changes
// the row and so locks it: the alert flag it returns is the committed one, and stays so until
// this transaction ends (alerts move under this lock, record-stock-change.ts).
const LEVEL = 'returning on_hand, reserved, reorder_point, low_stock_alert_open';
const selectProduct = statement<ProductRow>('select * from inventory_products where product_id = ?');
/** PostgreSQL only (an array parameter): every product of a list. */
const selectProducts = statement<ProductRow>('select * from inventory_products where product_id = any(?)');
const selectLevel = statement<Level>('select on_hand, reserved, reorder_point from inventory_products where product_id = ?');
const reserve = statement<Level>(`update inventory_products set reserved = reserved + ?, updated_at = ? where product_id = ? and on_hand - reserved >= ? ${LEVEL}`);
const unreserve = statement<Level>(`update inventory_products set reserved = reserved - ?, updated_at = ? where product_id = ? and reserved >= ? ${LEVEL}`);
const ship = statement<Level>(
  `update inventory_products set on_hand = on_hand - ?, reserved = reserved - ?, shipped = shipped + ?, updated_at = ? where product_id = ? and reserved >= ? ${LEVEL}`,
);
const unship = statement<Level>(`update inventory_products set on_hand = on_hand + ?, shipped = shipped - ?, updated_at = ? where product_id = ? and shipped >= ? ${LEVEL}`);
const adjust = statement<Level>(
  `update inventory_products set on_hand = on_hand + ?, restocked = restocked + ?, updated_at = ? where product_id = ? and on_hand + ? >= reserved and on_hand + ? >= 0 ${LEVEL}`,
);

function toLevel(row: Level): StockLevel {
  const level: StockLevel = { onHand: Number(row.on_hand), reserved: Number(row.reserved), reorderPoint: Number(row.reorder_point) };
  if (row.low_stock_alert_open !== undefined && row.low_stock_alert_open !== null) level.alertOpen = Number(row.low_stock_alert_open) === 1;
  return level;
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
    allow_backorders: Number(row.allow_backorders),
    backordered: Number(row.backordered),
    low_stock_alert_open: Number(row.low_stock_alert_open),
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
      allow_backorders: product.allowBackorders ? 1 : 0,
      backordered: 0,
      low_stock_alert_open: 0,
      created_at: now,
      updated_at: now,
    })
    .onConflict((oc) => oc.column('product_id').doNothing())
    .returning('product_id')
    .executeTakeFirst();
  return row !== undefined;
}

export async function findProduct(db: Db, productId: string): Promise<ProductRow | undefined> {
  const [row] = await selectProduct(db, [productId]);
  return row && productFromRow(row);
}

/** Products in productId order after `after` (exclusive). */
export async function listProductRows(db: Db, after: string | undefined, limit: number): Promise<ProductRow[]> {
  let query = db.selectFrom('inventory_products').selectAll().orderBy('product_id').limit(limit);
  if (after !== undefined) query = query.where('product_id', '>', after);
  return (await query.execute()).map(productFromRow);
}

/**
 * The products among `productIds` that exist (a placement's quote): on PostgreSQL in one
 * statement, one round trip; on SQLite, in-process, one cached look-up each.
 */
export async function findProductsByIds(db: Db, productIds: readonly string[]): Promise<ProductRow[]> {
  if (isPostgres(db)) return productIds.length === 0 ? [] : (await selectProducts(db, [[...new Set(productIds)]])).map(productFromRow);
  const found: ProductRow[] = [];
  for (const productId of new Set(productIds)) {
    const [row] = await selectProduct(db, [productId]);
    if (row) found.push(productFromRow(row));
  }
  return found;
}

export async function allProducts(db: Db): Promise<ProductRow[]> {
  return (await db.selectFrom('inventory_products').selectAll().orderBy('product_id').execute()).map(productFromRow);
}

export async function stockLevelOf(db: Db, productId: string): Promise<StockLevel | undefined> {
  const [row] = await selectLevel(db, [productId]);
  return row && toLevel(row);
}

/**
 * Reserves `quantity` units in one guarded statement: it changes the row only while enough
 * is available, so concurrent reservations can never oversell. Undefined when it did not apply.
 */
export async function reserveUnits(db: Db, productId: string, quantity: number, now: number): Promise<StockLevel | undefined> {
  const [row] = await reserve(db, [quantity, now, productId, quantity]);
  return row && toLevel(row);
}

/**
 * PostgreSQL: an order's reservation in one statement, one round trip: the claim (the order's
 * reservation record, none if it has one already), then, claimed, every line's product row
 * locked in product order — bytewise, as line by line — and the lines that fit reserved, each
 * guarded as `reserve` is. A row per product found: its level after the statement, whether its
 * line was reserved, and whether it takes backorders (a short line's row stays locked, as
 * `lockProductStock` leaves it). When every line was reserved, the lines are recorded too
 * (`insertReservationLines`). `for no key update` is the lock an update takes: reservation
 * lines that reference the product do not wait for it, nor it for them.
 */
const reserveLines = statement<Level & { claimed: boolean; product_id: string | null; applied: boolean | null; allow_backorders: number | null }>(
  `with claim as (
     insert into inventory_reservations (order_id, status, reason, created_at, updated_at) values (?, 'reserved', null, ?, ?)
     on conflict (order_id) do nothing returning order_id),
   wanted as (select * from unnest(?::text[], ?::bigint[]) as w (product_id, quantity)),
   locked as materialized (
     select p.product_id, p.on_hand, p.reserved, p.reorder_point, p.low_stock_alert_open, p.allow_backorders from inventory_products p
     where p.product_id in (select product_id from wanted) and exists (select 1 from claim)
     order by p.product_id collate "C" for no key update),
   taken as (
     update inventory_products p set reserved = p.reserved + w.quantity, updated_at = ?
     from wanted w
     where p.product_id = w.product_id and p.product_id in (select product_id from locked) and p.on_hand - p.reserved >= w.quantity
     returning p.product_id, p.on_hand, p.reserved, p.low_stock_alert_open),
   lined as (
     insert into inventory_reservation_lines (order_id, product_id, quantity)
     select ?, w.product_id, w.quantity from wanted w
     where (select count(*) from taken) = (select count(*) from wanted))
   select exists (select 1 from claim) as claimed, l.product_id, t.product_id is not null as applied, l.allow_backorders, l.reorder_point,
     coalesce(t.on_hand, l.on_hand) as on_hand, coalesce(t.reserved, l.reserved) as reserved, coalesce(t.low_stock_alert_open, l.low_stock_alert_open) as low_stock_alert_open
   from (select 1) as one left join locked l on true left join taken t on t.product_id = l.product_id`,
);

/** A line as `reserveOrderLines` left it: reserved (the level after), short (the level, locked), or of no known product. */
export type LineReservation = { productId: string; outcome: 'reserved'; level: StockLevel } | { productId: string; outcome: 'short'; level: StockLevel; allowBackorders: boolean } | { productId: string; outcome: 'unknown' };

/**
 * PostgreSQL only (`reserveLines`): claims the order's reservation and reserves every line that
 * fits, in one statement; with every line reserved, the reservation's lines are recorded too.
 * Undefined when the order had a reservation record already (nothing done).
 */
export async function reserveOrderLines(db: Db, orderId: string, lines: readonly { productId: string; quantity: number }[], now: number): Promise<LineReservation[] | undefined> {
  const rows = await reserveLines(db, [orderId, now, now, lines.map((l) => l.productId), lines.map((l) => l.quantity), now, orderId]);
  if (!rows[0]?.claimed) return undefined;
  const byProduct = new Map(rows.filter((r) => r.product_id !== null).map((r) => [r.product_id!, r]));
  return lines.map(({ productId }): LineReservation => {
    const row = byProduct.get(productId);
    if (!row) return { productId, outcome: 'unknown' };
    return row.applied ? { productId, outcome: 'reserved', level: toLevel(row) } : { productId, outcome: 'short', level: toLevel(row), allowBackorders: Number(row.allow_backorders) === 1 };
  });
}

/** Gives reserved units back (release, or undoing a partial reservation). */
export async function unreserveUnits(db: Db, productId: string, quantity: number, now: number): Promise<StockLevel> {
  const [row] = await unreserve(db, [quantity, now, productId, quantity]);
  if (!row) throw new Error(`cannot unreserve ${quantity} of ${productId}: fewer units are reserved (stock ledger out of step)`);
  return toLevel(row);
}

/** Reserved units leave the warehouse: on hand and reserved both drop. */
export async function shipUnits(db: Db, productId: string, quantity: number, now: number): Promise<StockLevel> {
  const [row] = await ship(db, [quantity, quantity, quantity, now, productId, quantity]);
  if (!row) throw new Error(`cannot ship ${quantity} of ${productId}: fewer units are reserved (stock ledger out of step)`);
  return toLevel(row);
}

/**
 * PostgreSQL: `ship` for every line of an order in one statement, the rows locked in product
 * order first (bytewise, as everywhere else; see `reserveLines`).
 */
const shipAll = statement<Level & { product_id: string }>(
  `with wanted as (select * from unnest(?::text[], ?::bigint[]) as w (product_id, quantity)),
   locked as materialized (
     select p.product_id from inventory_products p where p.product_id in (select product_id from wanted)
     order by p.product_id collate "C" for no key update)
   update inventory_products p set on_hand = p.on_hand - w.quantity, reserved = p.reserved - w.quantity, shipped = p.shipped + w.quantity, updated_at = ?
   from wanted w
   where p.product_id = w.product_id and p.product_id in (select product_id from locked) and p.reserved >= w.quantity
   ${LEVEL}, p.product_id`,
);

/**
 * `shipUnits` for every line (given in product order, the order their rows are locked in): on
 * PostgreSQL one statement, one round trip.
 */
export async function shipLines(db: Db, lines: readonly { productId: string; quantity: number }[], now: number): Promise<StockLevel[]> {
  if (!isPostgres(db)) {
    const levels: StockLevel[] = [];
    for (const { productId, quantity } of lines) levels.push(await shipUnits(db, productId, quantity, now));
    return levels;
  }
  const rows = await shipAll(db, [lines.map((l) => l.productId), lines.map((l) => l.quantity), now]);
  const byProduct = new Map(rows.map((row) => [row.product_id, row]));
  return lines.map(({ productId, quantity }) => {
    const row = byProduct.get(productId);
    if (!row) throw new Error(`cannot ship ${quantity} of ${productId}: fewer units are reserved (stock ledger out of step)`);
    return toLevel(row);
  });
}

/** Units that were to leave with a shipment stay (an item edit took them off before dispatch): on hand rises, shipped falls. */
export async function unshipUnits(db: Db, productId: string, quantity: number, now: number): Promise<StockLevel> {
  const [row] = await unship(db, [quantity, quantity, now, productId, quantity]);
  if (!row) throw new Error(`cannot take ${quantity} of ${productId} off a shipment: fewer units were shipped (stock ledger out of step)`);
  return toLevel(row);
}

/** Adds `delta` to on hand, guarded so it never drops below zero or below the reserved units. */
export async function adjustUnits(db: Db, productId: string, delta: number, now: number): Promise<StockLevel | undefined> {
  const [row] = await adjust(db, [delta, delta, now, productId, delta, delta]);
  return row && toLevel(row);
}

/** A product's stock as a short order or a restock sees it, its row locked until the transaction ends. */
export interface LockedStock {
  level: StockLevel;
  allowBackorders: boolean;
  backordered: number;
}

// A write that changes nothing but takes the row lock on PostgreSQL (SQLite's transaction holds the database's).
const lockStock = statement<Level & { allow_backorders: number; backordered: number }>(
  `update inventory_products set updated_at = updated_at where product_id = ? returning on_hand, reserved, reorder_point, allow_backorders, backordered`,
);
const addBackordered = statement<{ backordered: number }>(
  'update inventory_products set backordered = backordered + ?, updated_at = ? where product_id = ? and backordered + ? >= 0 returning backordered',
);

/**
 * Locks a product's row and reads its stock after the lock was granted: what a short line or a
 * restock decides from cannot change before the transaction ends. Undefined for an unknown product.
 */
export async function lockProductStock(db: Db, productId: string): Promise<LockedStock | undefined> {
  const [row] = await lockStock(db, [productId]);
  return row && { level: toLevel(row), allowBackorders: Number(row.allow_backorders) === 1, backordered: Number(row.backordered) };
}

/** Adds `delta` (negative: served or cancelled) to a product's backordered units; never below zero. */
export async function addBackorderedUnits(db: Db, productId: string, delta: number, now: number): Promise<number> {
  const [row] = await addBackordered(db, [delta, now, productId, delta]);
  if (!row) throw new Error(`cannot change the backordered units of ${productId} by ${delta} (backorder ledger out of step)`);
  return Number(row.backordered);
}

/** Sets whether a product takes backorders; false when there is no such product. */
export async function setAllowBackorders(db: Db, productId: string, allow: boolean, now: number): Promise<boolean> {
  const result = await db.updateTable('inventory_products').set({ allow_backorders: allow ? 1 : 0, updated_at: now }).where('product_id', '=', productId).executeTakeFirst();
  return Number(result.numUpdatedRows) > 0;
}
