import { describe, expect, it } from 'vitest';
import { allocateRestock, decideOverride, decideShortOrder, type ShortLine } from './backorders.js';

const short = (productId: string, requested: number, available: number, allowBackorders: boolean): ShortLine => ({ productId, requested, available, allowBackorders });

describe('an order short of stock', () => {
  it('given 5 ordered and 2 available of a product that allows backorders, when decided, then 2 are taken and 3 wait', () => {
    expect(decideShortOrder([short('p-a', 5, 2, true)], { holdForReview: false })).toEqual({
      kind: 'backorder',
      lines: [{ productId: 'p-a', requested: 5, available: 2, take: 2, missing: 3 }],
    });
  });

  it('given a short product that does not allow backorders and no review window, when decided, then the order is refused', () => {
    expect(decideShortOrder([short('p-a', 5, 2, true), short('p-b', 1, 0, false)], { holdForReview: false })).toEqual({ kind: 'refuse' });
  });

  it('given a short product that does not allow backorders and a review window, when decided, then every shortfall is held for review', () => {
    expect(decideShortOrder([short('p-a', 5, 2, true), short('p-b', 3, 1, false)], { holdForReview: true })).toEqual({
      kind: 'review',
      lines: [
        { productId: 'p-a', requested: 5, available: 2, take: 2, missing: 3 },
        { productId: 'p-b', requested: 3, available: 1, take: 1, missing: 2 },
      ],
    });
  });

  it('given nothing available (or a negative count), when decided, then nothing is taken and the whole line waits', () => {
    expect(decideShortOrder([short('p-a', 4, -1, true)], { holdForReview: false })).toEqual({
      kind: 'backorder',
      lines: [{ productId: 'p-a', requested: 4, available: 0, take: 0, missing: 4 }],
    });
  });

  it('given no short line, when decided, then there is nothing to wait for', () => {
    expect(decideShortOrder([], { holdForReview: true })).toEqual({ kind: 'refuse' });
  });
});

describe('a restock serving waiting backorders (first placed, first served)', () => {
  const queue = [
    { orderId: 'o-1', remaining: 3 },
    { orderId: 'o-2', remaining: 2 },
    { orderId: 'o-3', remaining: 4 },
  ];

  it('given enough for the first two, when 5 arrive, then the first two are fulfilled and the third gets nothing', () => {
    expect(allocateRestock(5, queue)).toEqual([
      { orderId: 'o-1', take: 3, fulfilled: true },
      { orderId: 'o-2', take: 2, fulfilled: true },
    ]);
  });

  it('given less than the oldest misses, when 2 arrive, then only the oldest is served, in part, and no later one', () => {
    expect(allocateRestock(2, queue)).toEqual([{ orderId: 'o-1', take: 2, fulfilled: false }]);
  });

  it('given more than every backorder misses, when 20 arrive, then all are fulfilled and the rest stays available', () => {
    const allocations = allocateRestock(20, queue);
    expect(allocations.every((a) => a.fulfilled)).toBe(true);
    expect(allocations.reduce((sum, a) => sum + a.take, 0)).toBe(9);
  });

  it('given nothing available, when served, then nobody is', () => {
    expect(allocateRestock(0, queue)).toEqual([]);
  });
});

describe('an override reaching inventory', () => {
  it('given a reservation held for review, then the override applies', () => {
    expect(decideOverride('review')).toEqual({ kind: 'apply' });
  });

  it.each(['reserved', 'waiting', 'released', 'failed'])('given a reservation that is %s, then the override is ignored', (status) => {
    expect(decideOverride(status)).toMatchObject({ kind: 'ignore' });
  });

  it('given no reservation, then the override is ignored', () => {
    expect(decideOverride(undefined)).toMatchObject({ kind: 'ignore' });
  });
});
