import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EventEnvelope } from '../../kernel/envelope.js';
import { AppError } from '../../kernel/errors.js';
import { createEngine, type Engine } from '../../platform/engine.js';
import type { Storage } from '../../platform/storage/database.js';
import { dialects, createScratchDatabase, type ScratchDatabase } from '../../../test/support/databases.js';
import { eventually } from '../../../test/support/kernel-test-module.js';
import { createInventoryModule, type InventoryApi } from './index.js';

const address = { street: '1 Main St', city: 'Springfield', postalCode: '12345', country: 'US' };

describe.each(dialects)('inventory module on %s', (dialect) => {
  let scratch: ScratchDatabase;
  let storage: Storage;
  let engine: Engine;
  let api: InventoryApi;

  beforeAll(async () => {
    scratch = await createScratchDatabase(dialect);
    storage = await scratch.open();
    const inventory = createInventoryModule();
    engine = createEngine({ storage, modules: [inventory], pollMs: 50, retry: { maxRetries: 3, baseDelayMs: 40, maxDelayMs: 1000 } });
    await engine.migrate();
    await engine.start();
    api = inventory.connect(engine.runtime);
  });

  afterAll(async () => {
    await engine?.stop();
    await storage?.close();
    await scratch?.drop();
  });

  /** Appends an OrderPlaced as the orders module would. */
  function placeOrder(orderId: string, items: { productId: string; quantity: number }[]): Promise<EventEnvelope> {
    const lines = items.map((i) => ({ ...i, unitPrice: 100 }));
    return engine.unitOfWork.run('orders', async (tx) =>
      tx.emit({
        eventType: 'OrderPlaced',
        aggregateType: 'Order',
        aggregateId: orderId,
        correlationId: `flow-${orderId}`,
        payload: {
          orderId,
          orderNumber: `ORD-${orderId}`,
          customerId: 'customer-1',
          items: lines,
          itemCount: lines.reduce((units, l) => units + l.quantity, 0),
          totalAmount: lines.reduce((sum, l) => sum + l.quantity * l.unitPrice, 0),
          currency: 'USD',
          shippingAddress: address,
        },
      }),
    );
  }

  function emitOrderEvent(eventType: string, aggregateType: 'Order' | 'Shipment', aggregateId: string, payload: Record<string, unknown>): Promise<EventEnvelope> {
    return engine.unitOfWork.run('orders', async (tx) => tx.emit({ eventType, aggregateType, aggregateId, correlationId: `flow-${String(payload.orderId)}`, payload }));
  }

  async function eventsOf(filter: { eventType?: string; aggregateId?: string }): Promise<EventEnvelope[]> {
    const all: EventEnvelope[] = [];
    let after: number | undefined;
    for (;;) {
      const page = await engine.log.query({ ...filter, limit: 1000, ...(after === undefined ? {} : { after }) });
      all.push(...page.events);
      if (page.nextCursor === null) return all;
      after = page.nextCursor;
    }
  }

  /** Waits for the reservation outcome of an order and returns it. */
  async function outcomeOf(orderId: string): Promise<EventEnvelope> {
    let found: EventEnvelope | undefined;
    await eventually(async () => {
      found = (await eventsOf({ aggregateId: orderId })).find((e) => e.eventType.startsWith('InventoryReserv'));
      return found !== undefined;
    }, `the reservation outcome of ${orderId}`);
    return found!;
  }

  async function waitFor(eventType: string, aggregateId: string, count = 1): Promise<EventEnvelope[]> {
    let found: EventEnvelope[] = [];
    await eventually(async () => {
      found = await eventsOf({ eventType, aggregateId });
      return found.length >= count;
    }, `${count} ${eventType} of ${aggregateId}`);
    return found;
  }

  /** The conservation invariants of SPEC §5, for every product. */
  async function expectStockConserved(): Promise<void> {
    for (const p of await api.stockLedger()) {
      expect(p.onHand, `onHand of ${p.productId}`).toBe(p.initialStock + p.restocked - p.shipped);
      expect(p.reserved, `reserved of ${p.productId}`).toBe(p.openReservations);
      expect(p.reserved).toBeLessThanOrEqual(p.onHand);
    }
    expect(await engine.deadLetters.countOpen()).toBe(0);
  }

  async function rejection(promise: Promise<unknown>): Promise<AppError> {
    const error = await promise.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(AppError);
    return error as AppError;
  }

  it('creates products, lists them in productId order by pages, and refuses duplicates and bad values', async () => {
    const created = await api.createProduct({ productId: 'cat-b', sku: 'SKU-B', name: 'B', price: 1999, stock: 7, reorderPoint: 2 });
    expect(created).toMatchObject({ productId: 'cat-b', sku: 'SKU-B', name: 'B', price: 1999, currency: 'USD', onHand: 7, reserved: 0, available: 7, reorderPoint: 2 });
    await api.createProduct({ productId: 'cat-a', name: 'A', price: 500, currency: 'EUR', stock: 0 });
    await api.createProduct({ productId: 'cat-c', name: 'C', price: 0, stock: 1 });
    expect(await api.getProduct('cat-b')).toEqual(created);
    expect(await api.getProduct('cat-missing')).toBeUndefined();
    expect(await api.getInventory('cat-b')).toEqual({ productId: 'cat-b', onHand: 7, reserved: 0, available: 7, backordered: 0, reorderPoint: 2 });

    expect(await rejection(api.createProduct({ productId: 'cat-b', name: 'again', price: 1, stock: 1 }))).toMatchObject({ kind: 'conflict', code: 'PRODUCT_EXISTS' });
    expect(await rejection(api.createProduct({ productId: 'cat-x', name: 'x', price: 1.5, stock: 1 }))).toMatchObject({ kind: 'validation' });
    expect(await rejection(api.createProduct({ productId: 'cat-x', name: 'x', price: 1, stock: -1 }))).toMatchObject({ kind: 'validation' });
    expect(await api.getProduct('cat-x')).toBeUndefined();

    const first = await api.listProducts({ limit: 2 });
    const firstIds = first.products.map((p) => p.productId);
    expect(firstIds).toEqual([...firstIds].sort());
    expect(first.nextCursor).not.toBeNull();
    const rest = await api.listProducts({ limit: 200, cursor: first.nextCursor });
    const ids = [...firstIds, ...rest.products.map((p) => p.productId)];
    expect(ids).toEqual(expect.arrayContaining(['cat-a', 'cat-b', 'cat-c']));
    expect(ids).toEqual([...ids].sort());
    expect(new Set(ids).size).toBe(ids.length);
    expect(rest.nextCursor).toBeNull();

    const initial = await eventsOf({ eventType: 'StockAdjusted', aggregateId: 'cat-b' });
    expect(initial.map((e) => e.payload)).toEqual([
      { productId: 'cat-b', quantityAdjusted: 7, newQuantity: 7, onHand: 7, reserved: 0, reason: 'initial stock', movement: 'initial' },
    ]);
    expect(initial[0]).toMatchObject({ aggregateType: 'Product', source: 'inventory' });
    expect(await eventsOf({ eventType: 'StockAdjusted', aggregateId: 'cat-a' })).toEqual([]);
  });

  it('prices items for orders and refuses unknown products and mixed currencies', async () => {
    await api.createProduct({ productId: 'q-usd', name: 'Dollar thing', price: 250, stock: 1 });
    await api.createProduct({ productId: 'q-eur', name: 'Euro thing', price: 300, currency: 'EUR', stock: 1 });
    expect(await api.quote([{ productId: 'q-usd', quantity: 3 }])).toEqual({ currency: 'USD', lines: [{ productId: 'q-usd', name: 'Dollar thing', quantity: 3, unitPrice: 250 }] });
    const unknown = await rejection(api.quote([{ productId: 'q-usd', quantity: 1 }, { productId: 'q-nope', quantity: 1 }]));
    expect(unknown).toMatchObject({ kind: 'validation', code: 'UNKNOWN_PRODUCT', details: { productIds: ['q-nope'] } });
    expect(await rejection(api.quote([{ productId: 'q-usd', quantity: 1 }, { productId: 'q-eur', quantity: 1 }]))).toMatchObject({ kind: 'validation', code: 'MIXED_CURRENCY' });
  });

  it('adjusts stock, refusing to take on hand below zero or below the reserved units', async () => {
    await api.createProduct({ productId: 'adj-1', name: 'Adjusted', price: 100, stock: 5 });
    expect(await api.adjustStock('adj-1', { delta: 10, reason: 'restock' })).toEqual({ productId: 'adj-1', onHand: 15, reserved: 0, available: 15, backordered: 0, reorderPoint: 0 });
    expect(await api.adjustStock('adj-1', { delta: -3, reason: 'damaged' })).toMatchObject({ onHand: 12, available: 12 });
    await placeOrder('adj-order', [{ productId: 'adj-1', quantity: 10 }]);
    expect((await outcomeOf('adj-order')).eventType).toBe('InventoryReserved');

    expect(await rejection(api.adjustStock('adj-1', { delta: -3, reason: 'count' }))).toMatchObject({ kind: 'conflict', code: 'INSUFFICIENT_STOCK' });
    expect(await rejection(api.adjustStock('adj-1', { delta: -13, reason: 'count' }))).toMatchObject({ kind: 'conflict', code: 'INSUFFICIENT_STOCK' });
    expect(await rejection(api.adjustStock('adj-nope', { delta: 1, reason: 'x' }))).toMatchObject({ kind: 'not_found', code: 'PRODUCT_NOT_FOUND' });
    expect(await rejection(api.adjustStock('adj-1', { delta: 0, reason: 'x' }))).toMatchObject({ kind: 'validation' });
    expect(await api.adjustStock('adj-1', { delta: -2, reason: 'count' })).toEqual({ productId: 'adj-1', onHand: 10, reserved: 10, available: 0, backordered: 0, reorderPoint: 0 });

    const moves = (await eventsOf({ eventType: 'StockAdjusted', aggregateId: 'adj-1' })).map((e) => e.payload);
    expect(moves.map((m) => [m.quantityAdjusted, m.newQuantity, m.reason])).toEqual([
      [5, 5, 'initial stock'],
      [10, 15, 'restock'],
      [-3, 12, 'damaged'],
      [-10, 2, 'order ORD-adj-order reserved'],
      [-2, 0, 'count'],
    ]);
    expect(moves[3]).toMatchObject({ orderId: 'adj-order', movement: 'reservation', onHand: 12, reserved: 10 });
    await expectStockConserved();
  });

  it('reserves an order all or nothing', async () => {
    await api.createProduct({ productId: 'aon-a', name: 'A', price: 100, stock: 5 });
    await api.createProduct({ productId: 'aon-b', name: 'B', price: 100, stock: 1 });

    await placeOrder('aon-short', [{ productId: 'aon-a', quantity: 2 }, { productId: 'aon-b', quantity: 2 }]);
    const failed = await outcomeOf('aon-short');
    expect(failed).toMatchObject({
      eventType: 'InventoryReservationFailed',
      aggregateType: 'Order',
      correlationId: 'flow-aon-short',
      payload: { orderId: 'aon-short', reason: 'insufficient_stock', shortages: [{ productId: 'aon-b', requested: 2, available: 1 }] },
    });
    expect(await api.getInventory('aon-a')).toMatchObject({ onHand: 5, reserved: 0, available: 5 });
    expect(await api.getInventory('aon-b')).toMatchObject({ onHand: 1, reserved: 0, available: 1 });
    expect(await api.reservationOf('aon-short')).toMatchObject({ status: 'failed' });
    // Nothing moved, so nothing but the initial stock was published.
    expect(await eventsOf({ eventType: 'StockAdjusted', aggregateId: 'aon-a' })).toHaveLength(1);

    await placeOrder('aon-unknown', [{ productId: 'aon-a', quantity: 1 }, { productId: 'aon-ghost', quantity: 1 }]);
    expect(await outcomeOf('aon-unknown')).toMatchObject({
      eventType: 'InventoryReservationFailed',
      payload: { reason: 'unknown_product', shortages: [{ productId: 'aon-ghost', requested: 1, available: 0 }] },
    });
    expect(await api.getInventory('aon-a')).toMatchObject({ reserved: 0 });

    await placeOrder('aon-ok', [{ productId: 'aon-b', quantity: 1 }, { productId: 'aon-a', quantity: 1 }, { productId: 'aon-a', quantity: 1 }]);
    expect(await outcomeOf('aon-ok')).toMatchObject({
      eventType: 'InventoryReserved',
      payload: { orderId: 'aon-ok', reservations: [{ productId: 'aon-a', quantity: 2 }, { productId: 'aon-b', quantity: 1 }] },
    });
    expect(await api.getInventory('aon-a')).toMatchObject({ onHand: 5, reserved: 2, available: 3 });
    expect(await api.getInventory('aon-b')).toMatchObject({ onHand: 1, reserved: 1, available: 0 });
    expect(await api.reservationOf('aon-ok')).toEqual({
      orderId: 'aon-ok',
      status: 'reserved',
      lines: [{ productId: 'aon-a', quantity: 2 }, { productId: 'aon-b', quantity: 1 }],
    });
    expect(await api.reservationOf('aon-none')).toBeUndefined();
    await expectStockConserved();
  });

  it('never reserves an order twice when its OrderPlaced comes again', async () => {
    await api.createProduct({ productId: 'dup-1', name: 'Dup', price: 100, stock: 10 });
    await placeOrder('dup-order', [{ productId: 'dup-1', quantity: 3 }]);
    expect((await outcomeOf('dup-order')).eventType).toBe('InventoryReserved');
    await placeOrder('dup-order', [{ productId: 'dup-1', quantity: 3 }]);
    // The consumer handles events in log order: once this later order is decided, the repeat was handled.
    await placeOrder('dup-marker', [{ productId: 'dup-1', quantity: 1 }]);
    await outcomeOf('dup-marker');
    expect(await api.getInventory('dup-1')).toMatchObject({ onHand: 10, reserved: 4, available: 6 });
    expect((await eventsOf({ aggregateId: 'dup-order' })).filter((e) => e.eventType === 'InventoryReserved')).toHaveLength(1);
    await expectStockConserved();
  });

  it('releases a held reservation once on OrderCancelled or OrderPaymentFailed', async () => {
    await api.createProduct({ productId: 'rel-1', name: 'Rel', price: 100, stock: 10 });
    await placeOrder('rel-cancel', [{ productId: 'rel-1', quantity: 4 }]);
    await placeOrder('rel-payfail', [{ productId: 'rel-1', quantity: 2 }]);
    await outcomeOf('rel-cancel');
    await outcomeOf('rel-payfail');
    expect(await api.getInventory('rel-1')).toMatchObject({ reserved: 6, available: 4 });

    await emitOrderEvent('OrderCancelled', 'Order', 'rel-cancel', { orderId: 'rel-cancel', reason: 'customer', refundRequired: false });
    const [released] = await waitFor('InventoryReleased', 'rel-cancel');
    expect(released).toMatchObject({ aggregateType: 'Order', payload: { orderId: 'rel-cancel', items: [{ productId: 'rel-1', quantity: 4 }] } });
    expect(await api.reservationOf('rel-cancel')).toMatchObject({ status: 'released' });
    expect(await api.getInventory('rel-1')).toMatchObject({ onHand: 10, reserved: 2, available: 8 });

    await emitOrderEvent('OrderPaymentFailed', 'Order', 'rel-payfail', { orderId: 'rel-payfail', reason: 'card_declined' });
    await waitFor('InventoryReleased', 'rel-payfail');
    expect(await api.getInventory('rel-1')).toMatchObject({ onHand: 10, reserved: 0, available: 10 });

    // A second cancel, and a shipment of a released order, change nothing.
    await emitOrderEvent('OrderCancelled', 'Order', 'rel-cancel', { orderId: 'rel-cancel', reason: 'again', refundRequired: false });
    await emitOrderEvent('ShipmentCreated', 'Shipment', 'ship-of-released', { orderId: 'rel-cancel', shipmentId: 'ship-of-released', trackingNumber: 'TRK-0' });
    await placeOrder('rel-marker', [{ productId: 'rel-1', quantity: 1 }]);
    await outcomeOf('rel-marker');
    expect(await eventsOf({ eventType: 'InventoryReleased', aggregateId: 'rel-cancel' })).toHaveLength(1);
    expect(await api.getInventory('rel-1')).toMatchObject({ onHand: 10, reserved: 1 });
    await expectStockConserved();
  });

  it('ships reserved stock out of on hand on ShipmentCreated, and a later cancel releases nothing', async () => {
    await api.createProduct({ productId: 'shp-1', name: 'Ship', price: 100, stock: 10 });
    await placeOrder('shp-order', [{ productId: 'shp-1', quantity: 3 }]);
    await outcomeOf('shp-order');
    await emitOrderEvent('ShipmentCreated', 'Shipment', 'shp-s1', { orderId: 'shp-order', shipmentId: 'shp-s1', trackingNumber: 'TRK-1' });
    await eventually(async () => (await api.reservationOf('shp-order'))?.status === 'shipped', 'the reservation to ship');
    expect(await api.getInventory('shp-1')).toEqual({ productId: 'shp-1', onHand: 7, reserved: 0, available: 7, backordered: 0, reorderPoint: 0 });
    const moves = await eventsOf({ eventType: 'StockAdjusted', aggregateId: 'shp-1' });
    expect(moves.at(-1)!.payload).toMatchObject({ quantityAdjusted: 0, newQuantity: 7, onHand: 7, reserved: 0, movement: 'shipment', orderId: 'shp-order' });

    await emitOrderEvent('OrderCancelled', 'Order', 'shp-order', { orderId: 'shp-order', reason: 'late', refundRequired: true });
    await placeOrder('shp-marker', [{ productId: 'shp-1', quantity: 1 }]);
    await outcomeOf('shp-marker');
    expect(await eventsOf({ eventType: 'InventoryReleased', aggregateId: 'shp-order' })).toEqual([]);
    expect(await api.getInventory('shp-1')).toMatchObject({ onHand: 7, reserved: 1 });
    const ledger = (await api.stockLedger()).find((p) => p.productId === 'shp-1');
    expect(ledger).toEqual({ productId: 'shp-1', onHand: 7, reserved: 1, initialStock: 10, restocked: 0, shipped: 3, openReservations: 1, backordered: 0, waitingBackorders: 0 });
    await expectStockConserved();
  });

  it('opens one low-stock alert per product and closes it on restock', async () => {
    await api.createProduct({ productId: 'low-1', name: 'Low', price: 100, stock: 6, reorderPoint: 3 });
    expect((await api.listAlerts()).filter((a) => a.productId === 'low-1')).toEqual([]);

    await placeOrder('low-o1', [{ productId: 'low-1', quantity: 3 }]);
    await outcomeOf('low-o1');
    const [detected] = await waitFor('LowStockDetected', 'low-1');
    expect(detected).toMatchObject({ aggregateType: 'Product', payload: { productId: 'low-1', available: 3, reorderPoint: 3 } });
    await placeOrder('low-o2', [{ productId: 'low-1', quantity: 2 }]);
    await outcomeOf('low-o2');

    const open = (await api.listAlerts()).filter((a) => a.productId === 'low-1');
    expect(open).toHaveLength(1);
    expect(open[0]).toMatchObject({ alertId: (detected!.payload as { alertId: string }).alertId, available: 1, reorderPoint: 3, resolvedAt: null });
    expect(open[0]!.message).toMatch(/low-1 has 1 units available/);
    expect(await eventsOf({ eventType: 'LowStockDetected', aggregateId: 'low-1' })).toHaveLength(1);

    await api.adjustStock('low-1', { delta: 2, reason: 'restock' });
    expect((await api.listAlerts()).filter((a) => a.productId === 'low-1')).toHaveLength(1); // available 3: still at the point
    await api.adjustStock('low-1', { delta: 1, reason: 'restock' });
    expect((await api.listAlerts()).filter((a) => a.productId === 'low-1')).toEqual([]);
    const closed = (await api.listAlerts({ resolved: true })).filter((a) => a.productId === 'low-1');
    expect(closed).toHaveLength(1);
    expect(closed[0]!.resolvedAt).not.toBeNull();

    // Falling again opens a new alert.
    await api.adjustStock('low-1', { delta: -1, reason: 'damaged' });
    expect((await api.listAlerts()).filter((a) => a.productId === 'low-1')).toHaveLength(1);
    expect(await eventsOf({ eventType: 'LowStockDetected', aggregateId: 'low-1' })).toHaveLength(2);

    // A product created at or below its reorder point starts with an open alert.
    await api.createProduct({ productId: 'low-2', name: 'Empty', price: 100, stock: 0 });
    expect((await api.listAlerts()).filter((a) => a.productId === 'low-2')).toHaveLength(1);
    await expectStockConserved();
  });

  it('keeps on hand ≥ reserved when stock corrections race with reservations', async () => {
    await api.createProduct({ productId: 'mix-1', name: 'Contended', price: 100, stock: 20 });
    const orderIds = Array.from({ length: 30 }, (_, i) => `mix-${i}`);
    const corrections = await Promise.allSettled([
      ...Array.from({ length: 30 }, () => api.adjustStock('mix-1', { delta: -1, reason: 'shrinkage' })),
      ...orderIds.map((id) => placeOrder(id, [{ productId: 'mix-1', quantity: 1 }]).then(() => undefined)),
    ]);
    for (const c of corrections) {
      if (c.status === 'rejected') expect(c.reason).toMatchObject({ kind: 'conflict', code: 'INSUFFICIENT_STOCK' });
    }
    const removed = corrections.filter((c) => c.status === 'fulfilled' && c.value !== undefined).length;
    const outcomes = await Promise.all(orderIds.map(outcomeOf));
    const reservedOrders = outcomes.filter((e) => e.eventType === 'InventoryReserved').length;
    expect(removed + reservedOrders).toBeLessThanOrEqual(20);
    expect(await api.getInventory('mix-1')).toMatchObject({ onHand: 20 - removed, reserved: reservedOrders });
    await expectStockConserved();
  });

  it('never oversells: 200 concurrent orders for 1 unit each against 10 available', async () => {
    await api.createProduct({ productId: 'race-1', name: 'Hot item', price: 100, stock: 10 });
    const orderIds = Array.from({ length: 200 }, (_, i) => `race-${String(i).padStart(3, '0')}`);
    await Promise.all(orderIds.map((id) => placeOrder(id, [{ productId: 'race-1', quantity: 1 }])));

    let reserved: EventEnvelope[] = [];
    let failed: EventEnvelope[] = [];
    const mine = (e: EventEnvelope) => e.aggregateId.startsWith('race-');
    await eventually(async () => {
      reserved = (await eventsOf({ eventType: 'InventoryReserved' })).filter(mine);
      failed = (await eventsOf({ eventType: 'InventoryReservationFailed' })).filter(mine);
      return reserved.length + failed.length >= 200;
    }, 'all 200 reservation outcomes', 30_000);
    expect(reserved).toHaveLength(10);
    expect(failed).toHaveLength(190);
    expect(new Set([...reserved, ...failed].map((e) => e.aggregateId)).size).toBe(200);
    for (const f of failed) expect(f.payload).toMatchObject({ reason: 'insufficient_stock', shortages: [{ productId: 'race-1', requested: 1, available: 0 }] });

    expect(await api.getInventory('race-1')).toEqual({ productId: 'race-1', onHand: 10, reserved: 10, available: 0, backordered: 0, reorderPoint: 0 });
    const moves = await eventsOf({ eventType: 'StockAdjusted', aggregateId: 'race-1' });
    expect(moves).toHaveLength(11);
    for (const m of moves) expect((m.payload as { newQuantity: number }).newQuantity).toBeGreaterThanOrEqual(0);
    await expectStockConserved();
  });
});
