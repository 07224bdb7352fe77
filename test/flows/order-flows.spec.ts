import { afterEach, describe, expect, it } from 'vitest';
import type { EventEnvelope } from '../../src/kernel/envelope.js';
import { SAGA_TIMEOUT_TIMER } from '../../src/modules/orders/index.js';
import { GATEWAY_ANSWER_TIMER } from '../../src/modules/payments/index.js';
import { dialects } from '../support/databases.js';
import { fulfilmentViolations } from '../support/invariants.js';
import { eventually } from '../support/kernel-test-module.js';
import { address, createFlowHarness, type FlowHarness } from './harness.js';

/**
 * Every event of a flow shares its correlation id, and each was caused by an earlier one,
 * except those an operator's command started (`commands`), which have no causing event.
 */
function expectCausalChain(events: EventEnvelope[], commands: string[] = []): void {
  const seen = new Set<string>();
  expect(events[0]!.causationId).toBeNull();
  for (const event of events) {
    expect(event.correlationId).toBe(events[0]!.correlationId);
    if (event === events[0]) {
      // the order's placement starts the flow
    } else if (commands.includes(event.eventType)) expect(event.causationId, `${event.eventType} comes from a command`).toBeNull();
    else expect(seen.has(event.causationId!), `${event.eventType} caused by an earlier event`).toBe(true);
    seen.add(event.eventId);
  }
}

describe.each(dialects)('order flows on %s', (dialect) => {
  let h: FlowHarness;
  afterEach(async () => {
    if (!h) return;
    await h.settle();
    expect(await fulfilmentViolations(h.apis, h.engine)).toEqual([]);
    await h.close();
  });

  async function setup(settings: Parameters<typeof createFlowHarness>[1] = {}, running?: Parameters<typeof createFlowHarness>[2]) {
    h = await createFlowHarness(dialect, settings, running);
    await h.apis.inventory.createProduct({ productId: 'widget', name: 'Widget', price: 9999, stock: 10, reorderPoint: 2 });
    await h.apis.inventory.createProduct({ productId: 'gadget', name: 'Gadget', price: 4999, stock: 5 });
  }

  const place = (token: string | undefined, items = [{ productId: 'widget', quantity: 2 }]) =>
    h.apis.orders.placeOrder({ customerId: 'customer-1', items, shippingAddress: address, paymentMethod: token ? { token } : undefined });
  const statusOf = async (orderId: string) => (await h.apis.orders.getOrder(orderId))!.status;
  const reachStatus = (orderId: string, status: string, timeoutMs?: number) =>
    eventually(async () => (await statusOf(orderId)) === status, `order ${orderId} to be ${status}`, timeoutMs);
  const flowEvents = async (correlationId: string) => (await h.engine.log.query({ correlationId, limit: 1000 })).events;
  const typesOf = (events: EventEnvelope[]) => events.map((e) => e.eventType).filter((t) => t !== 'StockAdjusted' && t !== 'LowStockDetected');
  const inventoryOf = async (productId: string) => (await h.apis.inventory.getInventory(productId))!;

  it('happy path: SHIPPED, then dispatched and DELIVERED, with a causal chain and the records of every module', async () => {
    await setup();
    const placed = await place('tok_visa', [{ productId: 'widget', quantity: 2 }, { productId: 'gadget', quantity: 1 }]);
    expect(placed).toMatchObject({ status: 'PENDING', totalAmount: 2 * 9999 + 4999, currency: 'USD' });
    expect(placed.orderNumber).toMatch(/^ORD-\d{4}-\d{6}$/);
    await reachStatus(placed.orderId, 'SHIPPED');
    const order = (await h.apis.orders.getOrder(placed.orderId))!;
    const shipment = (await h.apis.shipments.getShipmentForOrder(placed.orderId))!;
    await h.apis.shipments.dispatch(shipment.shipmentId);
    await h.apis.shipments.deliver(shipment.shipmentId);
    await reachStatus(placed.orderId, 'DELIVERED');
    // DELIVERED is the orders consumer's view; inventory ships the stock on ShipmentCreated on its own time.
    await h.settle();

    const events = await flowEvents(placed.correlationId);
    expect(typesOf(events)).toEqual([
      'OrderPlaced', 'InventoryReserved', 'OrderConfirmed', 'PaymentProcessed', 'OrderPaid', 'ShipmentCreated', 'OrderShipped',
      'ShipmentDispatched', 'ShipmentDelivered', 'OrderDelivered',
    ]);
    expectCausalChain(events, ['ShipmentDispatched', 'ShipmentDelivered']);
    expect(order).toMatchObject({ paymentId: expect.any(String), shipmentId: shipment.shipmentId, trackingNumber: shipment.trackingNumber });
    expect(await h.apis.payments.getPaymentForOrder(placed.orderId)).toMatchObject({ status: 'succeeded', amount: 2 * 9999 + 4999 });
    expect(await inventoryOf('widget')).toMatchObject({ onHand: 8, reserved: 0, available: 8 });
    expect(await h.apis.inventory.reservationOf(placed.orderId)).toMatchObject({ status: 'shipped' });
    const saga = (await h.apis.orders.getSaga(order.sagaId))!;
    expect(saga.steps.map((s) => s.name)).toEqual(expect.arrayContaining(['inventory reserved', 'payment processed', 'shipment created']));
    expect(saga.compensations).toEqual([]);
  });

  it('insufficient stock: REJECTED, nothing reserved', async () => {
    await setup();
    const placed = await place('tok_visa', [{ productId: 'widget', quantity: 2 }, { productId: 'gadget', quantity: 6 }]);
    await reachStatus(placed.orderId, 'REJECTED');
    expect(typesOf(await flowEvents(placed.correlationId))).toEqual(['OrderPlaced', 'InventoryReservationFailed', 'OrderRejected']);
    const failed = (await flowEvents(placed.correlationId)).find((e) => e.eventType === 'InventoryReservationFailed')!;
    expect(failed.payload).toMatchObject({ shortages: [{ productId: 'gadget', requested: 6, available: 5 }] });
    expect(await inventoryOf('widget')).toMatchObject({ onHand: 10, reserved: 0 });
  });

  it('declined payment: PAYMENT_FAILED with the stock released as a compensation', async () => {
    await setup();
    const placed = await place('tok_chargeDeclined');
    await reachStatus(placed.orderId, 'PAYMENT_FAILED');
    await eventually(async () => (await inventoryOf('widget')).reserved === 0, 'stock released');
    const events = await flowEvents(placed.correlationId);
    expect(typesOf(events)).toEqual(['OrderPlaced', 'InventoryReserved', 'OrderConfirmed', 'PaymentFailed', 'OrderPaymentFailed', 'InventoryReleased']);
    expectCausalChain(events);
    await eventually(async () => (await h.apis.orders.getSagaForOrder(placed.orderId))!.compensations.length === 1, 'the compensation recorded');
    expect((await h.apis.orders.getSagaForOrder(placed.orderId))!.compensations[0]!.name).toBe('stock released');
    expect(await inventoryOf('widget')).toMatchObject({ onHand: 10, reserved: 0, available: 10 });
  });

  it('cancel from PENDING releases the stock it reserved', async () => {
    await setup({}, ['orders', 'payments', 'shipments']);
    const placed = await place('tok_visa');
    const cancelled = await h.apis.orders.cancelOrder(placed.orderId, { by: 'customer', reason: 'changed my mind' });
    expect(cancelled.status).toBe('CANCELLED');
    await h.restart();
    await eventually(async () => (await h.apis.inventory.reservationOf(placed.orderId))?.status === 'released', 'the release');
    expect(await inventoryOf('widget')).toMatchObject({ onHand: 10, reserved: 0 });
    expect(typesOf(await flowEvents(placed.correlationId))).toEqual(['OrderPlaced', 'OrderCancelled', 'InventoryReserved', 'InventoryReleased']);
    expect(await statusOf(placed.orderId)).toBe('CANCELLED');
  });

  it('cancel from CONFIRMED (payment never answers) releases the stock, charges nothing', async () => {
    await setup();
    const placed = await place('tok_timeout');
    await reachStatus(placed.orderId, 'CONFIRMED');
    await h.apis.orders.cancelOrder(placed.orderId, { by: 'admin' });
    await eventually(async () => (await inventoryOf('widget')).reserved === 0, 'stock released');
    expect(await h.apis.payments.chargesForOrder(placed.orderId)).toBe(0);
    expect((await flowEvents(placed.correlationId)).find((e) => e.eventType === 'OrderCancelled')!.payload).toMatchObject({ refundRequired: false });
  });

  it('cancel from PAID refunds the payment and releases the stock', async () => {
    await setup({}, ['orders', 'inventory', 'payments']);
    const placed = await place('tok_visa');
    await reachStatus(placed.orderId, 'PAID');
    await h.apis.orders.cancelOrder(placed.orderId, { by: 'customer' });
    await eventually(async () => (await h.apis.payments.getPaymentForOrder(placed.orderId))?.status === 'refunded', 'the refund');
    await eventually(async () => (await inventoryOf('widget')).reserved === 0, 'stock released');
    await h.restart(); // shipments comes up late: the cancelled order gets no shipment that moves stock
    await h.settle();
    const types = typesOf(await flowEvents(placed.correlationId));
    expect(types).toEqual(expect.arrayContaining(['OrderCancelled', 'PaymentRefunded', 'InventoryReleased']));
    expect(types).not.toContain('OrderShipped');
    expect(await statusOf(placed.orderId)).toBe('CANCELLED');
    expect(await inventoryOf('widget')).toMatchObject({ onHand: 10, reserved: 0 });
    const saga = (await h.apis.orders.getSagaForOrder(placed.orderId))!;
    expect(saga.compensations.map((c) => c.name).sort()).toEqual(['payment refunded', 'stock released']);
  });

  it('cancel after SHIPPED is refused', async () => {
    await setup();
    const placed = await place('tok_visa');
    await reachStatus(placed.orderId, 'SHIPPED');
    await expect(h.apis.orders.cancelOrder(placed.orderId, { by: 'customer' })).rejects.toMatchObject({ kind: 'conflict', code: 'ORDER_NOT_CANCELLABLE' });
    expect(await statusOf(placed.orderId)).toBe('SHIPPED');
  });

  it('saga timeout: a payment that never answers ends CANCELLED with reason timeout, compensated', async () => {
    await setup({ sagaTimeoutMs: 400 });
    const placed = await place('tok_timeout');
    await reachStatus(placed.orderId, 'CANCELLED');
    const order = (await h.apis.orders.getOrder(placed.orderId))!;
    expect(order.cancellationReason).toBe('timeout');
    await eventually(async () => (await inventoryOf('widget')).reserved === 0, 'stock released');
    expect(await h.apis.payments.chargesForOrder(placed.orderId)).toBe(0);
    // The deadline's cancellation names the placement that set the deadline.
    await h.settle();
    expectCausalChain(await flowEvents(placed.correlationId));
  });

  it('a payment that succeeds after the timeout is refunded', async () => {
    // Both delays are far off; the test makes each timer due once the flow is where the story
    // needs it (a real 300 ms deadline could pass before the order is even CONFIRMED).
    await setup({ sagaTimeoutMs: 600_000, paymentLatencyMs: 600_000 });
    const placed = await place('tok_visa');
    await reachStatus(placed.orderId, 'CONFIRMED');
    let payment: Awaited<ReturnType<typeof h.apis.payments.getPaymentForOrder>>;
    await eventually(async () => (payment = await h.apis.payments.getPaymentForOrder(placed.orderId))?.status === 'pending', 'the charge to wait for the gateway');
    await h.fireTimer(`${SAGA_TIMEOUT_TIMER}:${placed.orderId}`);
    await reachStatus(placed.orderId, 'CANCELLED');
    expect((await h.apis.orders.getOrder(placed.orderId))!.cancellationReason).toBe('timeout');
    await h.fireTimer(`${GATEWAY_ANSWER_TIMER}:${payment!.paymentId}`);
    await eventually(async () => (await h.apis.payments.getPaymentForOrder(placed.orderId))?.status === 'refunded', 'the late payment refunded');
    const types = typesOf(await flowEvents(placed.correlationId));
    expect(types.indexOf('PaymentProcessed')).toBeGreaterThan(types.indexOf('OrderCancelled'));
    expect(types).toContain('PaymentRefunded');
    expect(await statusOf(placed.orderId)).toBe('CANCELLED');
    expect(await h.apis.payments.chargesForOrder(placed.orderId)).toBe(1);
    expect(await h.apis.payments.refundsForOrder(placed.orderId)).toBe(1);
    // Timers have no event to handle: the deadline names the placement, the late answer the OrderConfirmed.
    await h.settle();
    expectCausalChain(await flowEvents(placed.correlationId));
  });

  it('200 orders racing for the last 10 units: exactly 10 succeed, 190 are REJECTED, never oversold', async () => {
    h = await createFlowHarness(dialect);
    await h.apis.inventory.createProduct({ productId: 'last-ten', name: 'Scarce', price: 100, stock: 10 });
    const orders = await Promise.all(
      Array.from({ length: 200 }, (_, i) =>
        h.apis.orders.placeOrder({ customerId: `c-${i}`, items: [{ productId: 'last-ten', quantity: 1 }], shippingAddress: address, paymentMethod: { token: 'tok_visa' } }),
      ),
    );
    let lowest = Number.POSITIVE_INFINITY;
    await eventually(async () => {
      lowest = Math.min(lowest, (await h.apis.inventory.getInventory('last-ten'))!.available);
      const counts = await h.apis.orders.countByStatus();
      return counts.SHIPPED + counts.REJECTED === 200;
    }, 'all 200 orders to settle', 60_000);
    // Every order has its final status; the inventory consumer may still be shipping the last units.
    await h.settle();
    const counts = await h.apis.orders.countByStatus();
    expect(counts.SHIPPED).toBe(10);
    expect(counts.REJECTED).toBe(190);
    expect(lowest).toBeGreaterThanOrEqual(0);
    expect(await h.apis.inventory.getInventory('last-ten')).toMatchObject({ onHand: 0, reserved: 0, available: 0 });
    expect(new Set(orders.map((o) => o.orderNumber)).size).toBe(200);
  });

  it('a low-stock alert opens when an order takes a product to its reorder point, and closes on restock', async () => {
    await setup();
    const placed = await place('tok_visa', [{ productId: 'widget', quantity: 8 }]);
    await reachStatus(placed.orderId, 'SHIPPED');
    const alerts = await h.apis.inventory.listAlerts({});
    expect(alerts).toHaveLength(1);
    expect(alerts[0]).toMatchObject({ productId: 'widget', available: 2, reorderPoint: 2 });
    expect((await h.engine.log.query({ eventType: 'LowStockDetected' })).events).toHaveLength(1);
    await h.apis.inventory.adjustStock('widget', { delta: 20, reason: 'restock' });
    expect(await h.apis.inventory.listAlerts({})).toEqual([]);
    expect(await h.apis.inventory.listAlerts({ resolved: true })).toHaveLength(1);
  });
});
