import { sql, type Kysely } from 'kysely';
import { isPostgres, rowsStatement, statement, type Statement } from '../../../platform/storage/statements.js';
import type { OrderFlow } from '../domain/order-flow.js';
import type { Order } from '../domain/order.js';
import type { Saga } from '../domain/saga.js';
import { itemsToRows, orderFromRows, orderToRow, sagaFromRow, sagaToRow } from './rows.js';
import type { OrderItemRow, OrderRow, OrderSagaRow, OrdersTables } from './tables.js';

// Writes, always inside the caller's transaction. Placement and every step of the flow run
// these, so they are statements written once rather than queries built per call.
type Db = Kysely<OrdersTables>;

type OrderColumns = Omit<OrderRow, 'version'>;
const ORDER_COLUMNS = [
  'order_id', 'order_number', 'customer_id', 'status', 'currency', 'total_amount', 'shipping_address', 'billing_address',
  'source_channel', 'payment_token', 'correlation_id', 'saga_id', 'cancellation_reason', 'cancelled_by', 'rejection_reason',
  'payment_failure_reason', 'payment_id', 'shipment_id', 'tracking_number', 'dispatched_at', 'delivered_at', 'status_history',
  'pending_edit', 'edit_count', 'last_edit', 'created_at', 'updated_at',
] as const satisfies readonly (keyof OrderColumns)[];
// Every column of the row must be listed above: a column added to the table and forgotten here fails to compile.
const everyOrderColumn: Exclude<keyof OrderColumns, (typeof ORDER_COLUMNS)[number]> extends never ? true : never = true;
void everyOrderColumn;
/** What a change may rewrite: everything but the identity and the creation time. */
const ORDER_CHANGEABLE = ORDER_COLUMNS.filter((c) => c !== 'order_id' && c !== 'order_number' && c !== 'created_at');
const SAGA_COLUMNS = ['saga_id', 'order_id', 'state', 'steps', 'compensations', 'pending_compensations', 'deadline', 'started_at', 'completed_at', 'updated_at'] as const satisfies readonly (keyof OrderSagaRow)[];
const SAGA_CHANGEABLE = SAGA_COLUMNS.filter((c) => c !== 'saga_id' && c !== 'order_id' && c !== 'started_at');
const ITEM_COLUMNS = ['order_id', 'line_no', 'product_id', 'name', 'quantity', 'unit_price'] as const satisfies readonly (keyof OrderItemRow)[];

const placeholders = (n: number) => Array.from({ length: n }, () => '?').join(', ');
const insertOrder = statement(`insert into orders (${ORDER_COLUMNS.join(', ')}, version) values (${placeholders(ORDER_COLUMNS.length)}, 1)`);
const insertItems = rowsStatement(`insert into order_items (${ITEM_COLUMNS.join(', ')})`, ITEM_COLUMNS.length);
const insertSaga = statement(`insert into order_sagas (${SAGA_COLUMNS.join(', ')}) values (${placeholders(SAGA_COLUMNS.length)})`);
/**
 * SQLite rewrites the entries of every index whose column an update sets, changed or not: a
 * page written per index per step (`orders_customer_created` alone was 16 KB of the ~108 KB an
 * order wrote). The indexed columns a change may rewrite are set only when their value changed.
 */
const INDEXED_CHANGEABLE = ['status', 'customer_id'] as const;
const UNINDEXED_CHANGEABLE = ORDER_CHANGEABLE.filter((c) => !(INDEXED_CHANGEABLE as readonly string[]).includes(c));
/**
 * The updates of an order's row, by which indexed columns changed (bit 0: status, bit 1:
 * customer_id): its unindexed columns, then those; `version` counts the writes of the row.
 */
const updateOrder = [0, 1, 2, 3].map((changed) => {
  const indexed = INDEXED_CHANGEABLE.filter((_, bit) => changed & (1 << bit));
  return { indexed, update: statement(`update orders set ${[...UNINDEXED_CHANGEABLE, ...indexed].map((c) => `${c} = ?`).join(', ')}, version = version + 1 where order_id = ?`) };
});
const updateSaga = statement(`update order_sagas set ${SAGA_CHANGEABLE.map((c) => `${c} = ?`).join(', ')} where saga_id = ?`);
/**
 * SQLite: every transaction begins IMMEDIATE, holding the database's one write lock until it
 * ends, so a plain read is as good as a lock (a write here would cost a row rewrite per step).
 */
const selectOrder = statement<OrderRow>('select * from orders where order_id = ?');
const selectItems = statement<OrderItemRow>('select * from order_items where order_id = ?');
const selectSaga = statement<OrderSagaRow>('select * from order_sagas where order_id = ?');
/**
 * PostgreSQL: the lock, the lines and the saga in one round trip (a statement costs the process
 * and the server more in the round trip than in the work). The lines come back as JSON of their
 * rows (bigint columns as JSON numbers, which the row readers take as well). Until an item edit
 * applies they are the placement's, so the statement's snapshot — taken before it waited for the
 * row lock — reads them right; once the locked row counts an edit (`edit_count`), they are read
 * again after the lock. The saga does change, under this same lock, so a read from that snapshot
 * could miss a change committed while this statement waited: it is read by an update that changes
 * nothing, which, like any update, works on the row's latest committed version (the one after the
 * wait) and returns it.
 */
const lockOrderWithItems = statement<OrderRow & { items_json: OrderItemRow[] | null; saga_json: OrderSagaRow | null }>(
  `with locked as (update orders set version = version + 1 where order_id = ? returning *),
   saga as (update order_sagas set saga_id = saga_id where order_id = (select order_id from locked) returning *)
   select locked.*, (select json_agg(i) from order_items i where i.order_id = locked.order_id) as items_json,
     (select row_to_json(saga) from saga) as saga_json
   from locked`,
);
/**
 * PostgreSQL: `lockOrderWithItems` for several orders in one statement, their rows locked in
 * order id order (bytewise): lockers of one order at a time never wait for it in another order.
 * `for no key update` is the lock the version bump takes anyway.
 */
const lockOrdersWithItems = statement<OrderRow & { items_json: OrderItemRow[] | null; saga_json: OrderSagaRow | null }>(
  `with locked as materialized (select order_id from orders where order_id = any(?) order by order_id collate "C" for no key update),
   bumped as (update orders o set version = o.version + 1 from locked l where o.order_id = l.order_id returning o.*),
   saga as (update order_sagas s set saga_id = s.saga_id where s.order_id in (select order_id from locked) returning s.*)
   select bumped.*, (select json_agg(i) from order_items i where i.order_id = bumped.order_id) as items_json,
     (select row_to_json(saga) from saga where saga.order_id = bumped.order_id) as saga_json
   from bumped`,
);
/** PostgreSQL: the order's and the saga's changes in one statement. */
const updateOrderAndSaga = statement(
  `with changed_order as (update orders set ${ORDER_CHANGEABLE.map((c) => `${c} = ?`).join(', ')} where order_id = ?)
   update order_sagas set ${SAGA_CHANGEABLE.map((c) => `${c} = ?`).join(', ')} where saga_id = ?`,
);
const deleteItems = statement('delete from order_items where order_id = ?');
const bumpOrderNumber = statement<{ last_number: number }>(
  'insert into order_number_counters (year, last_number) values (?, 1) on conflict (year) do update set last_number = order_number_counters.last_number + 1 returning last_number',
);

/**
 * The next number of `year`, in one atomic statement: the first order of a year inserts the
 * counter row, every later one increments it. The row stays locked until the transaction
 * ends, so concurrent placements get distinct numbers on both databases.
 */
export async function nextOrderNumber(db: Db, year: number): Promise<number> {
  const [row] = await bumpOrderNumber(db, [year]);
  return Number(row!.last_number);
}

/**
 * PostgreSQL: the next number of `year` from a sequence of the year's own (`order_numbers_<year>`,
 * made on first use, after what the counter row of earlier releases reached). Drawn outside the
 * placement's transaction: no row stays locked until the commit, so placements on many
 * connections do not queue behind one another. A placement that is refused leaves a gap.
 */
export async function nextOrderNumberFromSequence(db: Kysely<OrdersTables>, year: number): Promise<number> {
  const name = `order_numbers_${Math.trunc(year)}`;
  try {
    const { rows } = await sql<{ n: string | number }>`select nextval(${name}) as n`.execute(db);
    return Number(rows[0]!.n);
  } catch (error) {
    if ((error as { code?: string }).code !== '42P01') throw error;
    const counted = await db.selectFrom('order_number_counters').select('last_number').where('year', '=', year).executeTakeFirst();
    try {
      await sql.raw(`create sequence if not exists ${name} start with ${Number(counted?.last_number ?? 0) + 1}`).execute(db);
    } catch (createError) {
      // Placements racing to make the year's sequence: `if not exists` is not atomic; one wins.
      if (!['23505', '42P07'].includes((createError as { code?: string }).code ?? '')) throw createError;
    }
    const { rows } = await sql<{ n: string | number }>`select nextval(${name}) as n`.execute(db);
    return Number(rows[0]!.n);
  }
}

/**
 * PostgreSQL: a placement's three inserts (order, saga, lines) as one statement, one round trip;
 * by the number of lines. The foreign keys of the saga and the lines are checked at the end of
 * the statement, when the order row is there.
 */
const insertFlowWithLines = new Map<number, Statement<never>>();
function insertFlowStatement(lines: number): Statement<never> {
  let run = insertFlowWithLines.get(lines);
  if (!run) {
    const line = `(${placeholders(ITEM_COLUMNS.length)})`;
    run = statement(
      `with placed as (insert into orders (${ORDER_COLUMNS.join(', ')}, version) values (${placeholders(ORDER_COLUMNS.length)}, 1)),
       saga as (insert into order_sagas (${SAGA_COLUMNS.join(', ')}) values (${placeholders(SAGA_COLUMNS.length)}))
       insert into order_items (${ITEM_COLUMNS.join(', ')}) values ${Array.from({ length: lines }, () => line).join(', ')}`,
    );
    insertFlowWithLines.set(lines, run);
  }
  return run;
}

/** Inserts a new order, its lines and its saga. */
export async function insertOrderFlow(db: Db, { order, saga }: OrderFlow): Promise<void> {
  const row = orderToRow(order);
  const lines = itemsToRows(order).map((item) => ITEM_COLUMNS.map((c) => item[c]));
  const sagaRow = sagaToRow(saga);
  // Up to 100 lines at once (orders are limited far below; a longer one takes the three statements).
  if (isPostgres(db) && lines.length > 0 && lines.length <= 100) {
    // Nothing waits for its answer: it goes out with the events' insert and the commit (`Statement.send`).
    await insertFlowStatement(lines.length).send(db, [...ORDER_COLUMNS.map((c) => row[c]), ...SAGA_COLUMNS.map((c) => sagaRow[c]), ...lines.flat()]);
    return;
  }
  await insertOrder(db, ORDER_COLUMNS.map((c) => row[c]));
  await insertItems(db, lines);
  await insertSaga(db, SAGA_COLUMNS.map((c) => sagaRow[c]));
}

/** Orders locked and read ahead for a transaction's handlers (`preloadOrderFlows`), as their writes left them. */
const preloaded = new WeakMap<object, Map<string, OrderFlow>>();

/**
 * PostgreSQL, a batch of events about several orders: locks and reads them all in one statement
 * (`lockOrderFlow` of each, one round trip), and keeps them for `lockOrderFlow` in this
 * transaction, each as `saveOrderFlow` leaves it, until the returned function is called.
 * Nothing on SQLite, where a read in the transaction is in-process.
 */
export async function preloadOrderFlows(db: Db, orderIds: readonly string[]): Promise<() => void> {
  const forget = () => void preloaded.delete(db);
  const ids = [...new Set(orderIds)];
  if (!isPostgres(db) || ids.length < 2) return forget;
  const flows = new Map<string, OrderFlow>();
  for (const joined of await lockOrdersWithItems(db, [ids])) {
    const { items_json: lines, saga_json: sagaRow, ...row } = joined;
    if (!sagaRow) continue;
    const items = Number(row.edit_count) > 0 ? await selectItems(db, [row.order_id]) : (lines ?? []);
    flows.set(row.order_id, { order: orderFromRows(row, items), saga: sagaFromRow(sagaRow) });
  }
  preloaded.set(db, flows);
  return forget;
}

/**
 * Loads an order and its saga for a change, holding the order's row lock until the
 * transaction ends (on PostgreSQL the version bump is the write that takes it; on SQLite the
 * transaction holds the write lock of the whole database), so concurrent handlers, commands
 * and timers of one order run one after another.
 */
export async function lockOrderFlow(db: Db, orderId: string): Promise<OrderFlow | undefined> {
  const ahead = preloaded.get(db)?.get(orderId);
  if (ahead) return ahead;
  let row: OrderRow | undefined;
  let items: OrderItemRow[];
  let saga: OrderSagaRow | undefined;
  if (isPostgres(db)) {
    const [joined] = await lockOrderWithItems(db, [orderId]);
    if (!joined) return undefined;
    const { items_json: lines, saga_json: sagaRow, ...order } = joined;
    row = order;
    saga = sagaRow ?? undefined;
    // An edit may have changed the lines after this statement's snapshot: read them under the lock.
    items = Number(order.edit_count) > 0 ? await selectItems(db, [orderId]) : (lines ?? []);
  } else {
    [row] = await selectOrder(db, [orderId]);
    if (!row) return undefined;
    items = await selectItems(db, [orderId]);
    [saga] = await selectSaga(db, [orderId]);
  }
  if (!saga) throw new Error(`order ${orderId} has no saga`);
  return { order: orderFromRows(row, items), saga: sagaFromRow(saga) };
}

/** Writes what changed between `before` and `after` (the lines only when an item edit applied). */
export async function saveOrderFlow(db: Db, before: OrderFlow, after: { order: Order; saga: Saga }): Promise<void> {
  const ahead = preloaded.get(db);
  if (ahead?.has(after.order.orderId)) ahead.set(after.order.orderId, { order: after.order, saga: after.saga });
  if (after.order.items !== before.order.items) {
    await deleteItems(db, [after.order.orderId]);
    await insertItems(db, itemsToRows(after.order).map((item) => ITEM_COLUMNS.map((c) => item[c])));
  }
  if (after.order !== before.order && after.saga !== before.saga && isPostgres(db)) {
    const row = orderToRow(after.order);
    const sagaRow = sagaToRow(after.saga);
    // The row is locked (`lockOrderFlow`): nothing waits for the answer (`Statement.send`).
    await updateOrderAndSaga.send(db, [...ORDER_CHANGEABLE.map((c) => row[c]), row.order_id, ...SAGA_CHANGEABLE.map((c) => sagaRow[c]), sagaRow.saga_id]);
    return;
  }
  if (after.order !== before.order) {
    const row = orderToRow(after.order);
    const changed = (after.order.status !== before.order.status ? 1 : 0) | (after.order.customerId !== before.order.customerId ? 2 : 0);
    const { indexed, update } = updateOrder[changed]!;
    await update.send(db, [...UNINDEXED_CHANGEABLE.map((c) => row[c]), ...indexed.map((c) => row[c]), row.order_id]);
  }
  if (after.saga !== before.saga) {
    const row = sagaToRow(after.saga);
    await updateSaga.send(db, [...SAGA_CHANGEABLE.map((c) => row[c]), row.saga_id]);
  }
}
