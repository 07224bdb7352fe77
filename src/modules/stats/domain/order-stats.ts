// The order-statistics projection as a pure fold: what one event changes in an order's facts
// and in the counters. No I/O; the handler and the replay both run it.
import type { OrderPlacedPayload, OrderStatus } from '../../orders/index.js';
import type { PaymentRefundedPayload } from '../../payments/index.js';

/** Every order status, in the order the flow reaches them (SPEC §2). */
export const STATUSES = ['PENDING', 'CONFIRMED', 'PAID', 'SHIPPED', 'DELIVERED', 'REJECTED', 'PAYMENT_FAILED', 'CANCELLED'] as const satisfies readonly OrderStatus[];

/** The status each order event puts the order in. */
export const STATUS_OF_EVENT = {
  OrderPlaced: 'PENDING',
  OrderConfirmed: 'CONFIRMED',
  OrderRejected: 'REJECTED',
  OrderPaid: 'PAID',
  OrderPaymentFailed: 'PAYMENT_FAILED',
  OrderShipped: 'SHIPPED',
  OrderDelivered: 'DELIVERED',
  OrderCancelled: 'CANCELLED',
} as const satisfies Record<string, OrderStatus>;

const REFUNDS = new Set(['PaymentRefunded', 'PaymentPartiallyRefunded']);

/** An item edit's charge of the rise of a paid order's total: revenue grows by it. */
const EDIT_CHARGES = new Set(['PaymentEditCharged']);

/** The event types the projection reads: the order events, the refunds and the charges of item edits. */
export const PROJECTED_EVENT_TYPES = [...Object.keys(STATUS_OF_EVENT), 'PaymentRefunded', 'PaymentPartiallyRefunded', 'PaymentEditCharged'] as const;

/** What the projection keeps per order: enough to move a status count and to count revenue. */
export interface OrderFacts {
  orderId: string;
  status: OrderStatus;
  currency: string;
  /** From OrderPlaced, minor units: what OrderPaid (which has no amount) adds to revenue. */
  totalAmount: number;
  /** Minor units counted as revenue: totalAmount once paid, else 0. */
  paidAmount: number;
  /** Minor units refunded and taken off revenue; never more than paidAmount. */
  refundedAmount: number;
}

/**
 * A named counter: `placed` (orders placed), `units` (items ordered, summed quantities),
 * `lines` (order lines), `status` by status, `paid` and `refunded` by currency (minor units),
 * `placed_day` by UTC day (YYYY-MM-DD). The dimension is '' where there is none.
 */
export type Metric = 'placed' | 'units' | 'lines' | 'status' | 'paid' | 'refunded' | 'placed_day';

/** An amount to add to one counter. */
export interface CounterDelta {
  metric: Metric;
  dimension: string;
  delta: number;
}

/** The part of an envelope the projection reads. */
export interface ProjectedEvent {
  eventType: string;
  occurredAt: string;
  payload: Record<string, unknown>;
}

/** The new facts of the order (undefined when the event concerns no known order) and the counter changes. */
export interface Evolution {
  order: OrderFacts | undefined;
  deltas: CounterDelta[];
}

/** The order an event is about, or undefined for events the projection does not read. */
export function orderIdOf(event: ProjectedEvent): string | undefined {
  if (!(event.eventType in STATUS_OF_EVENT) && !REFUNDS.has(event.eventType) && !EDIT_CHARGES.has(event.eventType)) return undefined;
  const id = event.payload.orderId;
  return typeof id === 'string' && id !== '' ? id : undefined;
}

/**
 * Applies one event to an order's facts. Events are facts the orders module already checked
 * against its status machine, so a status event just moves the order; the projection only
 * refuses what would corrupt a counter: a second OrderPlaced, an event for an order it never
 * saw placed, a refund of an order it never counted as paid (a late payment refunded after
 * a timeout was never revenue). Those guards also make a tail of the log applied twice, in
 * order, converge to the same counters — except an item edit's charge (PaymentEditCharged),
 * which adds to revenue each time it is applied: the consumer's inbox applies it once.
 */
export function evolveOrderStats(order: OrderFacts | undefined, event: ProjectedEvent): Evolution {
  const unchanged: Evolution = { order, deltas: [] };
  if (event.eventType === 'OrderPlaced') return order ? unchanged : placed(event);
  if (!order) return unchanged;
  // A refund in full (a cancellation) or of part (a return): revenue drops by what was refunded.
  if (REFUNDS.has(event.eventType)) return refunded(order, (event.payload as unknown as PaymentRefundedPayload).amount);
  if (EDIT_CHARGES.has(event.eventType)) return charged(order, (event.payload as unknown as PaymentRefundedPayload).amount);
  const status = STATUS_OF_EVENT[event.eventType as keyof typeof STATUS_OF_EVENT] as OrderStatus | undefined;
  if (!status || status === order.status) return unchanged;
  const moved: Evolution = {
    order: { ...order, status },
    deltas: [
      { metric: 'status', dimension: order.status, delta: -1 },
      { metric: 'status', dimension: status, delta: 1 },
    ],
  };
  // A cancelled paid order keeps its revenue until its PaymentRefunded arrives.
  if (status === 'PAID' && order.paidAmount === 0 && order.totalAmount > 0) {
    moved.order = { ...moved.order!, paidAmount: order.totalAmount };
    moved.deltas.push({ metric: 'paid', dimension: order.currency, delta: order.totalAmount });
  }
  return moved;
}

function placed(event: ProjectedEvent): Evolution {
  const p = event.payload as unknown as OrderPlacedPayload;
  const items = Array.isArray(p.items) ? p.items : [];
  // Version 2's count of units; an OrderPlaced stored as version 1 gets it from its upcaster.
  const units = Number.isSafeInteger(p.itemCount) && p.itemCount > 0 ? p.itemCount : 0;
  const order: OrderFacts = { orderId: p.orderId, status: 'PENDING', currency: p.currency, totalAmount: safeAmount(p.totalAmount), paidAmount: 0, refundedAmount: 0 };
  return {
    order,
    deltas: [
      { metric: 'placed', dimension: '', delta: 1 },
      { metric: 'units', dimension: '', delta: units },
      { metric: 'lines', dimension: '', delta: items.length },
      { metric: 'status', dimension: 'PENDING', delta: 1 },
      { metric: 'placed_day', dimension: event.occurredAt.slice(0, 10), delta: 1 },
    ],
  };
}

// Only on an order already counted as paid (an edit charges nothing before PAID).
function charged(order: OrderFacts, amount: unknown): Evolution {
  const applied = safeAmount(amount);
  if (applied <= 0 || order.paidAmount === 0) return { order, deltas: [] };
  return { order: { ...order, paidAmount: order.paidAmount + applied }, deltas: [{ metric: 'paid', dimension: order.currency, delta: applied }] };
}

function refunded(order: OrderFacts, amount: unknown): Evolution {
  const refundable = order.paidAmount - order.refundedAmount;
  const applied = Math.min(safeAmount(amount), refundable);
  if (applied <= 0) return { order, deltas: [] };
  return {
    order: { ...order, refundedAmount: order.refundedAmount + applied },
    deltas: [{ metric: 'refunded', dimension: order.currency, delta: applied }],
  };
}

function safeAmount(value: unknown): number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value > 0 ? value : 0;
}

/** The result of folding several events: the orders they changed and the summed counter changes. */
export interface Fold {
  changed: Map<string, OrderFacts>;
  deltas: CounterDelta[];
}

/**
 * Folds events in log order over the orders already known (`known`, read from storage).
 * Returns the orders that changed and one delta per counter (zero sums left out).
 */
export function foldOrderStats(known: ReadonlyMap<string, OrderFacts>, events: readonly ProjectedEvent[]): Fold {
  const current = new Map(known);
  const changed = new Map<string, OrderFacts>();
  const sums = new Map<string, CounterDelta>();
  for (const event of events) {
    const orderId = orderIdOf(event);
    if (orderId === undefined) continue;
    const { order, deltas } = evolveOrderStats(current.get(orderId), event);
    if (order && order !== current.get(orderId)) {
      current.set(orderId, order);
      changed.set(orderId, order);
    }
    for (const d of deltas) {
      const key = `${d.metric}\u0000${d.dimension}`;
      const sum = sums.get(key);
      if (sum) sum.delta += d.delta;
      else sums.set(key, { ...d });
    }
  }
  return { changed, deltas: [...sums.values()].filter((d) => d.delta !== 0) };
}
