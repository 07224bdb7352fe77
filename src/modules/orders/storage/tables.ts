// The orders module's tables. Times are epoch milliseconds; JSON is stored as text.

export interface OrderRow {
  order_id: string;
  order_number: string;
  customer_id: string;
  status: string;
  currency: string;
  total_amount: number;
  shipping_address: string;
  billing_address: string | null;
  source_channel: string | null;
  payment_token: string | null;
  correlation_id: string;
  saga_id: string;
  cancellation_reason: string | null;
  cancelled_by: string | null;
  rejection_reason: string | null;
  payment_failure_reason: string | null;
  payment_id: string | null;
  shipment_id: string | null;
  tracking_number: string | null;
  dispatched_at: number | null;
  delivered_at: number | null;
  /** JSON [{ status, at }]. */
  status_history: string;
  /** JSON PendingEdit: the item edit under way; null when none. */
  pending_edit: string | null;
  /** Item edits applied; 0 while the lines are the placement's. */
  edit_count: number;
  /** JSON EditOutcome of the last item edit; null when none ended yet. */
  last_edit: string | null;
  /** Bumped by every write; a write takes the row lock through it. */
  version: number;
  created_at: number;
  updated_at: number;
}

export interface OrderItemRow {
  order_id: string;
  line_no: number;
  product_id: string;
  name: string;
  quantity: number;
  unit_price: number;
}

export interface OrderSagaRow {
  saga_id: string;
  order_id: string;
  state: string;
  /** JSON SagaStep[]. */
  steps: string;
  /** JSON SagaCompensation[]. */
  compensations: string;
  /** JSON CompensationName[]. */
  pending_compensations: string;
  deadline: number;
  started_at: number;
  completed_at: number | null;
  updated_at: number;
}

export interface OrderNumberCounterRow {
  year: number;
  last_number: number;
}

/** A return of delivered lines. */
export interface OrderReturnRow {
  return_id: string;
  order_id: string;
  status: string;
  /** JSON [{ productId, quantity }]. */
  lines: string;
  amount: number;
  currency: string;
  reason: string | null;
  rejection_reason: string | null;
  /** 1/0 once received; null before. */
  restocked: number | null;
  refunded_amount: number | null;
  created_at: number;
  updated_at: number;
}

export interface OrdersTables {
  order_returns: OrderReturnRow;
  orders: OrderRow;
  order_items: OrderItemRow;
  order_sagas: OrderSagaRow;
  order_number_counters: OrderNumberCounterRow;
}
