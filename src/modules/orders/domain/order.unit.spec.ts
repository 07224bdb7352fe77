import { describe, expect, it } from 'vitest';
import { anOrder, T0 } from './spec-fixtures.js';
import { decideOrder, type OrderCommand } from './order.js';
import { ORDER_STATUSES, type OrderStatus } from './order-status.js';

const AT = T0 + 5_000;

const commands: Record<OrderCommand['type'], OrderCommand> = {
  ConfirmReservation: { type: 'ConfirmReservation' },
  RejectReservation: { type: 'RejectReservation', reason: 'insufficient stock' },
  RecordPayment: { type: 'RecordPayment', paymentId: 'pay-9' },
  FailPayment: { type: 'FailPayment', reason: 'card declined' },
  RecordShipment: { type: 'RecordShipment', shipmentId: 'ship-9', trackingNumber: 'TRK-9' },
  RecordDispatch: { type: 'RecordDispatch', shipmentId: 'ship-1', dispatchedAt: AT - 1 },
  RecordDelivery: { type: 'RecordDelivery', shipmentId: 'ship-1', deliveredAt: AT - 1 },
  Cancel: { type: 'Cancel', reason: 'changed my mind', by: 'customer' },
  TimeOut: { type: 'TimeOut' },
};

// Where each command is accepted: from-status → [to-status, event published or null].
const accepted: Record<OrderCommand['type'], Partial<Record<OrderStatus, [OrderStatus, string | null]>>> = {
  ConfirmReservation: { PENDING: ['CONFIRMED', 'OrderConfirmed'] },
  RejectReservation: { PENDING: ['REJECTED', 'OrderRejected'] },
  RecordPayment: { CONFIRMED: ['PAID', 'OrderPaid'] },
  FailPayment: { CONFIRMED: ['PAYMENT_FAILED', 'OrderPaymentFailed'] },
  RecordShipment: { PAID: ['SHIPPED', 'OrderShipped'] },
  RecordDispatch: { SHIPPED: ['SHIPPED', null] },
  RecordDelivery: { SHIPPED: ['DELIVERED', 'OrderDelivered'] },
  Cancel: { PENDING: ['CANCELLED', 'OrderCancelled'], CONFIRMED: ['CANCELLED', 'OrderCancelled'], PAID: ['CANCELLED', 'OrderCancelled'] },
  TimeOut: { PENDING: ['CANCELLED', 'OrderCancelled'], CONFIRMED: ['CANCELLED', 'OrderCancelled'] },
};

const cases = Object.values(commands).flatMap((command) => ORDER_STATUSES.map((status) => [command.type, status, accepted[command.type][status] ?? null] as const));

describe('decideOrder: every command in every status', () => {
  it.each(cases)('given a %s command on a %s order, then %j', (type, status, outcome) => {
    const decision = decideOrder(anOrder(status), commands[type], AT);
    if (!outcome) {
      expect(decision).toMatchObject({ ok: false, code: 'TRANSITION_REFUSED' });
      return;
    }
    if (!decision.ok) throw new Error(decision.message);
    const [to, eventType] = outcome;
    expect(decision.order.status).toBe(to);
    expect(decision.events.map((e) => e.type)).toEqual(eventType ? [eventType] : []);
    expect(decision.order.updatedAt).toBe(AT);
    if (to !== status) expect(decision.order.statusHistory.at(-1)).toEqual({ status: to, at: AT });
    else expect(decision.order.statusHistory).toEqual(anOrder(status).statusHistory);
  });
});

describe('decideOrder: what the events say', () => {
  it('given a PENDING order, when the reservation is confirmed, then OrderConfirmed carries the amount, customer and payment token', () => {
    const decision = decideOrder(anOrder('PENDING'), commands.ConfirmReservation, AT);
    expect(decision.ok && decision.events[0]).toEqual({
      type: 'OrderConfirmed',
      payload: { orderId: 'order-1', totalAmount: 3499, currency: 'USD', customerId: 'customer-1', paymentToken: 'tok_visa' },
    });
    const noToken = decideOrder(anOrder('PENDING', { paymentToken: null }), commands.ConfirmReservation, AT);
    expect(noToken.ok && noToken.events[0]?.payload).toMatchObject({ paymentToken: null });
  });

  it('given a CONFIRMED order, when paid, then OrderPaid carries what shipments needs and the payment is recorded', () => {
    const decision = decideOrder(anOrder('CONFIRMED'), commands.RecordPayment, AT);
    if (!decision.ok) throw new Error(decision.message);
    expect(decision.order.paymentId).toBe('pay-9');
    expect(decision.events[0]).toEqual({
      type: 'OrderPaid',
      payload: {
        orderId: 'order-1',
        paymentId: 'pay-9',
        items: [
          { productId: 'p-1', quantity: 2 },
          { productId: 'p-2', quantity: 1 },
        ],
        shippingAddress: anOrder().shippingAddress,
        customerId: 'customer-1',
      },
    });
  });

  it('given a PENDING order, when rejected or its payment fails, then the reason is kept', () => {
    const rejected = decideOrder(anOrder('PENDING'), commands.RejectReservation, AT);
    expect(rejected.ok && rejected.order.rejectionReason).toBe('insufficient stock');
    expect(rejected.ok && rejected.events[0]?.payload).toEqual({ orderId: 'order-1', reason: 'insufficient stock' });
    const failed = decideOrder(anOrder('CONFIRMED'), commands.FailPayment, AT);
    expect(failed.ok && failed.order.paymentFailureReason).toBe('card declined');
    expect(failed.ok && failed.events[0]?.payload).toEqual({ orderId: 'order-1', reason: 'card declined' });
  });

  it.each([
    ['PENDING', false],
    ['CONFIRMED', false],
    ['PAID', true],
  ] as const)('given a %s order, when cancelled, then refundRequired is %s', (status, refund) => {
    const decision = decideOrder(anOrder(status), { type: 'Cancel', reason: 'changed my mind', by: 'admin' }, AT);
    if (!decision.ok) throw new Error(decision.message);
    expect(decision.order).toMatchObject({ status: 'CANCELLED', cancellationReason: 'changed my mind', cancelledBy: 'admin' });
    expect(decision.events[0]).toEqual({ type: 'OrderCancelled', payload: { orderId: 'order-1', reason: 'changed my mind', refundRequired: refund, cancelledBy: 'admin' } });
  });

  it('given a CONFIRMED order, when the saga times out, then it is cancelled by the system with reason timeout and no refund', () => {
    const decision = decideOrder(anOrder('CONFIRMED'), commands.TimeOut, AT);
    expect(decision.ok && decision.order).toMatchObject({ status: 'CANCELLED', cancellationReason: 'timeout', cancelledBy: 'system' });
    expect(decision.ok && decision.events[0]?.payload).toEqual({ orderId: 'order-1', reason: 'timeout', refundRequired: false, cancelledBy: 'system' });
  });

  it('given a PAID order, when the shipment is created, then the shipment and tracking number are recorded', () => {
    const decision = decideOrder(anOrder('PAID'), commands.RecordShipment, AT);
    expect(decision.ok && decision.order).toMatchObject({ shipmentId: 'ship-9', trackingNumber: 'TRK-9' });
    expect(decision.ok && decision.events[0]?.payload).toEqual({ orderId: 'order-1', shipmentId: 'ship-9', trackingNumber: 'TRK-9' });
  });

  it('given a SHIPPED order, when dispatched, then dispatchedAt is recorded once and the status stays', () => {
    const decision = decideOrder(anOrder('SHIPPED'), commands.RecordDispatch, AT);
    if (!decision.ok) throw new Error(decision.message);
    expect(decision.order).toMatchObject({ status: 'SHIPPED', dispatchedAt: AT - 1 });
    expect(decideOrder(decision.order, commands.RecordDispatch, AT + 1)).toMatchObject({ ok: false, code: 'TRANSITION_REFUSED' });
  });

  it('given a SHIPPED order, when another shipment is dispatched or delivered, then it is refused', () => {
    expect(decideOrder(anOrder('SHIPPED'), { type: 'RecordDispatch', shipmentId: 'ship-other', dispatchedAt: AT }, AT)).toMatchObject({ ok: false, code: 'SHIPMENT_MISMATCH' });
    expect(decideOrder(anOrder('SHIPPED'), { type: 'RecordDelivery', shipmentId: 'ship-other', deliveredAt: AT }, AT)).toMatchObject({ ok: false, code: 'SHIPMENT_MISMATCH' });
  });

  it('given a SHIPPED order, when delivered, then OrderDelivered names the shipment and deliveredAt is kept', () => {
    const decision = decideOrder(anOrder('SHIPPED'), commands.RecordDelivery, AT);
    expect(decision.ok && decision.order.deliveredAt).toBe(AT - 1);
    expect(decision.ok && decision.events[0]?.payload).toEqual({ orderId: 'order-1', shipmentId: 'ship-1' });
  });
});
