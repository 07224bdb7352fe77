import type { Kysely } from 'kysely';
import { AppError } from '../../../kernel/errors.js';
import type { PaymentState, PaymentStatus } from '../domain/payment.js';
import { rowStatement, statement } from '../../../platform/storage/statements.js';
import type { PaymentRow, PaymentsDb } from './tables.js';

type Db = Kysely<PaymentsDb>;

// Every order is charged once: statements written once.
const PAYMENT_COLUMNS = [
  'payment_id', 'order_id', 'status', 'amount', 'currency', 'token', 'reason', 'refund_on_success', 'version', 'correlation_id', 'created_at', 'updated_at', 'refunded_at',
] as const satisfies readonly (keyof PaymentRow)[];
const everyPaymentColumn: Exclude<keyof PaymentRow, (typeof PAYMENT_COLUMNS)[number]> extends never ? true : never = true;
void everyPaymentColumn;
const insertPaymentRow = rowStatement<PaymentRow, { payment_id: string }>('payments', PAYMENT_COLUMNS, 'on conflict (order_id) do nothing returning payment_id');
const selectByOrder = statement<PaymentRow>('select * from payments where order_id = ?');
const updatePayment = statement<{ payment_id: string }>(
  'update payments set status = ?, refund_on_success = ?, updated_at = ?, version = ?, reason = ?, refunded_at = ? where payment_id = ? and version = ? returning payment_id',
);
const insertCancelled = statement('insert into payment_cancelled_orders (order_id, reason, cancelled_at) values (?, ?, ?) on conflict (order_id) do nothing');
const selectCancelled = statement<{ order_id: string }>('select order_id from payment_cancelled_orders where order_id = ?');
/** A row always: the payment's columns (null without one) and whether the order was cancelled. */
const selectWithCancellation = statement<Partial<Record<keyof PaymentRow, unknown>> & { payment_id: string | null; cancelled: boolean | number }>(
  `select p.*, exists (select 1 from payment_cancelled_orders where order_id = ?) as cancelled
   from (select 1 as one) as one left join payments p on p.order_id = ?`,
);

/** A payment as the API shows it; times are ISO-8601. */
export interface PaymentView {
  paymentId: string;
  orderId: string;
  status: PaymentStatus;
  /** Integer minor units of `currency`. */
  amount: number;
  currency: string;
  /** Why the payment failed (e.g. `card_declined`); null otherwise. */
  reason: string | null;
  createdAt: string;
  updatedAt: string;
  refundedAt: string | null;
}

export async function findPaymentByOrder(db: Db, orderId: string): Promise<PaymentRow | undefined> {
  const [row] = await selectByOrder(db, [orderId]);
  return normalise(row);
}

export function findPayment(db: Db, paymentId: string): Promise<PaymentRow | undefined> {
  return db.selectFrom('payments').selectAll().where('payment_id', '=', paymentId).executeTakeFirst().then(normalise);
}

/** Inserts a new payment; false when the order already has one (the unique order id decides a race). */
export async function insertPayment(db: Db, row: PaymentRow): Promise<boolean> {
  return (await insertPaymentRow(db, row)).length === 1;
}

/**
 * Writes the payment's next state if nobody changed it since `current` was read (its version);
 * otherwise throws, so the handler is rolled back and retried on fresh state.
 */
export async function savePayment(
  db: Db,
  current: PaymentRow,
  next: PaymentState,
  now: number,
  extra: Partial<Pick<PaymentRow, 'reason' | 'refunded_at'>> = {},
  options: { insertedHere?: boolean } = {},
): Promise<PaymentRow> {
  const changes = { status: next.status, refund_on_success: next.refundOnSuccess ? 1 : 0, updated_at: now, version: current.version + 1, ...extra };
  const { reason, refunded_at } = { ...current, ...changes };
  const params = [changes.status, changes.refund_on_success, now, changes.version, reason, refunded_at, current.payment_id, current.version];
  if (options.insertedHere) {
    // A row this transaction inserted is seen by no other until the commit: nothing can have
    // changed it, so nothing waits for the answer (`Statement.send`).
    await updatePayment.send(db, params);
    return { ...current, ...changes };
  }
  const updated = await updatePayment(db, params);
  if (updated.length !== 1) {
    throw new AppError('conflict', 'PAYMENT_CHANGED_CONCURRENTLY', `payment ${current.payment_id} changed while it was being updated; retrying`);
  }
  return { ...current, ...changes };
}

const addAmount = statement<{ payment_id: string }>('update payments set amount = amount + ?, updated_at = ?, version = ? where payment_id = ? and version = ? returning payment_id');

/** An item edit's charge succeeded: the payment's amount (every charge of the order) grows by `amount`. */
export async function addToPaymentAmount(db: Db, current: PaymentRow, amount: number, now: number): Promise<PaymentRow> {
  const updated = await addAmount(db, [amount, now, current.version + 1, current.payment_id, current.version]);
  if (updated.length !== 1) throw new AppError('conflict', 'PAYMENT_CHANGED_CONCURRENTLY', `payment ${current.payment_id} changed while it was being updated; retrying`);
  return { ...current, amount: Number(current.amount) + amount, updated_at: now, version: current.version + 1 };
}

/** Remembers that an order was cancelled (idempotent). */
export async function recordCancelledOrder(db: Db, orderId: string, reason: string, now: number): Promise<void> {
  await insertCancelled(db, [orderId, reason, now]);
}

/** The order's payment, if any, and whether the order was cancelled: one statement. */
export async function paymentAndCancellationOf(db: Db, orderId: string): Promise<{ payment: PaymentRow | undefined; cancelled: boolean }> {
  const [row] = await selectWithCancellation(db, [orderId, orderId]);
  const { cancelled, ...payment } = row!;
  return { payment: payment.payment_id === null ? undefined : normalise(payment as PaymentRow), cancelled: Boolean(cancelled) };
}

export async function isOrderCancelled(db: Db, orderId: string): Promise<boolean> {
  return (await selectCancelled(db, [orderId])).length === 1;
}

export function stateOf(row: PaymentRow): PaymentState {
  return { status: row.status, refundOnSuccess: row.refund_on_success === 1 };
}

export function toPaymentView(row: PaymentRow): PaymentView {
  return {
    paymentId: row.payment_id,
    orderId: row.order_id,
    status: row.status,
    amount: row.amount,
    currency: row.currency,
    reason: row.reason,
    createdAt: iso(row.created_at),
    updatedAt: iso(row.updated_at),
    refundedAt: row.refunded_at === null ? null : iso(row.refunded_at),
  };
}

const iso = (ms: number) => new Date(ms).toISOString();

/** Numbers come back as numbers from both drivers; this keeps the row's types honest anyway. */
function normalise(row: PaymentRow | undefined): PaymentRow | undefined {
  if (!row) return undefined;
  return {
    ...row,
    amount: Number(row.amount),
    refund_on_success: Number(row.refund_on_success),
    version: Number(row.version),
    created_at: Number(row.created_at),
    updated_at: Number(row.updated_at),
    refunded_at: row.refunded_at === null ? null : Number(row.refunded_at),
  };
}
