// An admin's override of an order short of stock. Pure: no I/O.
import type { OrderStockOverrideAppliedPayload, OverriddenLine } from '../events.js';
import type { FlowOutcome, OrderFlow } from './order-flow.js';
import { evolveSaga, stockPhase } from './saga.js';

/** What inventory reported short when the order was held for review, and the override, once there is one. */
export interface StockReview {
  orderId: string;
  shortages: { productId: string; requested: number; available: number }[];
  override: StockOverride | null;
  createdAt: number;
}

/** An override as recorded. */
export interface StockOverride {
  items: OverriddenLine[];
  reason: string;
  expectedRestockAt: string | null;
  approvedBy: string;
  at: number;
}

/** What the admin sends, and who they are. */
export interface OverrideRequest {
  reason: string;
  expectedRestockAt?: string;
  approvedBy: string;
}

export type OverrideDecision =
  | { ok: true; outcome: FlowOutcome; override: StockOverride }
  | { ok: false; code: 'ORDER_NOT_WAITING' | 'ORDER_NOT_SHORT'; message: string };

/**
 * Approves the shortfalls of an order held for review: OrderStockOverrideApplied with every short
 * line (requested, available, overridden = requested − available); the order stays PENDING and
 * its saga waits for stock until `waitUntil` (BACKORDER_TIMEOUT_MS from now). Refused for an order
 * no longer PENDING (ORDER_NOT_WAITING), and for one not held for review (ORDER_NOT_SHORT:
 * never short, waiting for backorders of products that take them, or overridden already).
 */
export function decideStockOverride(flow: OrderFlow, review: StockReview | undefined, request: OverrideRequest, at: number, waitUntil: number): OverrideDecision {
  const { order, saga } = flow;
  if (order.status !== 'PENDING') return { ok: false, code: 'ORDER_NOT_WAITING', message: `order ${order.orderId} is ${order.status}: there is nothing left to override` };
  if (!review || review.override !== null || stockPhase(saga) !== 'review') {
    return { ok: false, code: 'ORDER_NOT_SHORT', message: `order ${order.orderId} is not held for a stock review` };
  }
  const items = review.shortages.map((s) => ({ ...s, overridden: s.requested - s.available }));
  const evolved = evolveSaga(saga, { type: 'StockOverrideApplied', detail: `approved by ${request.approvedBy}: ${request.reason}`, waitUntil }, at);
  if (!evolved.ok) return { ok: false, code: 'ORDER_NOT_SHORT', message: evolved.message };
  const payload: OrderStockOverrideAppliedPayload = {
    orderId: order.orderId,
    items,
    reason: request.reason,
    ...(request.expectedRestockAt === undefined ? {} : { expectedRestockAt: request.expectedRestockAt }),
    approvedBy: request.approvedBy,
  };
  return {
    ok: true,
    outcome: { order: order, saga: evolved.saga, events: [{ type: 'OrderStockOverrideApplied', payload }], sagaSettled: false },
    override: { items, reason: request.reason, expectedRestockAt: request.expectedRestockAt ?? null, approvedBy: request.approvedBy, at },
  };
}
