import { describe, expect, it } from 'vitest';
import { planEditApply, unitsToHold } from './edit-holds.js';

const lines = [{ productId: 'p-a', quantity: 2 }, { productId: 'p-b', quantity: 1 }];
const deltas = [{ productId: 'p-c', quantity: 3 }, { productId: 'p-a', quantity: -1 }, { productId: 'p-b', quantity: -1 }];

describe('item edits and stock', () => {
  it('holds only the units added, in product id order', () => {
    expect(unitsToHold([{ productId: 'p-z', quantity: 1 }, { productId: 'p-a', quantity: -2 }, { productId: 'p-c', quantity: 4 }])).toEqual([
      { productId: 'p-c', quantity: 4 },
      { productId: 'p-z', quantity: 1 },
    ]);
  });

  it('given a reservation not shipped yet, when the edit applies, then added units join it and removed ones are unreserved', () => {
    expect(planEditApply('reserved', lines, deltas)).toEqual({
      moves: [
        { productId: 'p-a', action: 'unreserve', quantity: 1 },
        { productId: 'p-b', action: 'unreserve', quantity: 1 },
        { productId: 'p-c', action: 'join', quantity: 3 },
      ],
      lines: [{ productId: 'p-a', quantity: 1 }, { productId: 'p-c', quantity: 3 }],
    });
  });

  it('given a shipment created (not dispatched), when the edit applies, then added units ship and removed ones stay on hand', () => {
    expect(planEditApply('shipped', lines, deltas)?.moves).toEqual([
      { productId: 'p-a', action: 'unship', quantity: 1 },
      { productId: 'p-b', action: 'unship', quantity: 1 },
      { productId: 'p-c', action: 'ship', quantity: 3 },
    ]);
  });

  it('given a released or failed reservation, then nothing applies', () => {
    expect(planEditApply('released', lines, deltas)).toBeUndefined();
    expect(planEditApply('failed', lines, deltas)).toBeUndefined();
  });
});
