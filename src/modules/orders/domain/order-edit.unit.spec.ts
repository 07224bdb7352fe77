import { describe, expect, it } from 'vitest';
import { advanceItemEdit, decideEdit, diffItems, requestItemEdit } from './order-edit.js';
import { decideOrder } from './order.js';
import { ORDER_STATUSES } from './order-status.js';
import { anOrder, T0 } from './spec-fixtures.js';

const AT = T0 + 9_000;
const moved = { street: '9 Elm Rd', city: 'Shelbyville', postalCode: '54321', country: 'US' };

describe('decideEdit: a new shipping address', () => {
  const editable = ['PENDING', 'CONFIRMED', 'PAID', 'SHIPPED'];

  it.each(ORDER_STATUSES.filter((s) => editable.includes(s)))('given a %s order not dispatched, when the address changes, then OrderUpdated with the old and new address and the same total', (status) => {
    const order = anOrder(status);
    const decision = decideEdit(order, { shippingAddress: moved, reason: 'moved house' }, AT);
    expect(decision).toEqual({
      ok: true,
      order: { ...order, shippingAddress: moved, updatedAt: AT },
      events: [
        {
          type: 'OrderUpdated',
          payload: {
            orderId: 'order-1',
            changes: { items: { added: [], removed: [], modified: [] }, shippingAddress: { old: order.shippingAddress, new: moved }, totalAmount: { old: 3499, new: 3499 } },
            reason: 'moved house',
          },
        },
      ],
    });
    // The status and its history are untouched: an edit is no transition.
    if (decision.ok) expect(decision.order.statusHistory).toEqual(order.statusHistory);
  });

  it.each(ORDER_STATUSES.filter((s) => !editable.includes(s)))('given a %s order, when the address changes, then it is refused and nothing changes', (status) => {
    expect(decideEdit(anOrder(status), { shippingAddress: moved }, AT)).toMatchObject({ ok: false, code: 'ORDER_NOT_EDITABLE', message: expect.stringContaining(status) });
  });

  it('given a SHIPPED order whose shipment was dispatched, when the address changes, then it is refused', () => {
    const order = anOrder('SHIPPED', { dispatchedAt: T0 + 1_000 });
    expect(decideEdit(order, { shippingAddress: moved }, AT)).toMatchObject({ ok: false, code: 'ORDER_NOT_EDITABLE', message: expect.stringContaining('dispatched') });
  });

  it('given the same address, then it is accepted with no event and no change', () => {
    const order = anOrder('PAID');
    expect(decideEdit(order, { shippingAddress: { ...order.shippingAddress } }, AT)).toEqual({ ok: true, order, events: [] });
  });

  it('keeps only the address fields, without a reason when none was given', () => {
    const decision = decideEdit(anOrder('PENDING'), { shippingAddress: { ...moved, note: 'ring twice' } as typeof moved }, AT);
    expect(decision.ok && decision.order.shippingAddress).toEqual(moved);
    expect(decision.ok && decision.events[0]?.payload).not.toHaveProperty('reason');
  });
});

describe('requestItemEdit / advanceItemEdit: an item edit, a saga of its own', () => {
  const widget = { productId: 'p-1', name: 'Widget', quantity: 2, unitPrice: 1250 };
  const gadget = { productId: 'p-2', name: 'Gadget', quantity: 1, unitPrice: 999 };
  const gizmo = { productId: 'p-3', name: 'Gizmo', quantity: 1, unitPrice: 500 };
  const edit = (items: (typeof widget)[], extra: Partial<{ reason: string; paymentToken: string }> = {}) => ({ editId: 'edit-1', items, ...extra });

  it('given a PAID order, when a line is added and one raised, then OrderEditRequested and the edit waits for stock; nothing else changes yet', () => {
    const order = anOrder('PAID');
    const decision = requestItemEdit(order, edit([{ ...widget, quantity: 3 }, gadget, gizmo], { reason: 'one more' }), AT);
    expect(decision.ok).toBe(true);
    if (!decision.ok) return;
    expect(decision.events).toEqual([
      {
        type: 'OrderEditRequested',
        payload: {
          orderId: 'order-1',
          editId: 'edit-1',
          stock: [{ productId: 'p-1', quantity: 1 }, { productId: 'p-3', quantity: 1 }],
          totalAmount: { old: 3499, new: 3750 + 999 + 500 },
          currency: 'USD',
          reason: 'one more',
        },
      },
    ]);
    expect(decision.order.items).toEqual(order.items);
    expect(decision.order.totalAmount).toBe(3499);
    expect(decision.order.pendingEdit).toMatchObject({ editId: 'edit-1', stage: 'stock', totalAmount: 5249 });
  });

  it('given the stock is held and the total rises, then payments is asked for the difference, with the card the edit gave', () => {
    const started = requestItemEdit(anOrder('SHIPPED'), edit([widget, gadget, gizmo], { paymentToken: 'tok_mastercard' }), AT);
    if (!started.ok) throw new Error('refused');
    const held = advanceItemEdit(started.order, { type: 'StockHeld', editId: 'edit-1' }, AT + 1);
    expect(held).toMatchObject({ ok: true, events: [{ type: 'OrderEditPaymentRequested', payload: { orderId: 'order-1', editId: 'edit-1', amount: 500, currency: 'USD', paymentToken: 'tok_mastercard' } }] });
    if (!held.ok) return;
    expect(held.order.pendingEdit?.stage).toBe('payment');

    const charged = advanceItemEdit(held.order, { type: 'Charged', editId: 'edit-1' }, AT + 2);
    expect(charged).toMatchObject({
      ok: true,
      order: { items: [widget, gadget, gizmo], totalAmount: 3999, pendingEdit: null, editCount: 1, status: 'SHIPPED' },
      events: [
        {
          type: 'OrderUpdated',
          payload: { orderId: 'order-1', editId: 'edit-1', changes: { items: { added: [{ productId: 'p-3', quantity: 1 }], removed: [], modified: [] }, totalAmount: { old: 3499, new: 3999 } } },
        },
      ],
    });
  });

  it('given units are only taken off, then the edit applies at once (payments refunds the fall on OrderUpdated)', () => {
    const decision = requestItemEdit(anOrder('PAID'), edit([{ ...widget, quantity: 1 }]), AT);
    expect(decision.ok && decision.events.map((e) => e.type)).toEqual(['OrderEditRequested', 'OrderUpdated']);
    expect(decision.ok && decision.order).toMatchObject({ totalAmount: 1250, pendingEdit: null, editCount: 1, items: [{ productId: 'p-1', quantity: 1 }] });
    expect(decision.ok && decision.events[1]?.payload).toMatchObject({ changes: { items: { removed: [{ productId: 'p-2', quantity: 1 }], modified: [{ productId: 'p-1', oldQuantity: 2, newQuantity: 1 }] } } });
  });

  it('given the same lines, then nothing changes and no event is published', () => {
    expect(requestItemEdit(anOrder('PAID'), edit([{ ...gadget }, { ...widget }]), AT)).toEqual({ ok: true, order: anOrder('PAID'), events: [] });
  });

  it('given the stock is short, then OrderEditRejected and the order is as it was', () => {
    const order = anOrder('PAID');
    const started = requestItemEdit(order, edit([{ ...widget, quantity: 50 }, gadget]), AT);
    if (!started.ok) throw new Error('refused');
    const short = advanceItemEdit(started.order, { type: 'StockShort', editId: 'edit-1', reason: 'insufficient_stock' }, AT + 1);
    expect(short).toEqual({
      ok: true,
      order: { ...order, lastEdit: { editId: 'edit-1', outcome: 'rejected', reason: 'insufficient_stock', at: AT + 1 }, updatedAt: AT + 1 },
      events: [{ type: 'OrderEditRejected', payload: { orderId: 'order-1', editId: 'edit-1', reason: 'insufficient_stock', refundCharge: false } }],
    });
  });

  it('given the charge of the difference is declined, then OrderEditRejected (inventory gives the held units back) and the order is as it was', () => {
    const order = anOrder('PAID');
    const started = requestItemEdit(order, edit([widget, gadget, gizmo]), AT);
    const held = started.ok ? advanceItemEdit(started.order, { type: 'StockHeld', editId: 'edit-1' }, AT + 1) : started;
    const failed = held.ok ? advanceItemEdit(held.order, { type: 'ChargeFailed', editId: 'edit-1', reason: 'card_declined' }, AT + 2) : held;
    expect(failed).toMatchObject({ ok: true, order: { ...order, lastEdit: { outcome: 'rejected', reason: 'card_declined' }, updatedAt: AT + 2 }, events: [{ type: 'OrderEditRejected', payload: { reason: 'card_declined', refundCharge: false } }] });
  });

  it('given the shipment was dispatched while the difference was charged, then the edit is rejected and its charge refunded', () => {
    const started = requestItemEdit(anOrder('SHIPPED'), edit([widget, gadget, gizmo]), AT);
    const held = started.ok ? advanceItemEdit(started.order, { type: 'StockHeld', editId: 'edit-1' }, AT + 1) : started;
    if (!held.ok) throw new Error('refused');
    const dispatched = { ...held.order, dispatchedAt: AT + 2 };
    expect(advanceItemEdit(dispatched, { type: 'Charged', editId: 'edit-1' }, AT + 3)).toMatchObject({
      ok: true,
      order: { items: anOrder().items, pendingEdit: null, editCount: 0 },
      events: [{ type: 'OrderEditRejected', payload: { refundCharge: true, reason: expect.stringContaining('dispatched') } }],
    });
  });

  it.each(ORDER_STATUSES.filter((s) => s !== 'PAID' && s !== 'SHIPPED'))('given a %s order, when its items change, then it is refused', (status) => {
    expect(requestItemEdit(anOrder(status), edit([widget, gadget, gizmo]), AT)).toMatchObject({ ok: false, code: 'ORDER_NOT_EDITABLE', message: expect.stringContaining(status) });
  });

  it('given a dispatched order (edit after shipping), when its items change, then it is refused', () => {
    expect(requestItemEdit(anOrder('SHIPPED', { dispatchedAt: T0 + 1 }), edit([widget]), AT)).toMatchObject({ ok: false, code: 'ORDER_NOT_EDITABLE', message: expect.stringContaining('dispatched') });
  });

  it('given an edit under way, when another one comes, then it is refused with EDIT_IN_PROGRESS', () => {
    const started = requestItemEdit(anOrder('PAID'), edit([widget, gadget, gizmo]), AT);
    if (!started.ok) throw new Error('refused');
    expect(requestItemEdit(started.order, { ...edit([widget]), editId: 'edit-2' }, AT + 1)).toMatchObject({ ok: false, code: 'EDIT_IN_PROGRESS' });
  });

  it('ignores a step of another edit, a step out of turn, and any step once the order was cancelled', () => {
    const started = requestItemEdit(anOrder('PAID'), edit([widget, gadget, gizmo]), AT);
    if (!started.ok) throw new Error('refused');
    expect(advanceItemEdit(started.order, { type: 'StockHeld', editId: 'edit-9' }, AT)).toMatchObject({ ok: false });
    expect(advanceItemEdit(started.order, { type: 'Charged', editId: 'edit-1' }, AT)).toMatchObject({ ok: false, message: expect.stringContaining('waits for stock') });
    const cancelled = decideOrder(started.order, { type: 'Cancel', reason: 'changed my mind', by: 'customer' }, AT + 1);
    expect(cancelled.ok && cancelled.order.pendingEdit).toBeNull();
    if (cancelled.ok) expect(advanceItemEdit(cancelled.order, { type: 'StockHeld', editId: 'edit-1' }, AT + 2)).toMatchObject({ ok: false });
  });

  it('diffItems compares lines by product, in product id order', () => {
    expect(diffItems([widget, gadget], [gizmo, { ...widget, quantity: 5 }])).toEqual({
      added: [{ productId: 'p-3', quantity: 1 }],
      removed: [{ productId: 'p-2', quantity: 1 }],
      modified: [{ productId: 'p-1', oldQuantity: 2, newQuantity: 5 }],
    });
  });
});
