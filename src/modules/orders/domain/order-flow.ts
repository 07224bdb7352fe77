// The order and its saga move together: this decides a command against both. Pure: no I/O.
import { BACKORDER_TIMEOUT_REASON, decideOrder, REVIEW_EXPIRED_REASON, type Order, type OrderCommand, type OrderEvent } from './order.js';
import type { OrderStatus } from './order-status.js';
import { evolveSaga, stockPhase, type CompensationName, type Saga, type SagaFact } from './saga.js';

/** An order with its saga. */
export interface OrderFlow {
  order: Order;
  saga: Saga;
}

/** Order commands, plus the compensations other modules report (they change only the saga). */
export type FlowCommand =
  | OrderCommand
  | { type: 'RecordStockRelease'; detail: string }
  | { type: 'RecordRefund'; detail: string }
  /** Inventory holds the order's shortfalls for review until `reviewUntil` (the order stays PENDING). */
  | { type: 'RecordShortage'; detail: string; reviewUntil: number }
  /** The order waits for a product; the wait is bounded by `waitUntil` (the first backorder's). */
  | { type: 'RecordBackorder'; detail: string; waitUntil: number }
  | { type: 'RecordBackorderFulfilled'; detail: string }
  /** The review window closed with no override: the order is rejected and what it held released. */
  | { type: 'ExpireReview' };

/**
 * The next order and saga, the events to publish, and `refused` when the command did not
 * apply (the state may still differ: a late step is recorded on the saga). `sagaSettled`
 * is true when the saga left STARTED, i.e. its deadline timer is no longer needed.
 */
export interface FlowOutcome extends OrderFlow {
  events: OrderEvent[];
  refused?: { code: string; message: string };
  sagaSettled: boolean;
  /** Set when the saga did not accept what the order did (an inconsistency worth a log line). */
  sagaNote?: string;
}

/** Decides `command` against the order and its saga at `at` (epoch ms). */
export function runOrderFlow(flow: OrderFlow, command: FlowCommand, at: number): FlowOutcome {
  if (command.type === 'RecordStockRelease') return sagaOnly(flow, { type: 'StockReleased', detail: command.detail }, at);
  if (command.type === 'RecordRefund') return sagaOnly(flow, { type: 'PaymentRefunded', detail: command.detail }, at);
  if (command.type === 'RecordShortage') return sagaOnly(flow, { type: 'ReservationShort', detail: command.detail, reviewUntil: command.reviewUntil }, at);
  if (command.type === 'RecordBackorder') return sagaOnly(flow, { type: 'Backordered', detail: command.detail, waitUntil: command.waitUntil }, at);
  if (command.type === 'RecordBackorderFulfilled') return sagaOnly(flow, { type: 'BackorderFulfilled', detail: command.detail }, at);
  if (command.type === 'ExpireReview') return expireReview(flow, at);
  const decision = decideOrder(flow.order, command, at);
  if (!decision.ok) {
    const late = lateFact(flow.order, command);
    const refused = { code: decision.code, message: decision.message };
    if (!late) return { ...flow, events: [], refused, sagaSettled: false };
    const outcome = sagaOnly(flow, late, at);
    return { ...outcome, refused };
  }
  const fact = factFor(flow, command);
  const evolved = evolveSaga(flow.saga, fact, at);
  const saga = evolved.ok ? evolved.saga : flow.saga;
  return {
    order: decision.order,
    saga,
    events: decision.events,
    sagaSettled: flow.saga.state === 'STARTED' && saga.state !== 'STARTED',
    ...(evolved.ok ? {} : { sagaNote: evolved.message }),
  };
}

/**
 * What the saga deadline does when it passes: a short order still held for review is rejected,
 * one waiting for stock is cancelled with reason `backorder timeout`, any other is timed out.
 */
export function timeoutCommand(saga: Saga): FlowCommand {
  const phase = stockPhase(saga);
  if (phase === 'review') return { type: 'ExpireReview' };
  if (phase === 'backordered') return { type: 'TimeOut', reason: BACKORDER_TIMEOUT_REASON };
  return { type: 'TimeOut' };
}

/** What must be undone when an order in `status` is cancelled (a PENDING one waiting for stock holds part of it). */
export function compensationsOnCancel(status: OrderStatus, saga?: Saga): CompensationName[] {
  if (status === 'PENDING' && saga && stockPhase(saga) !== null) return ['stock released'];
  if (status === 'CONFIRMED') return ['stock released'];
  if (status === 'PAID') return ['stock released', 'payment refunded'];
  return [];
}

function sagaOnly(flow: OrderFlow, fact: SagaFact, at: number): FlowOutcome {
  const evolved = evolveSaga(flow.saga, fact, at);
  if (!evolved.ok) return { ...flow, events: [], refused: { code: 'TRANSITION_REFUSED', message: evolved.message }, sagaSettled: false };
  return { order: flow.order, saga: evolved.saga, events: [], sagaSettled: false };
}

function expireReview(flow: OrderFlow, at: number): FlowOutcome {
  if (stockPhase(flow.saga) !== 'review') return { ...flow, events: [], refused: { code: 'TRANSITION_REFUSED', message: `order ${flow.order.orderId} is not held for a stock review` }, sagaSettled: false };
  const decision = decideOrder(flow.order, { type: 'RejectReservation', reason: REVIEW_EXPIRED_REASON }, at);
  if (!decision.ok) return { ...flow, events: [], refused: { code: decision.code, message: decision.message }, sagaSettled: false };
  const evolved = evolveSaga(flow.saga, { type: 'ReviewExpired' }, at);
  const saga = evolved.ok ? evolved.saga : flow.saga;
  return { order: decision.order, saga, events: decision.events, sagaSettled: flow.saga.state === 'STARTED' && saga.state !== 'STARTED' };
}

function factFor({ order, saga }: OrderFlow, command: OrderCommand): SagaFact {
  const before = order.status;
  switch (command.type) {
    case 'ConfirmReservation':
      return { type: 'InventoryReserved', ...(command.restartDeadline === undefined ? {} : { deadline: command.restartDeadline }) };
    case 'RejectReservation':
      return { type: 'InventoryReservationFailed', reason: command.reason };
    case 'RecordPayment':
      return { type: 'PaymentProcessed', paymentId: command.paymentId };
    case 'FailPayment':
      return { type: 'PaymentFailed', reason: command.reason };
    case 'RecordShipment':
      return { type: 'ShipmentCreated', trackingNumber: command.trackingNumber };
    case 'RecordDispatch':
      return { type: 'ShipmentDispatched' };
    case 'RecordDelivery':
      return { type: 'ShipmentDelivered' };
    case 'Cancel':
      return { type: 'OrderCancelled', reason: command.reason, undo: compensationsOnCancel(before, saga) };
    case 'TimeOut':
      return { type: 'TimedOut', undo: compensationsOnCancel(before, saga), ...(command.reason === undefined ? {} : { reason: command.reason }) };
  }
}

// A reservation or a payment that completes after the order was cancelled still happened:
// the saga records it and waits for its compensation (inventory releases, payments refunds).
function lateFact(order: Order, command: OrderCommand): SagaFact | undefined {
  if (order.status !== 'CANCELLED') return undefined;
  if (command.type === 'ConfirmReservation') return { type: 'LateInventoryReserved' };
  if (command.type === 'RecordPayment') return { type: 'LatePaymentProcessed', paymentId: command.paymentId };
  return undefined;
}
