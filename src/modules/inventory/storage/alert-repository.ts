import type { Kysely } from 'kysely';
import { statement } from '../../../platform/storage/statements.js';
import type { AlertRow, InventoryTables } from './tables.js';

type Db = Kysely<InventoryTables>;

// Every stock movement looks for the product's open alert.
const selectOpen = statement<AlertRow>('select * from inventory_alerts where product_id = ? and resolved_at is null');

function fromRow(row: AlertRow): AlertRow {
  return {
    ...row,
    available: Number(row.available),
    reorder_point: Number(row.reorder_point),
    opened_at: Number(row.opened_at),
    resolved_at: row.resolved_at === null ? null : Number(row.resolved_at),
  };
}

export async function openAlertOf(db: Db, productId: string): Promise<AlertRow | undefined> {
  const [row] = await selectOpen(db, [productId]);
  return row && fromRow(row);
}

/** Opens an alert; the partial unique index refuses a second open alert for the product. The product's flag says so (`low_stock_alert_open`). */
export async function insertAlert(db: Db, alert: Omit<AlertRow, 'resolved_at'>): Promise<void> {
  await db.insertInto('inventory_alerts').values({ ...alert, resolved_at: null }).execute();
  await db.updateTable('inventory_products').set({ low_stock_alert_open: 1 }).where('product_id', '=', alert.product_id).execute();
}

/** Keeps an open alert's quantity current while the product stays low. */
export async function refreshOpenAlert(db: Db, productId: string, available: number, reorderPoint: number): Promise<void> {
  await db
    .updateTable('inventory_alerts')
    .set({ available, reorder_point: reorderPoint })
    .where('product_id', '=', productId)
    .where('resolved_at', 'is', null)
    .execute();
}

export async function resolveOpenAlert(db: Db, productId: string, now: number): Promise<void> {
  await db.updateTable('inventory_alerts').set({ resolved_at: now }).where('product_id', '=', productId).where('resolved_at', 'is', null).execute();
  await db.updateTable('inventory_products').set({ low_stock_alert_open: 0 }).where('product_id', '=', productId).execute();
}

/** Open alerts (oldest first), or resolved ones (most recently resolved first). */
export async function listAlertRows(db: Db, resolved: boolean): Promise<AlertRow[]> {
  const base = db.selectFrom('inventory_alerts').selectAll();
  const rows = resolved
    ? await base.where('resolved_at', 'is not', null).orderBy('resolved_at', 'desc').orderBy('alert_id').execute()
    : await base.where('resolved_at', 'is', null).orderBy('opened_at').orderBy('alert_id').execute();
  return rows.map(fromRow);
}
