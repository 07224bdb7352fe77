import { afterEach, describe, expect, it } from 'vitest';
import type { EventEnvelope } from '../../src/kernel/envelope.js';
import { SAGA_TIMEOUT_TIMER } from '../../src/modules/orders/index.js';
import { dialects } from '../support/databases.js';
import { fulfilmentViolations, stockViolations } from '../support/invariants.js';
import { eventually } from '../support/kernel-test-module.js';
import { address, createFlowHarness, type FlowHarness } from './harness.js';

const admin = { actor: { sub: 'admin-1', role: 'admin' as const } };
const HOUR = 3_600_000;

describe.each(dialects)('backorder flows on %s', (dialect) => {
  let h: FlowHarness;
  afterEach(async () => {
    if (!h) return;
    await h.settle();
    expect(await fulfilmentViolations(h.apis, h.engine)).toEqual([]);
    await h.close();
  });

  async function setup(settings: Parameters<typeof createFlowHarness>[1] = {}) {
    h = await createFlowHarness(dialect, { backorderTimeoutMs: 24 * HOUR, ...settings });
  }
  const product = (productId: string, stock: number, allowBackorders: boolean) => h.apis.inventory.createProduct({ productId, name: productId, price: 1000, stock, allowBackorders });
  const place = (productId: string, quantity: number) =>
    h.apis.orders.placeOrder({ customerId: 'customer-1', items: [{ productId, quantity }], shippingAddress: address, paymentMethod: { token: 'tok_visa' } });
  const statusOf = async (orderId: string) => (await h.apis.orders.getOrder(orderId))!.status;
  const reachStatus = (orderId: string, status: string) => eventually(async () => (await statusOf(orderId)) === status, `order ${orderId} to be ${status}`);
  const restock = (productId: string, delta: number) => h.apis.inventory.adjustStock(productId, { delta, reason: 'restock' });
  const backorders = async (orderId: string) => (await h.apis.inventory.backordersOf(orderId)).map(({ productId, quantity, allocated, status }) => ({ productId, quantity, allocated, status }));
  const typesOf = (events: EventEnvelope[]) => events.map((e) => e.eventType).filter((t) => t !== 'StockAdjusted' && t !== 'LowStockDetected');
  const flowEvents = async (correlationId: string) => (await h.engine.log.query({ correlationId, limit: 1000 })).events;
  /** Settles, then checks the stock identities hold at this step of the story. */
  const settledStock = async () => {
    await h.settle();
    expect(await stockViolations(h.apis)).toEqual([]);
  };

  it('an order for 5 of a product with 2 in stock and backorders allowed waits, then ships after a restock of 10', async () => {
    await setup();
    await product('bolt', 2, true);
    const placed = await place('bolt', 5);
    await settledStock();

    expect(await statusOf(placed.orderId)).toBe('PENDING');
    expect(await backorders(placed.orderId)).toEqual([{ productId: 'bolt', quantity: 3, allocated: 0, status: 'WAITING' }]);
    expect(await h.apis.inventory.getInventory('bolt')).toEqual({ productId: 'bolt', onHand: 2, reserved: 2, available: 0, backordered: 3, reorderPoint: 0 });
    expect(await h.apis.inventory.getProduct('bolt')).toMatchObject({ allowBackorders: true, backordered: 3, available: 0 });
    const waiting = (await h.apis.orders.getSagaForOrder(placed.orderId))!;
    expect(waiting.steps.map((s) => s.name)).toEqual(['order placed', 'backordered']);
    // The payment's deadline is suspended: the order may wait for stock up to BACKORDER_TIMEOUT_MS.
    expect(Date.parse(waiting.deadline) - Date.parse(placed.createdAt)).toBeGreaterThan(23 * HOUR);

    expect(await restock('bolt', 10)).toEqual({ productId: 'bolt', onHand: 12, reserved: 5, available: 7, backordered: 0, reorderPoint: 0 });
    await reachStatus(placed.orderId, 'SHIPPED');
    await settledStock();

    expect(await backorders(placed.orderId)).toEqual([{ productId: 'bolt', quantity: 3, allocated: 3, status: 'FULFILLED' }]);
    expect(await h.apis.inventory.getInventory('bolt')).toMatchObject({ onHand: 7, reserved: 0, available: 7, backordered: 0 });
    const events = await flowEvents(placed.correlationId);
    expect(typesOf(events)).toEqual([
      'OrderPlaced', 'OrderBackordered', 'BackorderFulfilled', 'InventoryReserved', 'OrderConfirmed', 'PaymentProcessed', 'OrderPaid', 'ShipmentCreated', 'OrderShipped',
    ]);
    expect(events.find((e) => e.eventType === 'OrderBackordered')!.payload).toMatchObject({ orderId: placed.orderId, productId: 'bolt', quantity: 3, reserved: 2 });
    expect(events.find((e) => e.eventType === 'BackorderFulfilled')!.payload).toEqual({ orderId: placed.orderId, productId: 'bolt', quantity: 3 });
    expect(events.find((e) => e.eventType === 'InventoryReserved')!.payload).toEqual({ orderId: placed.orderId, reservations: [{ productId: 'bolt', quantity: 5 }] });
    const saga = (await h.apis.orders.getSagaForOrder(placed.orderId))!;
    expect(saga.steps.map((s) => s.name)).toEqual(expect.arrayContaining(['backordered', 'backorder fulfilled', 'inventory reserved', 'payment processed']));
    expect(await h.apis.payments.chargesForOrder(placed.orderId)).toBe(1);
  });

  it('an override approved by an admin for a product without backorders: the order waits for stock, then ships after a restock', async () => {
    await setup({ shortOrderReviewMs: HOUR });
    await product('gear', 1, false);
    const placed = await place('gear', 3);
    await settledStock();

    expect(await statusOf(placed.orderId)).toBe('PENDING');
    expect(await h.apis.orders.stockReviewOf(placed.orderId)).toMatchObject({ shortages: [{ productId: 'gear', requested: 3, available: 1 }], override: null });
    expect(await backorders(placed.orderId)).toEqual([{ productId: 'gear', quantity: 2, allocated: 0, status: 'REVIEW' }]);
    // Held for review: what was available is held, nothing is counted as backordered yet.
    expect(await h.apis.inventory.getInventory('gear')).toMatchObject({ onHand: 1, reserved: 1, available: 0, backordered: 0 });
    expect((await h.apis.orders.getSagaForOrder(placed.orderId))!.steps.map((s) => s.name)).toEqual(['order placed', 'stock short']);

    await h.apis.orders.overrideStock(placed.orderId, { reason: 'supplier confirmed', expectedRestockAt: '2026-12-24' }, admin);
    await settledStock();
    expect(await backorders(placed.orderId)).toEqual([{ productId: 'gear', quantity: 2, allocated: 0, status: 'WAITING' }]);
    expect(await h.apis.inventory.getInventory('gear')).toMatchObject({ reserved: 1, available: 0, backordered: 2 });
    expect(await h.apis.orders.stockReviewOf(placed.orderId)).toMatchObject({ override: { reason: 'supplier confirmed', approvedBy: 'admin-1', expectedRestockAt: '2026-12-24' } });
    // Refused now: it is no longer held for review.
    await expect(h.apis.orders.overrideStock(placed.orderId, { reason: 'again' }, admin)).rejects.toMatchObject({ code: 'ORDER_NOT_SHORT' });

    await restock('gear', 5);
    await reachStatus(placed.orderId, 'SHIPPED');
    await settledStock();
    const events = await flowEvents(placed.correlationId);
    expect(typesOf(events)).toEqual([
      'OrderPlaced', 'InventoryReservationShort', 'OrderStockOverrideApplied', 'OrderBackordered', 'BackorderFulfilled', 'InventoryReserved',
      'OrderConfirmed', 'PaymentProcessed', 'OrderPaid', 'ShipmentCreated', 'OrderShipped',
    ]);
    const override = events.find((e) => e.eventType === 'OrderStockOverrideApplied')!;
    expect(override.payload).toEqual({
      orderId: placed.orderId,
      items: [{ productId: 'gear', requested: 3, available: 1, overridden: 2 }],
      reason: 'supplier confirmed',
      expectedRestockAt: '2026-12-24',
      approvedBy: 'admin-1',
    });
    expect(override.metadata?.actor).toMatchObject({ sub: 'admin-1', role: 'admin' });
    expect(events.find((e) => e.eventType === 'OrderBackordered')!.payload).toMatchObject({ quantity: 2, cause: 'override' });
    expect(await h.apis.inventory.getInventory('gear')).toMatchObject({ onHand: 3, reserved: 0, available: 3, backordered: 0 });
  });

  it('an override is refused for an order that is not short, one no longer waiting, and an unknown one', async () => {
    await setup({ shortOrderReviewMs: HOUR });
    await product('gear', 10, false);
    const shipped = await place('gear', 1);
    await reachStatus(shipped.orderId, 'SHIPPED');
    await expect(h.apis.orders.overrideStock(shipped.orderId, { reason: 'r' }, admin)).rejects.toMatchObject({ kind: 'conflict', code: 'ORDER_NOT_WAITING' });
    await expect(h.apis.orders.overrideStock('no-such-order', { reason: 'r' }, admin)).rejects.toMatchObject({ kind: 'not_found', code: 'ORDER_NOT_FOUND' });
    await expect(h.apis.orders.overrideStock(shipped.orderId, { reason: '' }, admin)).rejects.toMatchObject({ kind: 'validation', code: 'INVALID_OVERRIDE' });
    await expect(h.apis.orders.overrideStock(shipped.orderId, { reason: 'r', expectedRestockAt: 'soon' }, admin)).rejects.toMatchObject({ code: 'INVALID_OVERRIDE' });

    await product('bolt', 0, true);
    const waiting = await place('bolt', 2);
    await settledStock();
    await expect(h.apis.orders.overrideStock(waiting.orderId, { reason: 'r' }, admin)).rejects.toMatchObject({ kind: 'conflict', code: 'ORDER_NOT_SHORT' });
    await restock('bolt', 2);
    await reachStatus(waiting.orderId, 'SHIPPED');
  });

  it('a short order no admin overrides within the review window is rejected, and what it held is released', async () => {
    await setup({ shortOrderReviewMs: HOUR });
    await product('gear', 1, false);
    const placed = await place('gear', 3);
    await settledStock();
    expect(await h.apis.inventory.getInventory('gear')).toMatchObject({ reserved: 1 });

    await h.fireTimer(`${SAGA_TIMEOUT_TIMER}:${placed.orderId}`);
    await reachStatus(placed.orderId, 'REJECTED');
    await settledStock();
    expect(await h.apis.inventory.getInventory('gear')).toMatchObject({ onHand: 1, reserved: 0, available: 1, backordered: 0 });
    expect(await backorders(placed.orderId)).toEqual([{ productId: 'gear', quantity: 2, allocated: 0, status: 'CANCELLED' }]);
    expect(await h.apis.inventory.reservationOf(placed.orderId)).toMatchObject({ status: 'released' });
    expect((await h.apis.orders.getSagaForOrder(placed.orderId))!).toMatchObject({ state: 'COMPENSATED' });
    await expect(h.apis.orders.overrideStock(placed.orderId, { reason: 'too late' }, admin)).rejects.toMatchObject({ code: 'ORDER_NOT_WAITING' });
  });

  it('with no review window, an order short of a product without backorders is rejected at once, as before', async () => {
    await setup();
    await product('gear', 1, false);
    const placed = await place('gear', 3);
    await reachStatus(placed.orderId, 'REJECTED');
    await settledStock();
    expect(await h.apis.inventory.getInventory('gear')).toMatchObject({ reserved: 0, available: 1, backordered: 0 });
    expect(await backorders(placed.orderId)).toEqual([]);
  });

  it('restock serves backorders in order of placement: first placed, first served, strictly', async () => {
    await setup();
    await product('nut', 0, true);
    const a = await place('nut', 3);
    const b = await place('nut', 2);
    const c = await place('nut', 4);
    await settledStock();
    expect(await h.apis.inventory.getInventory('nut')).toMatchObject({ available: 0, backordered: 9 });

    // 2 units: all go to A, the oldest; B and C, placed later, get nothing although B needs only 2.
    await restock('nut', 2);
    await settledStock();
    expect(await backorders(a.orderId)).toEqual([{ productId: 'nut', quantity: 3, allocated: 2, status: 'WAITING' }]);
    expect(await backorders(b.orderId)).toEqual([{ productId: 'nut', quantity: 2, allocated: 0, status: 'WAITING' }]);
    expect(await h.apis.inventory.getInventory('nut')).toMatchObject({ onHand: 2, reserved: 2, available: 0, backordered: 7 });
    expect([await statusOf(a.orderId), await statusOf(b.orderId), await statusOf(c.orderId)]).toEqual(['PENDING', 'PENDING', 'PENDING']);

    await restock('nut', 1);
    await reachStatus(a.orderId, 'SHIPPED');
    await settledStock();
    expect([await statusOf(b.orderId), await statusOf(c.orderId)]).toEqual(['PENDING', 'PENDING']);

    await restock('nut', 3);
    await reachStatus(b.orderId, 'SHIPPED');
    await settledStock();
    expect(await backorders(c.orderId)).toEqual([{ productId: 'nut', quantity: 4, allocated: 1, status: 'WAITING' }]);
    expect(await statusOf(c.orderId)).toBe('PENDING');

    await restock('nut', 3);
    await reachStatus(c.orderId, 'SHIPPED');
    await settledStock();
    const fulfilled = (await h.engine.log.query({ eventType: 'BackorderFulfilled', limit: 100 })).events.map((e) => (e.payload as { orderId: string }).orderId);
    expect(fulfilled).toEqual([a.orderId, b.orderId, c.orderId]);
    expect(await h.apis.inventory.getInventory('nut')).toMatchObject({ onHand: 0, reserved: 0, available: 0, backordered: 0 });
  });

  it('a waiting order that is cancelled gives back what it held, and the next in line is served with it', async () => {
    await setup();
    await product('nut', 1, true);
    const a = await place('nut', 3);
    const b = await place('nut', 2);
    await settledStock();
    expect(await h.apis.inventory.getInventory('nut')).toMatchObject({ reserved: 1, backordered: 4 });

    await h.apis.orders.cancelOrder(a.orderId, { by: 'customer' });
    await settledStock();
    expect(await backorders(a.orderId)).toEqual([{ productId: 'nut', quantity: 2, allocated: 0, status: 'CANCELLED' }]);
    expect(await backorders(b.orderId)).toEqual([{ productId: 'nut', quantity: 2, allocated: 1, status: 'WAITING' }]);
    expect(await h.apis.inventory.getInventory('nut')).toMatchObject({ onHand: 1, reserved: 1, available: 0, backordered: 1 });
    expect((await h.apis.orders.getSagaForOrder(a.orderId))!).toMatchObject({ state: 'COMPENSATED', pendingCompensations: [] });

    await restock('nut', 1);
    await reachStatus(b.orderId, 'SHIPPED');
  });

  it('an order that waits longer than BACKORDER_TIMEOUT_MS is cancelled with reason `backorder timeout` and releases what it held', async () => {
    await setup();
    await product('nut', 1, true);
    const placed = await place('nut', 3);
    await settledStock();
    await h.fireTimer(`${SAGA_TIMEOUT_TIMER}:${placed.orderId}`);
    await reachStatus(placed.orderId, 'CANCELLED');
    await settledStock();
    expect(await h.apis.orders.getOrder(placed.orderId)).toMatchObject({ cancellationReason: 'backorder timeout', cancelledBy: 'system' });
    expect(await h.apis.inventory.getInventory('nut')).toMatchObject({ onHand: 1, reserved: 0, available: 1, backordered: 0 });
    expect((await h.apis.orders.getSagaForOrder(placed.orderId))!).toMatchObject({ state: 'TIMED_OUT', pendingCompensations: [] });
  });

  it('once the last backorder is served, the saga deadline restarts: SAGA_TIMEOUT_MS from then', async () => {
    await setup({ sagaTimeoutMs: 600_000, paymentSuccessRate: 1 });
    await product('nut', 0, true);
    // tok_timeout: the gateway never answers, so the order stays CONFIRMED and its deadline is visible.
    const placed = await h.apis.orders.placeOrder({ customerId: 'c', items: [{ productId: 'nut', quantity: 1 }], shippingAddress: address, paymentMethod: { token: 'tok_timeout' } });
    await settledStock();
    const before = Date.now();
    await restock('nut', 1);
    await reachStatus(placed.orderId, 'CONFIRMED');
    const saga = (await h.apis.orders.getSagaForOrder(placed.orderId))!;
    expect(Date.parse(saga.deadline)).toBeGreaterThanOrEqual(before + 600_000);
    expect(Date.parse(saga.deadline)).toBeLessThan(before + 23 * HOUR);
    const timer = await h.engine.timers.get(`${SAGA_TIMEOUT_TIMER}:${placed.orderId}`);
    expect(timer?.dueAt).toBe(Date.parse(saga.deadline));
    await h.apis.orders.cancelOrder(placed.orderId, { by: 'admin' });
  });
});
