import type { Kysely } from 'kysely';
import { statement } from '../../../platform/storage/statements.js';
import type { ReservationLine } from '../domain/reservations.js';
import type { EditHoldRow, InventoryTables } from './tables.js';

type Db = Kysely<InventoryTables>;

/** The units an item edit holds, and what became of them. */
export type EditHoldStatus = 'held' | 'applied' | 'released' | 'failed';
export interface EditHold {
  editId: string;
  orderId: string;
  status: EditHoldStatus;
  lines: ReservationLine[];
}

const insert = statement<{ edit_id: string }>(
  'insert into inventory_edit_holds (edit_id, order_id, status, lines, created_at, updated_at) values (?, ?, ?, ?, ?, ?) on conflict (edit_id) do nothing returning edit_id',
);
const select = statement<EditHoldRow>('select * from inventory_edit_holds where edit_id = ?');
const selectHeldOfOrder = statement<EditHoldRow>("select * from inventory_edit_holds where order_id = ? and status = 'held'");
const transition = statement<{ edit_id: string }>('update inventory_edit_holds set status = ?, updated_at = ? where edit_id = ? and status = ? returning edit_id');

function fromRow(row: EditHoldRow): EditHold {
  return { editId: row.edit_id, orderId: row.order_id, status: row.status as EditHoldStatus, lines: JSON.parse(row.lines) as ReservationLine[] };
}

/** Records the edit's hold; false when the edit has one already (it is never held twice). */
export async function insertEditHold(db: Db, hold: EditHold, now: number): Promise<boolean> {
  return (await insert(db, [hold.editId, hold.orderId, hold.status, JSON.stringify(hold.lines), now, now])).length === 1;
}

export async function findEditHold(db: Db, editId: string): Promise<EditHold | undefined> {
  const [row] = await select(db, [editId]);
  return row && fromRow(row);
}

/** The order's edits whose units are still held. */
export async function heldEditsOfOrder(db: Db, orderId: string): Promise<EditHold[]> {
  return (await selectHeldOfOrder(db, [orderId])).map(fromRow);
}

/** Compare-and-set of a hold's status: false when it was no longer `from`. */
export async function transitionEditHold(db: Db, editId: string, from: EditHoldStatus, to: EditHoldStatus, now: number): Promise<boolean> {
  return (await transition(db, [to, now, editId, from])).length === 1;
}

/** Units held by item edits still under way, per product (they count as reserved). */
export async function heldForEditsByProduct(db: Db): Promise<Map<string, number>> {
  const rows = await db.selectFrom('inventory_edit_holds').select('lines').where('status', '=', 'held').execute();
  const held = new Map<string, number>();
  for (const row of rows) for (const line of JSON.parse(row.lines) as ReservationLine[]) held.set(line.productId, (held.get(line.productId) ?? 0) + line.quantity);
  return held;
}
