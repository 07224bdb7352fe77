import type { Kysely } from 'kysely';
import { AppError } from '../../../kernel/errors.js';
import type { PaymentState, PaymentStatus } from '../domain/payment.js';
import type { PaymentRow, PaymentsDb } from './tables.js';

type Db = Kysely<PaymentsDb>;

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

export function findPaymentByOrder(db: Db, orderId: string): Promise<PaymentRow | undefined> {
  return db.selectFrom('payments').selectAll().where('order_id', '=', orderId).executeTakeFirst().then(normalise);
}

export function findPayment(db: Db, paymentId: string): Promise<PaymentRow | undefined> {
  return db.selectFrom('payments').selectAll().where('payment_id', '=', paymentId).executeTakeFirst().then(normalise);
}

/** Inserts a new payment; false when the order already has one (the unique order id decides a race). */
export async function insertPayment(db: Db, row: PaymentRow): Promise<boolean> {
  const inserted = await db
    .insertInto('payments')
    .values(row)
    .onConflict((oc) => oc.column('order_id').doNothing())
    .returning('payment_id')
    .executeTakeFirst();
  return inserted !== undefined;
}

/**
 * Writes the payment's next state if nobody changed it since `current` was read (its version);
 * otherwise throws, so the handler is rolled back and retried on fresh state.
 */
export async function savePayment(db: Db, current: PaymentRow, next: PaymentState, now: number, extra: Partial<Pick<PaymentRow, 'reason' | 'refunded_at'>> = {}): Promise<PaymentRow> {
  const changes = { status: next.status, refund_on_success: next.refundOnSuccess ? 1 : 0, updated_at: now, version: current.version + 1, ...extra };
  const result = await db
    .updateTable('payments')
    .set(changes)
    .where('payment_id', '=', current.payment_id)
    .where('version', '=', current.version)
    .executeTakeFirst();
  if (Number(result.numUpdatedRows) !== 1) {
    throw new AppError('conflict', 'PAYMENT_CHANGED_CONCURRENTLY', `payment ${current.payment_id} changed while it was being updated; retrying`);
  }
  return { ...current, ...changes };
}

/** Remembers that an order was cancelled (idempotent). */
export async function recordCancelledOrder(db: Db, orderId: string, reason: string, now: number): Promise<void> {
  await db
    .insertInto('payment_cancelled_orders')
    .values({ order_id: orderId, reason, cancelled_at: now })
    .onConflict((oc) => oc.column('order_id').doNothing())
    .execute();
}

export async function isOrderCancelled(db: Db, orderId: string): Promise<boolean> {
  const row = await db.selectFrom('payment_cancelled_orders').select('order_id').where('order_id', '=', orderId).executeTakeFirst();
  return row !== undefined;
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
