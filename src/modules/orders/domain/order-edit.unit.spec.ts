import { describe, expect, it } from 'vitest';
import { decideEdit } from './order-edit.js';
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
