import type { Kysely } from 'kysely';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { dialects, createScratchDatabase, type ScratchDatabase } from '../../../test/support/databases.js';
import { eventually } from '../../../test/support/kernel-test-module.js';
import type { EventEnvelope } from '../../kernel/envelope.js';
import { createEngine, type Engine } from '../../platform/engine.js';
import type { Storage } from '../../platform/storage/database.js';
import { createShipmentsModule, type ShipmentsApi, type ShipmentView } from './index.js';

describe.each(dialects)('shipments module on %s', (dialect) => {
  let scratch: ScratchDatabase;
  let storage: Storage;
  let engine: Engine;
  let shipments: ShipmentsApi;

  beforeEach(async () => {
    scratch = await createScratchDatabase(dialect);
    storage = await scratch.open();
    const module = createShipmentsModule();
    engine = createEngine({ storage, modules: [module], pollMs: 20 });
    await engine.migrate();
    await engine.start();
    shipments = module.connect(engine.runtime);
  });
  afterEach(async () => {
    await engine?.stop();
    await storage?.close();
    await scratch?.drop();
  });

  const flow = (orderId: string) => `flow-${orderId}`;
  const address = { street: '1 Main St', city: 'Springfield', postalCode: '12345', country: 'US' };
  const items = [
    { productId: 'product-1', quantity: 2 },
    { productId: 'product-2', quantity: 1 },
  ];

  function orderEvent(eventType: string, orderId: string, payload: Record<string, unknown>): Promise<EventEnvelope> {
    return engine.unitOfWork.run('orders', async (tx) => tx.emit({ eventType, aggregateType: 'Order', aggregateId: orderId, correlationId: flow(orderId), payload: { orderId, ...payload } }));
  }
  const paid = (orderId: string) => orderEvent('OrderPaid', orderId, { paymentId: `pay-${orderId}`, customerId: 'customer-1', items, shippingAddress: address });
  const cancelled = (orderId: string) => orderEvent('OrderCancelled', orderId, { reason: 'customer request', refundRequired: true });

  async function shipmentEvents(orderId: string): Promise<EventEnvelope[]> {
    const { events } = await engine.log.query({ correlationId: flow(orderId), limit: 1000 });
    return events.filter((e) => e.source === 'shipments');
  }

  async function handled(event: EventEnvelope): Promise<boolean> {
    const row = await (storage.db as Kysely<{ inbox: { consumer: string; event_id: string } }>)
      .selectFrom('inbox')
      .select('event_id')
      .where('consumer', '=', 'shipments')
      .where('event_id', '=', event.eventId)
      .executeTakeFirst();
    return row !== undefined;
  }

  async function created(orderId: string): Promise<ShipmentView> {
    await eventually(async () => (await shipmentEvents(orderId)).some((e) => e.eventType === 'ShipmentCreated'), 'ShipmentCreated');
    return (await shipments.getShipmentForOrder(orderId))!;
  }

  it('creates one shipment with a tracking number when OrderPaid is appended twice', async () => {
    const first = await paid('order-1');
    const second = await paid('order-1');
    await eventually(() => handled(second), 'the second OrderPaid');
    const shipment = await created('order-1');
    expect(shipment).toMatchObject({ orderId: 'order-1', status: 'CREATED', items, shippingAddress: address, dispatchedAt: null, deliveredAt: null });
    expect(shipment.trackingNumber).toMatch(/^TRK-[A-Z0-9]{10}$/);
    const events = await shipmentEvents('order-1');
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      eventType: 'ShipmentCreated',
      aggregateType: 'Shipment',
      aggregateId: shipment.shipmentId,
      causationId: first.eventId,
      payload: { orderId: 'order-1', shipmentId: shipment.shipmentId, trackingNumber: shipment.trackingNumber },
    });
    expect(await shipments.getShipment(shipment.shipmentId)).toEqual(shipment);
  });

  it('dispatches and delivers a shipment, in the order flow', async () => {
    await paid('order-2');
    const shipment = await created('order-2');
    const dispatched = await shipments.dispatch(shipment.shipmentId);
    expect(dispatched).toMatchObject({ status: 'DISPATCHED', dispatchedAt: expect.any(String), deliveredAt: null });
    const delivered = await shipments.deliver(shipment.shipmentId);
    expect(delivered).toMatchObject({ status: 'DELIVERED', dispatchedAt: dispatched.dispatchedAt, deliveredAt: expect.any(String) });
    expect(await shipments.getShipment(shipment.shipmentId)).toEqual(delivered);
    const events = await shipmentEvents('order-2');
    expect(events.map((e) => e.eventType)).toEqual(['ShipmentCreated', 'ShipmentDispatched', 'ShipmentDelivered']);
    expect(events[1]).toMatchObject({ correlationId: flow('order-2'), aggregateId: shipment.shipmentId, payload: { shipmentId: shipment.shipmentId, orderId: 'order-2', dispatchedAt: dispatched.dispatchedAt } });
    expect(events[2]).toMatchObject({ correlationId: flow('order-2'), payload: { shipmentId: shipment.shipmentId, orderId: 'order-2', deliveredAt: delivered.deliveredAt } });
  });

  it('refuses illegal steps with a conflict and unknown shipments with not_found, changing nothing', async () => {
    await paid('order-3');
    const shipment = await created('order-3');
    await expect(shipments.deliver(shipment.shipmentId)).rejects.toMatchObject({ kind: 'conflict', code: 'SHIPMENT_NOT_DELIVERABLE' });
    await shipments.dispatch(shipment.shipmentId);
    await expect(shipments.dispatch(shipment.shipmentId)).rejects.toMatchObject({ kind: 'conflict', code: 'SHIPMENT_NOT_DISPATCHABLE' });
    await expect(shipments.dispatch('no-such-shipment')).rejects.toMatchObject({ kind: 'not_found', code: 'SHIPMENT_NOT_FOUND' });
    await expect(shipments.deliver('no-such-shipment')).rejects.toMatchObject({ kind: 'not_found', code: 'SHIPMENT_NOT_FOUND' });
    expect((await shipmentEvents('order-3')).map((e) => e.eventType)).toEqual(['ShipmentCreated', 'ShipmentDispatched']);
  });

  it('dispatches once when two dispatches race; the other is a conflict', async () => {
    await paid('order-8');
    const shipment = await created('order-8');
    const results = await Promise.allSettled([shipments.dispatch(shipment.shipmentId), shipments.dispatch(shipment.shipmentId)]);
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    expect(results.find((r) => r.status === 'rejected')).toMatchObject({ reason: { kind: 'conflict', code: 'SHIPMENT_NOT_DISPATCHABLE' } });
    expect((await shipmentEvents('order-8')).map((e) => e.eventType)).toEqual(['ShipmentCreated', 'ShipmentDispatched']);
  });

  it('cancels a created shipment with its order, silently, and then refuses to dispatch it', async () => {
    await paid('order-4');
    const shipment = await created('order-4');
    const cancel = await cancelled('order-4');
    await eventually(() => handled(cancel), 'OrderCancelled');
    expect(await shipments.getShipment(shipment.shipmentId)).toMatchObject({ status: 'CANCELLED' });
    await expect(shipments.dispatch(shipment.shipmentId)).rejects.toMatchObject({ kind: 'conflict', code: 'SHIPMENT_NOT_DISPATCHABLE' });
    expect((await shipmentEvents('order-4')).map((e) => e.eventType)).toEqual(['ShipmentCreated']);
  });

  it('leaves a dispatched shipment when its order is cancelled', async () => {
    await paid('order-5');
    const shipment = await created('order-5');
    await shipments.dispatch(shipment.shipmentId);
    const cancel = await cancelled('order-5');
    await eventually(() => handled(cancel), 'OrderCancelled');
    expect(await shipments.getShipment(shipment.shipmentId)).toMatchObject({ status: 'DISPATCHED' });
  });

  it('ships nothing when OrderPaid comes after OrderCancelled', async () => {
    await cancelled('order-6');
    const late = await paid('order-6');
    await eventually(() => handled(late), 'OrderPaid');
    expect(await shipments.getShipmentForOrder('order-6')).toBeUndefined();
    expect(await shipmentEvents('order-6')).toEqual([]);
  });

  it('fails an OrderPaid without items or address (retried, then dead-lettered) instead of half-creating a shipment', async () => {
    const bad = await orderEvent('OrderPaid', 'order-7', { paymentId: 'pay-7' });
    await eventually(async () => (await engine.deadLetters.list({})).some((d) => d.eventId === bad.eventId && d.error.includes('OrderPaid lacks what a shipment needs')), 'the failed delivery');
    expect(await shipments.getShipmentForOrder('order-7')).toBeUndefined();
  });
});
