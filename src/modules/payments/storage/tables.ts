import type { GatewayTables } from '../gateway/simulated-gateway.js';
import type { PaymentStatus } from '../domain/payment.js';

/** One payment per order. */
export interface PaymentRow {
  payment_id: string;
  order_id: string;
  status: PaymentStatus;
  /** Integer minor units of `currency`. */
  amount: number;
  currency: string;
  token: string | null;
  /** Decline reason of a failed payment. */
  reason: string | null;
  /** 1 when the order was cancelled while the payment was pending: refund a late success. */
  refund_on_success: number;
  /** Optimistic concurrency: every update moves it by one and expects the value it read. */
  version: number;
  /** The order's flow; events caused by a timer carry it explicitly. */
  correlation_id: string;
  created_at: number;
  updated_at: number;
  refunded_at: number | null;
}

/** Orders cancelled before their payment started, so a late OrderConfirmed charges nothing. */
export interface CancelledOrderRow {
  order_id: string;
  reason: string;
  cancelled_at: number;
}

export interface PaymentTables {
  payments: PaymentRow;
  payment_cancelled_orders: CancelledOrderRow;
}

/** Every table the payments module reads and writes, its gateway's included. */
export type PaymentsDb = PaymentTables & GatewayTables;
