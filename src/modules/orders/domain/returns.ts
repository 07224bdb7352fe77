// Returns of delivered lines (SPEC §8): requested by the customer within the return window,
// approved or rejected by an admin, received (restocked or not) and then refunded. Pure.
import type { Order } from './order.js';

export const RETURN_STATUSES = ['REQUESTED', 'APPROVED', 'REJECTED', 'RECEIVED', 'REFUNDED'] as const;
export type ReturnStatus = (typeof RETURN_STATUSES)[number];

/** A line of a return: units of one product of the order. */
export interface ReturnLine {
  productId: string;
  quantity: number;
}

/** A return of some of an order's delivered units. Times are epoch milliseconds. */
export interface OrderReturn {
  returnId: string;
  orderId: string;
  status: ReturnStatus;
  lines: ReturnLine[];
  /** What the lines cost on the order: the refund once the goods are back (minor units). */
  amount: number;
  currency: string;
  /** Why the customer returns them. */
  reason: string | null;
  /** Why an admin rejected the return. */
  rejectionReason: string | null;
  /** Set on receipt: whether the goods went back into stock (false for damaged goods). */
  restocked: boolean | null;
  /** The refund's amount once payments made it (the refund may be capped at what is left). */
  refundedAmount: number | null;
  createdAt: number;
  updatedAt: number;
}

export type ReturnRefusal = {
  ok: false;
  code: 'RETURN_NOT_ALLOWED' | 'RETURN_WINDOW_CLOSED' | 'RETURN_TOO_LARGE' | 'RETURN_NOT_PENDING';
  message: string;
  details?: Record<string, unknown>;
};
export type ReturnDecision = { ok: true; value: OrderReturn } | ReturnRefusal;

/** Returns that still hold units of the order: all but the rejected ones. */
function holding(returns: readonly OrderReturn[]): OrderReturn[] {
  return returns.filter((r) => r.status !== 'REJECTED');
}

/**
 * A customer asks to return `lines` of a DELIVERED order within `windowMs` of its delivery:
 * each line names a product of the order once, and with the units of earlier returns (not
 * rejected) no product goes over what was ordered. The amount is the lines at their prices.
 */
export function requestReturn(
  order: Order,
  earlier: readonly OrderReturn[],
  request: { returnId: string; lines: readonly ReturnLine[]; reason?: string | undefined },
  at: number,
  windowMs: number,
): ReturnDecision {
  if (order.status !== 'DELIVERED' || order.deliveredAt === null) {
    return { ok: false, code: 'RETURN_NOT_ALLOWED', message: `order ${order.orderId} is ${order.status}: only a delivered order takes returns`, details: { status: order.status } };
  }
  const closesAt = order.deliveredAt + windowMs;
  // A window of 0 takes no returns at all, not those of the millisecond of delivery.
  if (at > closesAt || windowMs <= 0) {
    return {
      ok: false,
      code: 'RETURN_WINDOW_CLOSED',
      message: `the return window of order ${order.orderId} closed at ${new Date(closesAt).toISOString()}`,
      details: { closedAt: new Date(closesAt).toISOString() },
    };
  }
  const ordered = new Map(order.items.map((l) => [l.productId, l]));
  const returned = new Map<string, number>();
  for (const r of holding(earlier)) for (const l of r.lines) returned.set(l.productId, (returned.get(l.productId) ?? 0) + l.quantity);
  const seen = new Set<string>();
  const tooMany: { productId: string; requested: number; returnable: number }[] = [];
  let amount = 0;
  for (const line of request.lines) {
    const item = ordered.get(line.productId);
    if (!item || seen.has(line.productId)) {
      return {
        ok: false,
        code: 'RETURN_TOO_LARGE',
        message: item ? `product ${line.productId} appears on more than one line` : `order ${order.orderId} has no product ${line.productId}`,
        details: { productId: line.productId },
      };
    }
    seen.add(line.productId);
    const returnable = item.quantity - (returned.get(line.productId) ?? 0);
    if (line.quantity > returnable) tooMany.push({ productId: line.productId, requested: line.quantity, returnable });
    amount += line.quantity * item.unitPrice;
  }
  if (tooMany.length > 0) {
    return { ok: false, code: 'RETURN_TOO_LARGE', message: `more units than can still be returned of ${tooMany.map((t) => t.productId).join(', ')}`, details: { lines: tooMany } };
  }
  return {
    ok: true,
    value: {
      returnId: request.returnId,
      orderId: order.orderId,
      status: 'REQUESTED',
      lines: request.lines.map((l) => ({ productId: l.productId, quantity: l.quantity })),
      amount,
      currency: order.currency,
      reason: request.reason ?? null,
      rejectionReason: null,
      restocked: null,
      refundedAmount: null,
      createdAt: at,
      updatedAt: at,
    },
  };
}

const NEXT: Record<'approve' | 'reject' | 'receive' | 'refund', { from: ReturnStatus; to: ReturnStatus }> = {
  approve: { from: 'REQUESTED', to: 'APPROVED' },
  reject: { from: 'REQUESTED', to: 'REJECTED' },
  receive: { from: 'APPROVED', to: 'RECEIVED' },
  refund: { from: 'RECEIVED', to: 'REFUNDED' },
};

/** An admin's decision on a requested return, the receipt of the goods, or the refund made: each from one status only. */
export function moveReturn(
  current: OrderReturn,
  step: { type: 'approve' } | { type: 'reject'; reason?: string | undefined } | { type: 'receive'; restock: boolean } | { type: 'refund'; amount: number },
  at: number,
): ReturnDecision {
  const { from, to } = NEXT[step.type];
  if (current.status !== from) {
    return { ok: false, code: 'RETURN_NOT_PENDING', message: `return ${current.returnId} is ${current.status}: ${step.type} applies to a ${from} return`, details: { status: current.status } };
  }
  const next: OrderReturn = { ...current, status: to, updatedAt: at };
  if (step.type === 'reject') next.rejectionReason = step.reason ?? null;
  if (step.type === 'receive') next.restocked = step.restock;
  if (step.type === 'refund') next.refundedAmount = step.amount;
  return { ok: true, value: next };
}
