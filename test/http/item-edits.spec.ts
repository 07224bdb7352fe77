import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fulfilmentViolations } from '../support/invariants.js';
import { dialects } from '../support/databases.js';
import { address, createHttpHarness, eventually, expectProblem, orderReaches, type HttpHarness } from './support.js';

// Item edits (SPEC §8) end to end: PATCH /orders/:id with the order's new lines starts an edit
// that inventory (stock held) and payments (the rise charged) carry on; the order changes only
// when both are done, and a failed step leaves it as it was.

interface OrderBody {
  status: string;
  items: { productId: string; quantity: number; unitPrice: number }[];
  totalAmount: number;
  shipmentId: string | null;
  pendingEdit: { editId: string; stage: string; totalAmount: number } | null;
  lastEdit: { editId: string; outcome: string; reason: string | null } | null;
}

describe.each(dialects)('item edits on %s', (dialect) => {
  let h: HttpHarness;
  beforeAll(async () => {
    h = await createHttpHarness(dialect);
    for (const product of [
      { productId: 'lamp', name: 'Lamp', price: 40, stock: 10 },
      { productId: 'shade', name: 'Shade', price: 15, stock: 5 },
      { productId: 'bulb', name: 'Bulb', price: 2.5, stock: 2 },
    ]) {
      const response = await h.call('POST', '/products', { token: h.tokens.admin, body: product });
      expect(response.statusCode, response.body).toBe(201);
    }
  });
  afterAll(async () => h?.close());

  const read = async (orderId: string) => {
    const response = await h.call('GET', `/orders/${orderId}`, { token: h.tokens.alice });
    expect(response.statusCode, response.body).toBe(200);
    return { order: response.json() as OrderBody, etag: response.headers.etag as string };
  };
  const place = async (items: { productId: string; quantity: number }[]) => {
    const placed = await h.call('POST', '/orders', { token: h.tokens.alice, body: { items, shippingAddress: address, paymentMethod: { token: 'tok_visa' } } });
    expect(placed.statusCode, placed.body).toBe(201);
    const { orderId, correlationId } = placed.json() as { orderId: string; correlationId: string };
    await orderReaches(h, orderId, 'SHIPPED');
    await h.flow.settle();
    return { orderId, correlationId };
  };
  const edit = async (orderId: string, body: Record<string, unknown>, etag?: string) =>
    h.call('PATCH', `/orders/${orderId}`, { token: h.tokens.alice, body, headers: { 'if-match': etag ?? (await read(orderId)).etag } });
  const product = async (productId: string) => {
    const { onHand, reserved, available } = (await h.call('GET', `/products/${productId}`, { token: h.tokens.admin })).json() as { onHand: number; reserved: number; available: number };
    return { onHand, reserved, available };
  };
  const payment = async (orderId: string) => (await h.flow.apis.payments.getPaymentForOrder(orderId))!;
  const revenue = async () => ((await h.call('GET', '/api/stats', { token: h.tokens.admin })).json() as { revenue: { USD: { paid: number; refunded: number; net: number } } }).revenue.USD;
  const eventTypes = async (correlationId: string) =>
    ((await h.call('GET', `/api/events?correlationId=${correlationId}&limit=200`, { token: h.tokens.admin })).json() as { events: { eventType: string }[] }).events.map((e) => e.eventType);
  const ended = async (orderId: string) => {
    await eventually(async () => (await read(orderId)).order.pendingEdit === null, 'the item edit ended');
    await h.flow.settle();
    return (await read(orderId)).order;
  };

  it('an edit that needs more stock and a higher charge: 202, then the lines, total, charge, stock and shipment all follow', async () => {
    const { orderId, correlationId } = await place([{ productId: 'lamp', quantity: 1 }]);
    const before = { lamp: await product('lamp'), shade: await product('shade'), revenue: await revenue() };

    const answer = await edit(orderId, { items: [{ productId: 'lamp', quantity: 2 }, { productId: 'shade', quantity: 1 }], reason: 'a second lamp, with a shade' });
    expect(answer.statusCode, answer.body).toBe(202);
    expect(answer.json()).toMatchObject({ status: 'SHIPPED', totalAmount: 40, pendingEdit: { totalAmount: 95 } });

    const order = await ended(orderId);
    expect(order).toMatchObject({ status: 'SHIPPED', totalAmount: 95, lastEdit: { outcome: 'applied', reason: 'a second lamp, with a shade' } });
    expect(order.items.map(({ productId, quantity, unitPrice }) => ({ productId, quantity, unitPrice }))).toEqual([
      { productId: 'lamp', quantity: 2, unitPrice: 40 },
      { productId: 'shade', quantity: 1, unitPrice: 15 },
    ]);
    // Charged the difference once, as a charge of its own.
    expect((await payment(orderId)).amount).toBe(9500);
    expect(await h.flow.apis.payments.chargesForOrder(orderId)).toBe(1);
    expect(await h.flow.apis.payments.editChargesForOrder(orderId)).toBe(1);
    // The shipment (created, not dispatched) took the added units: on hand drops, nothing stays reserved.
    expect(await product('lamp')).toMatchObject({ onHand: before.lamp.onHand - 1, reserved: 0 });
    expect(await product('shade')).toMatchObject({ onHand: before.shade.onHand - 1, reserved: 0 });
    const shipment = (await h.call('GET', `/shipments/${order.shipmentId}`, { token: h.tokens.admin })).json() as { items: unknown };
    expect(shipment.items).toEqual([{ productId: 'lamp', quantity: 2 }, { productId: 'shade', quantity: 1 }]);
    expect((await revenue()).paid - before.revenue.paid).toBe(55);
    expect(await eventTypes(correlationId)).toEqual(expect.arrayContaining(['OrderEditRequested', 'InventoryEditReserved', 'OrderEditPaymentRequested', 'PaymentEditCharged', 'OrderUpdated']));
    expect(await fulfilmentViolations(h.flow.apis, h.flow.engine)).toEqual([]);
  });

  it('an edit refused for stock leaves the order, its charge and the stock as they were', async () => {
    const { orderId, correlationId } = await place([{ productId: 'lamp', quantity: 1 }]);
    const before = { order: (await read(orderId)).order, bulb: await product('bulb'), amount: (await payment(orderId)).amount };

    const answer = await edit(orderId, { items: [{ productId: 'lamp', quantity: 1 }, { productId: 'bulb', quantity: 3 }] });
    expect(answer.statusCode, answer.body).toBe(202);
    const order = await ended(orderId);
    expect(order).toMatchObject({ items: before.order.items, totalAmount: before.order.totalAmount, lastEdit: { outcome: 'rejected', reason: 'insufficient_stock: bulb (3 asked, 2 available)' } });
    expect(await product('bulb')).toEqual(before.bulb);
    expect((await payment(orderId)).amount).toBe(before.amount);
    expect(await h.flow.apis.payments.editChargesForOrder(orderId)).toBe(0);
    const types = await eventTypes(correlationId);
    expect(types).toContain('InventoryEditReservationFailed');
    expect(types).toContain('OrderEditRejected');
    expect(types).not.toContain('OrderUpdated');
    expect(await fulfilmentViolations(h.flow.apis, h.flow.engine)).toEqual([]);
  });

  it('an edit whose extra charge is declined is compensated: the held units go back, nothing is charged, the order is as it was', async () => {
    const { orderId } = await place([{ productId: 'lamp', quantity: 1 }]);
    const before = { order: (await read(orderId)).order, shade: await product('shade') };

    const answer = await edit(orderId, { items: [{ productId: 'lamp', quantity: 1 }, { productId: 'shade', quantity: 2 }], paymentMethod: { token: 'tok_chargeDeclined' } });
    expect(answer.statusCode, answer.body).toBe(202);
    const order = await ended(orderId);
    expect(order).toMatchObject({ items: before.order.items, totalAmount: 40, lastEdit: { outcome: 'rejected', reason: 'card_declined' } });
    expect(await product('shade')).toEqual(before.shade);
    expect((await payment(orderId)).amount).toBe(4000);
    expect(await h.flow.apis.payments.editChargesForOrder(orderId)).toBe(0);
    expect(await fulfilmentViolations(h.flow.apis, h.flow.engine)).toEqual([]);
  });

  it('an edit that takes units off applies at once and refunds the difference; the stock stays in the warehouse', async () => {
    const { orderId } = await place([{ productId: 'lamp', quantity: 3 }]);
    const before = { lamp: await product('lamp'), revenue: await revenue() };
    const answer = await edit(orderId, { items: [{ productId: 'lamp', quantity: 1 }], reason: 'only one' });
    expect(answer.statusCode, answer.body).toBe(200);
    expect(answer.json()).toMatchObject({ totalAmount: 40, pendingEdit: null, lastEdit: { outcome: 'applied' } });
    await h.flow.settle();
    expect(await h.flow.apis.payments.refundedAmountForOrder(orderId)).toBe(8000);
    expect(await product('lamp')).toMatchObject({ onHand: before.lamp.onHand + 2, reserved: 0 });
    expect((await revenue()).refunded - before.revenue.refunded).toBe(80);
    expect(await fulfilmentViolations(h.flow.apis, h.flow.engine)).toEqual([]);
  });

  it('two concurrent item edits from one ETag: one is taken, the other 409 ORDER_CHANGED; an edit after dispatch is refused', async () => {
    const { orderId } = await place([{ productId: 'lamp', quantity: 1 }]);
    const { etag } = await read(orderId);
    const answers = await Promise.all([edit(orderId, { items: [{ productId: 'lamp', quantity: 2 }] }, etag), edit(orderId, { items: [{ productId: 'lamp', quantity: 3 }] }, etag)]);
    expect(answers.map((a) => a.statusCode).sort()).toEqual([202, 409]);
    expectProblem(answers.find((a) => a.statusCode === 409)!, 409, 'ORDER_CHANGED');
    const order = await ended(orderId);
    expect(order.lastEdit?.outcome).toBe('applied');

    const dispatched = await h.call('POST', `/shipments/${order.shipmentId}/dispatch`, { token: h.tokens.admin });
    expect(dispatched.statusCode, dispatched.body).toBe(200);
    await eventually(async () => (await h.flow.apis.orders.getOrder(orderId))?.dispatchedAt !== null, 'the dispatch recorded on the order');
    const after = await read(orderId);
    expectProblem(await edit(orderId, { items: [{ productId: 'lamp', quantity: 1 }] }, after.etag), 409, 'ORDER_NOT_EDITABLE');
    expect((await read(orderId)).etag).toBe(after.etag);
    expect(await fulfilmentViolations(h.flow.apis, h.flow.engine)).toEqual([]);
  });
});
