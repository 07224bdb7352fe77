import { describe, expect, it } from 'vitest';
import { moveReturn, requestReturn, type OrderReturn } from './returns.js';
import { anOrder, T0 } from './spec-fixtures.js';
import { ORDER_STATUSES } from './order-status.js';

const DAY = 86_400_000;
const WINDOW = 30 * DAY;
const delivered = anOrder('DELIVERED', { deliveredAt: T0 + DAY });
const request = (lines: { productId: string; quantity: number }[], earlier: OrderReturn[] = [], at = T0 + 2 * DAY) =>
  requestReturn(delivered, earlier, { returnId: 'ret-1', lines, reason: 'too small' }, at, WINDOW);

describe('requestReturn', () => {
  it('given a delivered order within the window, when one of two lines is returned, then REQUESTED with the line\u2019s amount', () => {
    expect(request([{ productId: 'p-1', quantity: 2 }])).toEqual({
      ok: true,
      value: {
        returnId: 'ret-1',
        orderId: 'order-1',
        status: 'REQUESTED',
        lines: [{ productId: 'p-1', quantity: 2 }],
        amount: 2500,
        currency: 'USD',
        reason: 'too small',
        rejectionReason: null,
        restocked: null,
        refundedAmount: null,
        createdAt: T0 + 2 * DAY,
        updatedAt: T0 + 2 * DAY,
      },
    });
  });

  it.each(ORDER_STATUSES.filter((s) => s !== 'DELIVERED'))('given a %s order, then it is refused', (status) => {
    expect(requestReturn(anOrder(status), [], { returnId: 'r', lines: [{ productId: 'p-1', quantity: 1 }] }, T0, WINDOW)).toMatchObject({ ok: false, code: 'RETURN_NOT_ALLOWED' });
  });

  it('given the window has closed, then it is refused; on its last millisecond it is not', () => {
    expect(request([{ productId: 'p-2', quantity: 1 }], [], T0 + DAY + WINDOW + 1)).toMatchObject({ ok: false, code: 'RETURN_WINDOW_CLOSED' });
    expect(request([{ productId: 'p-2', quantity: 1 }], [], T0 + DAY + WINDOW)).toMatchObject({ ok: true });
  });

  it('given a window of 0, then no return is taken, even at the moment of delivery', () => {
    expect(requestReturn(delivered, [], { returnId: 'r', lines: [{ productId: 'p-1', quantity: 1 }] }, T0 + DAY, 0)).toMatchObject({ ok: false, code: 'RETURN_WINDOW_CLOSED' });
  });

  it('refuses more units than were ordered, counting earlier returns that were not rejected', () => {
    expect(request([{ productId: 'p-1', quantity: 3 }])).toMatchObject({ ok: false, code: 'RETURN_TOO_LARGE', details: { lines: [{ productId: 'p-1', requested: 3, returnable: 2 }] } });
    const first = request([{ productId: 'p-1', quantity: 1 }]);
    if (!first.ok) throw new Error('expected the first return');
    expect(request([{ productId: 'p-1', quantity: 2 }], [first.value])).toMatchObject({ ok: false, code: 'RETURN_TOO_LARGE' });
    expect(request([{ productId: 'p-1', quantity: 1 }], [first.value])).toMatchObject({ ok: true });
    // A rejected return gives its units back.
    expect(request([{ productId: 'p-1', quantity: 2 }], [{ ...first.value, status: 'REJECTED' }])).toMatchObject({ ok: true });
  });

  it('refuses a product the order does not have, and a product on two lines', () => {
    expect(request([{ productId: 'p-9', quantity: 1 }])).toMatchObject({ ok: false, code: 'RETURN_TOO_LARGE' });
    expect(request([{ productId: 'p-1', quantity: 1 }, { productId: 'p-1', quantity: 1 }])).toMatchObject({ ok: false, code: 'RETURN_TOO_LARGE' });
  });
});

describe('moveReturn', () => {
  const requested = (() => {
    const decision = request([{ productId: 'p-2', quantity: 1 }]);
    if (!decision.ok) throw new Error('expected a return');
    return decision.value;
  })();
  const at = T0 + 3 * DAY;

  it('approves, receives (restocked or not) and records the refund, in that order', () => {
    const approved = moveReturn(requested, { type: 'approve' }, at);
    expect(approved).toMatchObject({ ok: true, value: { status: 'APPROVED', updatedAt: at } });
    const received = approved.ok ? moveReturn(approved.value, { type: 'receive', restock: false }, at) : approved;
    expect(received).toMatchObject({ ok: true, value: { status: 'RECEIVED', restocked: false } });
    const refunded = received.ok ? moveReturn(received.value, { type: 'refund', amount: 999 }, at) : received;
    expect(refunded).toMatchObject({ ok: true, value: { status: 'REFUNDED', refundedAmount: 999 } });
  });

  it('rejects a requested return with the admin\u2019s reason', () => {
    expect(moveReturn(requested, { type: 'reject', reason: 'worn' }, at)).toMatchObject({ ok: true, value: { status: 'REJECTED', rejectionReason: 'worn' } });
  });

  it.each([
    ['approve', 'APPROVED'],
    ['reject', 'REJECTED'],
    ['receive', 'REQUESTED'],
    ['refund', 'APPROVED'],
  ] as const)('refuses to %s a %s return', (type, status) => {
    const step = type === 'receive' ? { type, restock: true } : type === 'refund' ? { type, amount: 1 } : { type };
    expect(moveReturn({ ...requested, status }, step, at)).toMatchObject({ ok: false, code: 'RETURN_NOT_PENDING' });
  });
});
