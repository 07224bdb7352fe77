import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EventEnvelope } from '../../kernel/envelope.js';
import { AppError } from '../../kernel/errors.js';
import { createScratchDatabase, dialects } from '../../../test/support/databases.js';
import { eventually } from '../../../test/support/kernel-test-module.js';
import { SAGA_TIMEOUT_TIMER, type OrderView } from './index.js';
import { createOrdersHarness, orderInput, type OrdersHarness } from './spec-harness.js';

async function refusal(promise: Promise<unknown>): Promise<AppError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(error instanceof AppError)) throw new Error(`expected an AppError, got ${String(error)}`);
  return error;
}

const payloadOf = (events: EventEnvelope[], type: string) => events.find((e) => e.eventType === type)?.payload;

describe.each(dialects)('orders module on %s', (dialect) => {
  let h: OrdersHarness;

  beforeAll(async () => {
    h = await createOrdersHarness({ scratch: await createScratchDatabase(dialect), eventually }, 60_000);
  });
  afterAll(async () => h?.close());

  const reserve = (o: OrderView) =>
    h.emit('inventory', o, 'InventoryReserved', { type: 'Order', id: o.orderId }, { orderId: o.orderId, reservations: o.items.map(({ productId, quantity }) => ({ productId, quantity })) });
  const pay = (o: OrderView, paymentId = `pay-${o.orderId}`) =>
    h.emit('payments', o, 'PaymentProcessed', { type: 'Payment', id: paymentId }, { orderId: o.orderId, paymentId, amount: o.totalAmount, currency: o.currency });
  const ship = (o: OrderView) =>
    h.emit('shipments', o, 'ShipmentCreated', { type: 'Shipment', id: `ship-${o.orderId}` }, { orderId: o.orderId, shipmentId: `ship-${o.orderId}`, trackingNumber: `TRK-${o.orderNumber}` });
  const release = (o: OrderView) =>
    h.emit('inventory', o, 'InventoryReleased', { type: 'Order', id: o.orderId }, { orderId: o.orderId, items: o.items.map(({ productId, quantity }) => ({ productId, quantity })) });

  async function confirmedOrder(): Promise<OrderView> {
    const order = await h.api.placeOrder(orderInput());
    await reserve(order);
    return h.statusOf(order.orderId, 'CONFIRMED');
  }
  async function paidOrder(): Promise<OrderView> {
    const order = await confirmedOrder();
    await pay(order);
    return h.statusOf(order.orderId, 'PAID');
  }

  it('places an order PENDING with its number, saga, deadline timer and OrderPlaced in a new flow', async () => {
    const order = await h.api.placeOrder(orderInput({ billingAddress: { street: '2 Side St', city: 'Shelbyville', postalCode: '54321', country: 'US' } }));
    expect(order).toMatchObject({ status: 'PENDING', customerId: 'customer-1', totalAmount: 2 * 1250 + 999, currency: 'USD', sourceChannel: 'web', paymentMethod: { type: 'card' } });
    // The year of its placement (the test's own clock could be past New Year by now).
    expect(order.orderNumber).toMatch(new RegExp(`^ORD-${order.createdAt.slice(0, 4)}-\\d{6}$`));
    expect(order.items).toEqual([
      { productId: 'p-widget', name: 'Widget', quantity: 2, unitPrice: 1250 },
      { productId: 'p-gadget', name: 'Gadget', quantity: 1, unitPrice: 999 },
    ]);
    expect(JSON.stringify(order)).not.toContain('tok_visa');
    expect(await h.api.getOrder(order.orderId)).toEqual(order);

    const [placed, ...rest] = await h.flow(order.correlationId);
    expect(rest).toEqual([]);
    expect(placed).toMatchObject({ eventType: 'OrderPlaced', version: 2, aggregateType: 'Order', aggregateId: order.orderId, causationId: null, source: 'orders' });
    expect(placed!.payload).toEqual({
      orderId: order.orderId,
      orderNumber: order.orderNumber,
      customerId: 'customer-1',
      items: [
        { productId: 'p-widget', quantity: 2, unitPrice: 1250 },
        { productId: 'p-gadget', quantity: 1, unitPrice: 999 },
      ],
      itemCount: 3,
      totalAmount: 3499,
      currency: 'USD',
      shippingAddress: orderInput().shippingAddress,
      sourceChannel: 'web',
      sagaId: order.sagaId,
    });

    const saga = await h.api.getSaga(order.sagaId);
    expect(saga).toMatchObject({ orderId: order.orderId, state: 'STARTED', steps: [{ name: 'order placed', status: 'done' }], completedAt: null });
    expect(Date.parse(saga!.deadline) - Date.parse(saga!.startedAt)).toBe(60_000);
    expect(await h.api.getSagaForOrder(order.orderId)).toEqual(saga);
    const timer = await h.engine.timers.get(`${SAGA_TIMEOUT_TIMER}:${order.orderId}`);
    expect(timer).toMatchObject({ kind: SAGA_TIMEOUT_TIMER, dueAt: Date.parse(saga!.deadline), payload: { orderId: order.orderId } });
  });

  it('applies several steps of several orders committed together, each on top of the one before it (one delivery batch)', async () => {
    const [a, b] = [await h.api.placeOrder(orderInput()), await h.api.placeOrder(orderInput())] as [OrderView, OrderView];
    await h.statusOf(a.orderId, 'PENDING');
    // One transaction: the consumer reads them together, and its handlers run one after another
    // on the orders the batch locked and read at once (PostgreSQL), each seeing the last step's result.
    await h.engine.unitOfWork.run('elsewhere', async (tx) => {
      const lines = (o: OrderView) => o.items.map(({ productId, quantity }) => ({ productId, quantity }));
      tx.emit({ eventType: 'InventoryReserved', aggregateType: 'Order', aggregateId: a.orderId, correlationId: a.correlationId, payload: { orderId: a.orderId, reservations: lines(a) } });
      tx.emit({ eventType: 'InventoryReserved', aggregateType: 'Order', aggregateId: b.orderId, correlationId: b.correlationId, payload: { orderId: b.orderId, reservations: lines(b) } });
      tx.emit({ eventType: 'PaymentProcessed', aggregateType: 'Payment', aggregateId: `pay-${a.orderId}`, correlationId: a.correlationId, payload: { orderId: a.orderId, paymentId: `pay-${a.orderId}`, amount: a.totalAmount, currency: a.currency } });
      tx.emit({ eventType: 'PaymentProcessed', aggregateType: 'Payment', aggregateId: `pay-${b.orderId}`, correlationId: b.correlationId, payload: { orderId: b.orderId, paymentId: `pay-${b.orderId}`, amount: b.totalAmount, currency: b.currency } });
      tx.emit({ eventType: 'ShipmentCreated', aggregateType: 'Shipment', aggregateId: `ship-${a.orderId}`, correlationId: a.correlationId, payload: { orderId: a.orderId, shipmentId: `ship-${a.orderId}`, trackingNumber: `TRK-${a.orderNumber}` } });
    });
    const shipped = await h.statusOf(a.orderId, 'SHIPPED');
    const paid = await h.statusOf(b.orderId, 'PAID');
    expect(shipped.statusHistory.map((s) => s.status)).toEqual(['PENDING', 'CONFIRMED', 'PAID', 'SHIPPED']);
    expect(paid.statusHistory.map((s) => s.status)).toEqual(['PENDING', 'CONFIRMED', 'PAID']);
    expect((await h.flow(a.correlationId)).map((e) => e.eventType)).toContain('OrderShipped');
  });

  it('follows the happy path to DELIVERED, every event in the order’s flow, every step on the saga', async () => {
    const order = await h.api.placeOrder(orderInput());
    await reserve(order);
    await h.statusOf(order.orderId, 'CONFIRMED');
    await pay(order, 'pay-happy');
    const paid = await h.statusOf(order.orderId, 'PAID');
    expect(paid.paymentId).toBe('pay-happy');
    expect(await h.engine.timers.get(`${SAGA_TIMEOUT_TIMER}:${order.orderId}`)).toBeUndefined();
    await ship(order);
    await h.statusOf(order.orderId, 'SHIPPED');
    const shipmentId = `ship-${order.orderId}`;
    await h.emit('shipments', order, 'ShipmentDispatched', { type: 'Shipment', id: shipmentId }, { orderId: order.orderId, shipmentId, dispatchedAt: '2026-03-01T10:00:00.000Z' });
    await eventually(async () => (await h.api.getOrder(order.orderId))?.dispatchedAt === '2026-03-01T10:00:00.000Z', 'dispatch recorded');
    await h.emit('shipments', order, 'ShipmentDelivered', { type: 'Shipment', id: shipmentId }, { orderId: order.orderId, shipmentId, deliveredAt: '2026-03-02T10:00:00.000Z' });
    const delivered = await h.statusOf(order.orderId, 'DELIVERED');

    expect(delivered).toMatchObject({ shipmentId, trackingNumber: `TRK-${order.orderNumber}`, deliveredAt: '2026-03-02T10:00:00.000Z' });
    expect(delivered.statusHistory.map((s) => s.status)).toEqual(['PENDING', 'CONFIRMED', 'PAID', 'SHIPPED', 'DELIVERED']);
    const events = await h.flow(order.correlationId);
    const mine = events.filter((e) => e.source === 'orders');
    expect(mine.map((e) => e.eventType)).toEqual(['OrderPlaced', 'OrderConfirmed', 'OrderPaid', 'OrderShipped', 'OrderDelivered']);
    for (const e of mine.slice(1)) expect(events.find((c) => c.eventId === e.causationId)?.source).not.toBe('orders');
    expect(payloadOf(events, 'OrderConfirmed')).toEqual({ orderId: order.orderId, totalAmount: 3499, currency: 'USD', customerId: 'customer-1', paymentToken: 'tok_visa' });
    expect(payloadOf(events, 'OrderPaid')).toEqual({
      orderId: order.orderId,
      paymentId: 'pay-happy',
      items: [
        { productId: 'p-widget', quantity: 2 },
        { productId: 'p-gadget', quantity: 1 },
      ],
      shippingAddress: order.shippingAddress,
      customerId: 'customer-1',
    });
    expect(payloadOf(events, 'OrderShipped')).toEqual({ orderId: order.orderId, shipmentId, trackingNumber: `TRK-${order.orderNumber}` });
    expect(payloadOf(events, 'OrderDelivered')).toEqual({ orderId: order.orderId, shipmentId });

    const saga = (await h.api.getSaga(order.sagaId))!;
    expect(saga.state).toBe('COMPLETED');
    expect(saga.steps.map((s) => `${s.name}:${s.status}`)).toEqual([
      'order placed:done',
      'inventory reserved:done',
      'payment processed:done',
      'shipment created:done',
      'shipment dispatched:done',
      'delivered:done',
    ]);
    expect(saga.completedAt).toBe(saga.steps[2]!.at);
    expect(saga.durationMs).toBe(Date.parse(saga.completedAt!) - Date.parse(saga.startedAt));
  });

  it('rejects an order whose reservation failed; the saga FAILED and its timer is gone', async () => {
    const order = await h.api.placeOrder(orderInput());
    await h.emit('inventory', order, 'InventoryReservationFailed', { type: 'Order', id: order.orderId }, {
      orderId: order.orderId,
      reason: 'insufficient stock',
      shortages: [{ productId: 'p-widget', requested: 2, available: 0 }],
    });
    const rejected = await h.statusOf(order.orderId, 'REJECTED');
    expect(rejected.rejectionReason).toBe('insufficient stock');
    const events = await h.flow(order.correlationId);
    expect(payloadOf(events, 'OrderRejected')).toEqual({ orderId: order.orderId, reason: 'insufficient stock' });
    expect(await h.api.getSaga(order.sagaId)).toMatchObject({ state: 'FAILED', pendingCompensations: [] });
    expect(await h.engine.timers.get(`${SAGA_TIMEOUT_TIMER}:${order.orderId}`)).toBeUndefined();
  });

  it('fails an order whose payment failed; the stock release is recorded as the saga compensation', async () => {
    const order = await confirmedOrder();
    await h.emit('payments', order, 'PaymentFailed', { type: 'Payment', id: `pay-${order.orderId}` }, { orderId: order.orderId, reason: 'card declined' });
    const failed = await h.statusOf(order.orderId, 'PAYMENT_FAILED');
    expect(failed.paymentFailureReason).toBe('card declined');
    expect(payloadOf(await h.flow(order.correlationId), 'OrderPaymentFailed')).toEqual({ orderId: order.orderId, reason: 'card declined' });
    expect(await h.api.getSaga(order.sagaId)).toMatchObject({ state: 'COMPENSATING', pendingCompensations: ['stock released'] });
    await release(order);
    await eventually(async () => (await h.api.getSaga(order.sagaId))?.state === 'COMPENSATED', 'saga compensated');
    const saga = (await h.api.getSaga(order.sagaId))!;
    expect(saga.compensations).toEqual([{ name: 'stock released', at: expect.any(String), detail: 'p-widget × 2, p-gadget × 1' }]);
    expect(saga.steps.find((s) => s.name === 'inventory reserved')?.status).toBe('compensated');
  });

  it.each([
    ['PENDING', false, 'COMPENSATED'],
    ['CONFIRMED', false, 'COMPENSATING'],
    ['PAID', true, 'COMPENSATING'],
  ] as const)('cancels a %s order: OrderCancelled{refundRequired: %s}, saga %s, timer gone', async (status, refundRequired, sagaState) => {
    const order = status === 'PENDING' ? await h.api.placeOrder(orderInput()) : status === 'CONFIRMED' ? await confirmedOrder() : await paidOrder();
    const cancelled = await h.api.cancelOrder(order.orderId, { by: 'customer' });
    expect(cancelled).toMatchObject({ status: 'CANCELLED', cancellationReason: 'cancelled by customer', cancelledBy: 'customer' });
    expect(await h.api.getOrder(order.orderId)).toEqual(cancelled);
    const event = (await h.flow(order.correlationId)).find((e) => e.eventType === 'OrderCancelled')!;
    expect(event).toMatchObject({ aggregateId: order.orderId, correlationId: order.correlationId, causationId: null });
    expect(event.payload).toEqual({ orderId: order.orderId, reason: 'cancelled by customer', refundRequired, cancelledBy: 'customer' });
    expect(await h.api.getSaga(order.sagaId)).toMatchObject({ state: sagaState });
    expect(await h.engine.timers.get(`${SAGA_TIMEOUT_TIMER}:${order.orderId}`)).toBeUndefined();
  });

  it('records both compensations of a paid order cancelled by an admin', async () => {
    const order = await paidOrder();
    await h.api.cancelOrder(order.orderId, { by: 'admin', reason: 'fraud suspected' });
    await h.emit('payments', order, 'PaymentRefunded', { type: 'Payment', id: `pay-${order.orderId}` }, { orderId: order.orderId, paymentId: `pay-${order.orderId}`, amount: 3499 });
    await release(order);
    await eventually(async () => (await h.api.getSaga(order.sagaId))?.state === 'COMPENSATED', 'saga compensated');
    const saga = (await h.api.getSaga(order.sagaId))!;
    expect(saga.compensations.map((c) => c.name).sort()).toEqual(['payment refunded', 'stock released']);
    expect((await h.api.getOrder(order.orderId))?.cancellationReason).toBe('fraud suspected');
  });

  it('refuses to cancel a SHIPPED, a cancelled or an unknown order', async () => {
    const order = await paidOrder();
    await ship(order);
    await h.statusOf(order.orderId, 'SHIPPED');
    expect(await refusal(h.api.cancelOrder(order.orderId, { by: 'customer' }))).toMatchObject({ kind: 'conflict', code: 'ORDER_NOT_CANCELLABLE', details: { status: 'SHIPPED' } });
    expect((await h.api.getOrder(order.orderId))?.status).toBe('SHIPPED');
    const other = await h.api.placeOrder(orderInput());
    await h.api.cancelOrder(other.orderId, { by: 'admin' });
    expect(await refusal(h.api.cancelOrder(other.orderId, { by: 'admin' }))).toMatchObject({ kind: 'conflict', code: 'ORDER_NOT_CANCELLABLE' });
    expect(await refusal(h.api.cancelOrder('no-such-order', { by: 'admin' }))).toMatchObject({ kind: 'not_found', code: 'ORDER_NOT_FOUND' });
  });

  it('ignores a payment that arrives after the cancel (no OrderPaid, no dead letter) and waits for its refund', async () => {
    const order = await confirmedOrder();
    await h.api.cancelOrder(order.orderId, { by: 'customer' });
    const late = await pay(order, 'pay-late');
    await eventually(async () => (await h.api.getSaga(order.sagaId))?.pendingCompensations.includes('payment refunded') ?? false, 'late payment recorded');
    expect((await h.api.getOrder(order.orderId))?.status).toBe('CANCELLED');
    expect((await h.flow(order.correlationId)).map((e) => e.eventType)).not.toContain('OrderPaid');
    expect((await h.engine.deadLetters.list({ consumer: 'orders' })).filter((d) => d.eventId === late.eventId)).toEqual([]);
  });

  it('leaves a PAID order alone when a saga timer fires for it anyway', async () => {
    const order = await paidOrder();
    const key = `${SAGA_TIMEOUT_TIMER}:${order.orderId}`;
    await h.engine.unitOfWork.run('orders', (tx) => tx.schedule({ key, kind: SAGA_TIMEOUT_TIMER, dueAt: tx.now, payload: { orderId: order.orderId } }));
    await eventually(async () => (await h.engine.timers.get(key)) === undefined, 'timer fired');
    expect((await h.api.getOrder(order.orderId))?.status).toBe('PAID');
    expect(await h.api.getSaga(order.sagaId)).toMatchObject({ state: 'COMPLETED' });
  });

  it('cancels a CONFIRMED order at the deadline and waits for its stock release', async () => {
    // The deadline is made due once the order is CONFIRMED: a real short one could pass before
    // the consumer has handled InventoryReserved, and cancel the order while PENDING.
    const order = await confirmedOrder();
    const key = `${SAGA_TIMEOUT_TIMER}:${order.orderId}`;
    const timer = (await h.engine.timers.get(key))!;
    await h.engine.unitOfWork.run('orders', (tx) => tx.schedule({ key, kind: timer.kind, dueAt: tx.now, payload: timer.payload }));
    const cancelled = await h.statusOf(order.orderId, 'CANCELLED');
    expect(cancelled).toMatchObject({ cancellationReason: 'timeout', cancelledBy: 'system' });
    expect(cancelled.statusHistory.map((s) => s.status)).toEqual(['PENDING', 'CONFIRMED', 'CANCELLED']);
    expect(await h.api.getSaga(order.sagaId)).toMatchObject({ state: 'TIMED_OUT', pendingCompensations: ['stock released'] });
  });

  it('dead-letters an event about an order it never placed', async () => {
    const ghost = { orderId: 'ghost-order', correlationId: 'ghost-flow' } as OrderView;
    const event = await h.emit('inventory', ghost, 'InventoryReserved', { type: 'Order', id: 'ghost-order' }, { orderId: 'ghost-order', reservations: [] });
    await eventually(async () => (await h.engine.deadLetters.list({ consumer: 'orders', status: 'dead' })).some((d) => d.eventId === event.eventId), 'dead letter');
  });
});

describe.each(dialects)('orders saga deadline on %s', (dialect) => {
  let h: OrdersHarness;

  beforeAll(async () => {
    h = await createOrdersHarness({ scratch: await createScratchDatabase(dialect), eventually }, 600);
  });
  afterAll(async () => h?.close());

  it('cancels a PENDING order with reason timeout once the deadline passes; the saga is TIMED_OUT', async () => {
    const order = await h.api.placeOrder(orderInput());
    const cancelled = await h.statusOf(order.orderId, 'CANCELLED');
    expect(cancelled).toMatchObject({ cancellationReason: 'timeout', cancelledBy: 'system' });
    expect(Date.parse(cancelled.updatedAt) - Date.parse(cancelled.createdAt)).toBeGreaterThanOrEqual(600);
    const event = (await h.flow(order.correlationId)).find((e) => e.eventType === 'OrderCancelled')!;
    expect(event).toMatchObject({ aggregateId: order.orderId, correlationId: order.correlationId, source: 'orders' });
    expect(event.payload).toEqual({ orderId: order.orderId, reason: 'timeout', refundRequired: false, cancelledBy: 'system' });
    const saga = await h.api.getSaga(order.sagaId);
    expect(saga).toMatchObject({ state: 'TIMED_OUT', pendingCompensations: [] });
    expect(saga?.steps.at(-1)).toMatchObject({ name: 'order cancelled', detail: 'timeout' });
  });

});
