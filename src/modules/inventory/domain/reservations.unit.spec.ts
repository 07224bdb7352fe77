import { describe, expect, it } from 'vitest';
import { decideEnd, decideReservation, reservationLines, type LineAttempt } from './reservations.js';

const level = (onHand: number, reserved: number) => ({ onHand, reserved, reorderPoint: 0 });

describe('reservation lines', () => {
  it('merges lines of one product and sorts by productId (the lock order)', () => {
    const lines = reservationLines([
      { productId: 'p-b', quantity: 1 },
      { productId: 'p-a', quantity: 2 },
      { productId: 'p-b', quantity: 3 },
    ]);
    expect(lines).toEqual([
      { productId: 'p-a', quantity: 2 },
      { productId: 'p-b', quantity: 4 },
    ]);
  });
});

describe('reservation decision (all or nothing)', () => {
  it('given every line was taken, then the order is reserved with every line', () => {
    const attempts: LineAttempt[] = [
      { productId: 'p-a', requested: 2, outcome: 'reserved', level: level(10, 2) },
      { productId: 'p-b', requested: 1, outcome: 'reserved', level: level(5, 1) },
    ];
    expect(decideReservation(attempts)).toEqual({
      kind: 'reserved',
      reservations: [
        { productId: 'p-a', quantity: 2 },
        { productId: 'p-b', quantity: 1 },
      ],
    });
  });

  it('given one line is short, then the order fails and the lines already taken are undone', () => {
    const attempts: LineAttempt[] = [
      { productId: 'p-a', requested: 2, outcome: 'reserved', level: level(10, 2) },
      { productId: 'p-b', requested: 4, outcome: 'short', available: 3 },
    ];
    expect(decideReservation(attempts)).toEqual({
      kind: 'failed',
      reason: 'insufficient_stock',
      shortages: [{ productId: 'p-b', requested: 4, available: 3, reason: 'insufficient_stock' }],
      undo: [{ productId: 'p-a', quantity: 2 }],
    });
  });

  it('given an unknown product, then the order fails with unknown_product and 0 available', () => {
    const decision = decideReservation([{ productId: 'nope', requested: 1, outcome: 'unknown' }]);
    expect(decision).toEqual({
      kind: 'failed',
      reason: 'unknown_product',
      shortages: [{ productId: 'nope', requested: 1, available: 0, reason: 'unknown_product' }],
      undo: [],
    });
  });

  it('given an unknown product and a short one, then every shortage is reported and the reason is unknown_product', () => {
    const decision = decideReservation([
      { productId: 'p-a', requested: 9, outcome: 'short', available: 1 },
      { productId: 'zz', requested: 1, outcome: 'unknown' },
    ]);
    expect(decision).toMatchObject({ kind: 'failed', reason: 'unknown_product' });
    if (decision.kind === 'failed') expect(decision.shortages.map((s) => s.reason)).toEqual(['insufficient_stock', 'unknown_product']);
  });

  it('never reports a negative available quantity', () => {
    const decision = decideReservation([{ productId: 'p-a', requested: 1, outcome: 'short', available: -2 }]);
    expect(decision.kind === 'failed' && decision.shortages[0]!.available).toBe(0);
  });

  it('given no lines at all, then nothing is reserved', () => {
    expect(decideReservation([])).toMatchObject({ kind: 'failed', shortages: [], undo: [] });
  });
});

describe('reservation end (release or shipment)', () => {
  it('given a held reservation, when released, then it becomes released', () => {
    expect(decideEnd('reserved', 'release')).toEqual({ kind: 'apply', next: 'released' });
  });

  it('given a held reservation, when shipped, then it becomes shipped', () => {
    expect(decideEnd('reserved', 'ship')).toEqual({ kind: 'apply', next: 'shipped' });
  });

  it.each(['released', 'shipped', 'failed'] as const)('given a %s reservation, a release or shipment is ignored', (status) => {
    expect(decideEnd(status, 'release')).toMatchObject({ kind: 'ignore' });
    expect(decideEnd(status, 'ship')).toMatchObject({ kind: 'ignore' });
  });

  it('given no reservation, a release or shipment is ignored', () => {
    expect(decideEnd(undefined, 'release')).toEqual({ kind: 'ignore', why: 'no reservation for this order' });
    expect(decideEnd(undefined, 'ship')).toMatchObject({ kind: 'ignore' });
  });
});

describe('ending a reservation that waits for stock', () => {
  it.each(['waiting', 'review'] as const)('given a %s reservation, when the order gives up, then it is released', (status) => {
    expect(decideEnd(status, 'release')).toEqual({ kind: 'apply', next: 'released' });
  });

  it.each(['waiting', 'review'] as const)('given a %s reservation, when a shipment is created, then nothing ships', (status) => {
    expect(decideEnd(status, 'ship')).toMatchObject({ kind: 'ignore' });
  });
});
