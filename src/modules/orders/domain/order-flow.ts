// The order and its saga move together: this decides a command against both. Pure: no I/O.
import { decideOrder, type Order, type OrderCommand, type OrderEvent } from './order.js';
import type { OrderStatus } from './order-status.js';
import { evolveSaga, type CompensationName, type Saga, type SagaFact } from './saga.js';

/** An order with its saga. */
export interface OrderFlow {
  order: Order;
  saga: Saga;
}

/** Order commands, plus the compensations other modules report (they change only the saga). */
export type FlowCommand = OrderCommand | { type: 'RecordStockRelease'; detail: string } | { type: 'RecordRefund'; detail: string };

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
  const decision = decideOrder(flow.order, command, at);
  if (!decision.ok) {
    const late = lateFact(flow.order, command);
    const refused = { code: decision.code, message: decision.message };
    if (!late) return { ...flow, events: [], refused, sagaSettled: false };
    const outcome = sagaOnly(flow, late, at);
    return { ...outcome, refused };
  }
  const fact = factFor(flow.order.status, command);
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

/** What must be undone when an order in `status` is cancelled. */
export function compensationsOnCancel(status: OrderStatus): CompensationName[] {
  if (status === 'CONFIRMED') return ['stock released'];
  if (status === 'PAID') return ['stock released', 'payment refunded'];
  return [];
}

function sagaOnly(flow: OrderFlow, fact: SagaFact, at: number): FlowOutcome {
  const evolved = evolveSaga(flow.saga, fact, at);
  if (!evolved.ok) return { ...flow, events: [], refused: { code: 'TRANSITION_REFUSED', message: evolved.message }, sagaSettled: false };
  return { order: flow.order, saga: evolved.saga, events: [], sagaSettled: false };
}

function factFor(before: OrderStatus, command: OrderCommand): SagaFact {
  switch (command.type) {
    case 'ConfirmReservation':
      return { type: 'InventoryReserved' };
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
      return { type: 'OrderCancelled', reason: command.reason, undo: compensationsOnCancel(before) };
    case 'TimeOut':
      return { type: 'TimedOut', undo: compensationsOnCancel(before) };
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
