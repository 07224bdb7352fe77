import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp, mintToken } from '../../src/http/index.js';
import { dialects } from '../support/databases.js';
import { createHttpHarness, eventually, expectProblem, orderBody, orderReaches, secret, seedProducts, type HttpHarness } from './support.js';

describe.each(dialects)('orders over HTTP on %s', (dialect) => {
  let h: HttpHarness;
  beforeAll(async () => {
    h = await createHttpHarness(dialect);
    await seedProducts(h);
  });
  afterAll(async () => h?.close());

  const reach = (orderId: string, status: string) => orderReaches(h, orderId, status);

  it('takes an order from POST to SHIPPED through the modules, then dispatch and delivery to DELIVERED', async () => {
    const placed = await h.call('POST', '/orders', {
      token: h.tokens.alice,
      body: orderBody({ items: [{ productId: 'widget', quantity: 2, unitPrice: 99.99 }, { productId: 'gadget', quantity: 1 }], totalAmount: 249.97, currency: 'USD', sourceChannel: 'web' }),
    });
    expect(placed.statusCode, placed.body).toBe(201);
    const order = placed.json();
    expect(order).toMatchObject({ customerId: 'alice', status: 'PENDING', totalAmount: 249.97, currency: 'USD', items: [{ productId: 'widget', unitPrice: 99.99, quantity: 2 }, { productId: 'gadget', unitPrice: 49.99 }] });
    expect(placed.headers.location).toBe(`/orders/${order.orderId}`);
    expect(placed.headers['x-correlation-id']).toBe(order.correlationId);

    await reach(order.orderId, 'SHIPPED');
    const shipped = (await h.call('GET', `/orders/${order.orderId}`, { token: h.tokens.alice })).json();
    expect(shipped.payment).toMatchObject({ status: 'succeeded', amount: 249.97, currency: 'USD' });
    expect(shipped.shipment).toMatchObject({ status: 'CREATED', trackingNumber: shipped.trackingNumber });

    const shipment = await h.call('GET', `/shipments/${shipped.shipmentId}`, { token: h.tokens.admin });
    expect(shipment.json()).toMatchObject({ orderId: order.orderId, status: 'CREATED', items: expect.arrayContaining([{ productId: 'widget', quantity: 2 }]) });
    expect((await h.call('POST', `/shipments/${shipped.shipmentId}/dispatch`, { token: h.tokens.admin })).json().status).toBe('DISPATCHED');
    expectProblem(await h.call('POST', `/shipments/${shipped.shipmentId}/dispatch`, { token: h.tokens.admin }), 409);
    expect((await h.call('POST', `/shipments/${shipped.shipmentId}/deliver`, { token: h.tokens.admin })).json().status).toBe('DELIVERED');
    await reach(order.orderId, 'DELIVERED');
    // The inventory consumer ships the stock on ShipmentCreated on its own time: wait for every consumer before reading it.
    await h.flow.settle();

    const saga = await h.call('GET', `/sagas/${order.sagaId}`, { token: h.tokens.admin });
    expect(saga.json()).toMatchObject({ sagaId: order.sagaId, orderId: order.orderId, steps: expect.arrayContaining([expect.objectContaining({ name: 'payment processed' })]) });
    expectProblem(await h.call('POST', `/orders/${order.orderId}/cancel`, { token: h.tokens.alice }), 409, 'ORDER_NOT_CANCELLABLE');
    const inventory = await h.call('GET', '/products/widget/inventory', { token: h.tokens.alice });
    expect(inventory.json()).toMatchObject({ productId: 'widget', reserved: 0 });
  });

  it('shows the timeline: every event of the flow in order with each consumer\u2019s outcome', async () => {
    const placed = (await h.call('POST', '/orders', { token: h.tokens.bob, body: orderBody() })).json();
    await reach(placed.orderId, 'SHIPPED');
    // A malformed event in the same flow: its consumer dead-letters it, and the timeline says so.
    await h.flow.engine.unitOfWork.run('test', async (tx) => {
      tx.emit({ eventType: 'OrderPaid', aggregateType: 'Order', aggregateId: 'not-an-order', payload: { bogus: true }, correlationId: placed.correlationId });
    });
    await eventually(async () => (await h.flow.engine.deadLetters.list({ status: 'dead' })).some((d) => d.aggregateId === 'not-an-order'), 'the bad event to be dead-lettered');

    const timeline = await h.call('GET', `/orders/${placed.orderId}/timeline`, { token: h.tokens.bob });
    expect(timeline.statusCode).toBe(200);
    const { events, correlationId } = timeline.json();
    expect(correlationId).toBe(placed.correlationId);
    const sequences = events.map((e: { sequence: number }) => e.sequence);
    expect(sequences).toEqual([...sequences].sort((a, b) => a - b));
    const types = events.map((e: { eventType: string }) => e.eventType).filter((t: string) => t !== 'StockAdjusted' && t !== 'LowStockDetected');
    expect(types).toEqual(['OrderPlaced', 'InventoryReserved', 'OrderConfirmed', 'PaymentProcessed', 'OrderPaid', 'ShipmentCreated', 'OrderShipped', 'OrderPaid']);
    const consumersOf = (index: number) => events.filter((e: { eventType: string }) => e.eventType !== 'StockAdjusted')[index].consumers;
    expect(consumersOf(0)).toEqual(expect.arrayContaining([{ consumer: 'inventory', outcome: 'handled', attempts: 1 }]));
    expect(consumersOf(4)).toEqual(expect.arrayContaining([{ consumer: 'shipments', outcome: 'handled', attempts: 1 }]));
    const bad = consumersOf(7).find((c: { consumer: string }) => c.consumer === 'shipments');
    expect(bad).toMatchObject({ outcome: 'dead-lettered', error: expect.stringMatching(/schema/) });
    expect(events[0]).toMatchObject({ causationId: null, source: 'orders', payload: { orderId: placed.orderId } });
  });

  it('lists, re-drives and discards dead letters', async () => {
    const list = await h.call('GET', '/api/dead-letters', { token: h.tokens.admin });
    const dead = list.json().deadLetters.find((d: { aggregateId: string; consumer: string }) => d.aggregateId === 'not-an-order' && d.consumer === 'shipments');
    expect(dead).toMatchObject({ consumer: 'shipments', status: 'dead', reason: 'schema', eventType: 'OrderPaid' });
    const detail = await h.call('GET', `/api/dead-letters/${dead.id}`, { token: h.tokens.admin });
    expect(detail.json()).toMatchObject({ id: dead.id, event: { eventType: 'OrderPaid', aggregateId: 'not-an-order' }, parked: [] });

    expect((await h.call('POST', `/api/dead-letters/${dead.id}/retry`, { token: h.tokens.admin })).statusCode).toBe(202);
    // A schema failure is permanent: the retry dead-letters it again.
    await eventually(async () => (await h.flow.engine.deadLetters.get(dead.id)).status === 'dead', 'the retry to fail again');
    const discarded = await h.call('POST', `/api/dead-letters/${dead.id}/discard`, { token: h.tokens.admin });
    expect(discarded.json()).toEqual({ id: dead.id, action: 'discard', status: 'discarded' });
    expectProblem(await h.call('POST', `/api/dead-letters/${dead.id}/discard`, { token: h.tokens.admin }), 409, 'DEAD_LETTER_NOT_OPEN');
    expectProblem(await h.call('POST', '/api/dead-letters/nope/retry', { token: h.tokens.admin }), 404, 'DEAD_LETTER_NOT_FOUND');
    const open = (await h.call('GET', '/api/dead-letters', { token: h.tokens.admin })).json().deadLetters;
    expect(open.map((d: { id: string }) => d.id)).not.toContain(dead.id);
    const all = (await h.call('GET', '/api/dead-letters?status=discarded&consumer=shipments', { token: h.tokens.admin })).json().deadLetters;
    expect(all.map((d: { id: string }) => d.id)).toContain(dead.id);
  });

  it('queries the event store with filters and a cursor', async () => {
    const first = await h.call('GET', '/api/events?eventType=OrderPlaced&limit=1', { token: h.tokens.admin });
    expect(first.statusCode).toBe(200);
    const page = first.json();
    expect(page.events).toHaveLength(1);
    expect(page.events[0]).toMatchObject({ eventType: 'OrderPlaced', aggregateType: 'Order', sequence: expect.any(Number) });
    expect(page.nextCursor).toBe(page.events[0].sequence);
    const next = (await h.call('GET', `/api/events?eventType=OrderPlaced&limit=1&after=${page.nextCursor}`, { token: h.tokens.admin })).json();
    expect(next.events[0].sequence).toBeGreaterThan(page.events[0].sequence);
    const one = await h.call('GET', `/api/events/${page.events[0].eventId}`, { token: h.tokens.admin });
    expect(one.json()).toEqual(page.events[0]);
    expectProblem(await h.call('GET', '/api/events/nope', { token: h.tokens.admin }), 404, 'EVENT_NOT_FOUND');
    expectProblem(await h.call('GET', '/api/events?limit=abc', { token: h.tokens.admin }), 400, 'VALIDATION_FAILED');
  });

  it('cancels an order not yet shipped with 202, then refuses a second cancel with 409', async () => {
    const placed = (await h.call('POST', '/orders', { token: h.tokens.alice, body: orderBody({ paymentMethod: { token: 'tok_timeout' } }) })).json();
    await reach(placed.orderId, 'CONFIRMED');
    const cancelled = await h.call('POST', `/orders/${placed.orderId}/cancel`, { token: h.tokens.alice, body: { reason: 'changed my mind' } });
    expect(cancelled.statusCode, cancelled.body).toBe(202);
    expect(cancelled.json()).toMatchObject({ status: 'CANCELLED', cancellationReason: 'changed my mind', cancelledBy: 'customer' });
    expectProblem(await h.call('POST', `/orders/${placed.orderId}/cancel`, { token: h.tokens.admin }), 409, 'ORDER_NOT_CANCELLABLE');
    expectProblem(await h.call('POST', '/orders/nope/cancel', { token: h.tokens.admin }), 404, 'ORDER_NOT_FOUND');
  });

  it('takes a customer\u2019s id from its token and an admin\u2019s from the body', async () => {
    expectProblem(await h.call('POST', '/orders', { token: h.tokens.alice, body: orderBody({ customerId: 'bob' }) }), 403, 'CUSTOMER_MISMATCH');
    expect((await h.call('POST', '/orders', { token: h.tokens.alice, body: orderBody({ customerId: 'alice' }) })).json().customerId).toBe('alice');
    expectProblem(await h.call('POST', '/orders', { token: h.tokens.admin, body: orderBody() }), 422, 'CUSTOMER_ID_REQUIRED');
    const forCarol = await h.call('POST', '/orders', { token: h.tokens.admin, body: orderBody({ customerId: 'carol', sourceChannel: 'admin' }) });
    expect(forCarol.statusCode).toBe(201);
    expect(forCarol.json()).toMatchObject({ customerId: 'carol', sourceChannel: 'admin' });
    const carol = mintToken(secret, { sub: 'carol', role: 'customer' });
    expect((await h.call('GET', `/orders/${forCarol.json().orderId}`, { token: carol })).statusCode).toBe(200);
  });

  it('pages GET /orders by status and cursor', async () => {
    const first = (await h.call('GET', '/orders?limit=1', { token: h.tokens.admin })).json();
    expect(first.orders).toHaveLength(1);
    expect(first.nextCursor).toEqual(expect.any(String));
    const second = (await h.call('GET', `/orders?limit=1&cursor=${encodeURIComponent(first.nextCursor)}`, { token: h.tokens.admin })).json();
    expect(second.orders[0].orderId).not.toBe(first.orders[0].orderId);
    const cancelled = (await h.call('GET', '/orders?status=CANCELLED', { token: h.tokens.admin })).json();
    expect(cancelled.orders.length).toBeGreaterThan(0);
    expect(cancelled.orders.every((o: { status: string }) => o.status === 'CANCELLED')).toBe(true);
    expectProblem(await h.call('GET', '/orders?status=LOST', { token: h.tokens.admin }), 400, 'VALIDATION_FAILED');
  });

  it('replays the first response for a repeated Idempotency-Key: 20 concurrent requests make one order', async () => {
    const body = orderBody({ items: [{ productId: 'gadget', quantity: 1 }] });
    const key = `key-${dialect}-1`;
    const responses = await Promise.all(
      Array.from({ length: 20 }, () => h.call('POST', '/orders', { token: h.tokens.alice, body, headers: { 'idempotency-key': key } })),
    );
    const statuses = responses.map((r) => r.statusCode);
    expect(statuses, responses.map((r) => r.body).join('\n')).toEqual(Array(20).fill(201));
    const ids = new Set(responses.map((r) => r.json().orderId));
    expect(ids.size).toBe(1);
    const [orderId] = [...ids];
    expect(responses.filter((r) => r.headers['idempotent-replayed'] === 'true')).toHaveLength(19);
    expect(new Set(responses.map((r) => JSON.stringify({ ...r.json(), status: undefined, updatedAt: undefined, statusHistory: undefined }))).size).toBe(1);

    // Exactly one order and one OrderPlaced for it.
    const placedEvents = (await h.flow.engine.log.query({ eventType: 'OrderPlaced', limit: 1000 })).events.filter((e) => e.aggregateId === orderId);
    expect(placedEvents).toHaveLength(1);
    const rows = await h.flow.db.selectFrom('orders').select('order_id').where('customer_id', '=', 'alice').execute();
    expect(rows.filter((r: { order_id: string }) => r.order_id === orderId)).toHaveLength(1);

    const replay = await h.call('POST', '/orders', { token: h.tokens.alice, body, headers: { 'idempotency-key': key } });
    expect(replay.statusCode).toBe(201);
    expect(replay.json().orderId).toBe(orderId);
    const otherBody = await h.call('POST', '/orders', { token: h.tokens.alice, body: orderBody({ items: [{ productId: 'gadget', quantity: 2 }] }), headers: { 'idempotency-key': key } });
    expectProblem(otherBody, 422, 'IDEMPOTENCY_KEY_REUSED');
    // Keys belong to their caller: bob's identical key is a different request.
    const bobs = await h.call('POST', '/orders', { token: h.tokens.bob, body, headers: { 'idempotency-key': key } });
    expect(bobs.statusCode).toBe(201);
    expect(bobs.json().orderId).not.toBe(orderId);
  });

  it('frees the key of a refused request so a corrected retry can use it', async () => {
    const key = `key-${dialect}-2`;
    const refused = await h.call('POST', '/orders', { token: h.tokens.alice, body: orderBody({ items: [{ productId: 'nope', quantity: 1 }] }), headers: { 'idempotency-key': key } });
    expectProblem(refused, 422, 'UNKNOWN_PRODUCT');
    const retried = await h.call('POST', '/orders', { token: h.tokens.alice, body: orderBody(), headers: { 'idempotency-key': key } });
    expect(retried.statusCode).toBe(201);
  });

  it('limits POST /orders per caller per minute with 429 and Retry-After', async () => {
    let now = Date.UTC(2030, 0, 1);
    const limited = await buildApp({
      engine: h.flow.engine,
      apis: h.flow.apis,
      config: { jwtSecret: secret, orderRateLimit: 2 },
      logger: pino({ level: 'silent' }),
      now: () => now,
    });
    const as = (sub: string) => ({ authorization: `Bearer ${mintToken(secret, { sub, role: 'customer' }, now)}` });
    const post = (sub: string) => limited.inject({ method: 'POST', url: '/orders', headers: as(sub), payload: orderBody({ items: [{ productId: 'gadget', quantity: 1 }] }) });
    try {
      expect((await post('dave')).statusCode).toBe(201);
      expect((await post('dave')).statusCode).toBe(201);
      const third = await post('dave');
      expectProblem(third, 429, 'RATE_LIMITED');
      expect(Number(third.headers['retry-after'])).toBeGreaterThan(0);
      expect((await post('erin')).statusCode).toBe(201);
      now += 60_000;
      expect((await post('dave')).statusCode).toBe(201);
    } finally {
      await limited.close();
    }
  });
});
