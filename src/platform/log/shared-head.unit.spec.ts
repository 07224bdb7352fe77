import { describe, expect, it } from 'vitest';
import { createSharedHead } from './event-log.js';

/** A log whose head the test moves, counting the reads and letting the test finish them. */
function fakeLog() {
  const state = { head: 0, reads: 0, pending: [] as (() => void)[] };
  return {
    state,
    log: {
      head: () => {
        state.reads++;
        const value = state.head;
        return new Promise<number>((resolve) => state.pending.push(() => resolve(value)));
      },
    },
    finish: () => state.pending.splice(0).forEach((resolve) => resolve()),
  };
}

describe('shared head', () => {
  it('reads the head once for readers asking together, and again only once the log grew', async () => {
    const { state, log, finish } = fakeLog();
    const head = createSharedHead(log, 60_000);
    state.head = 5;
    const together = [head.get(), head.get(), head.get()];
    finish();
    expect(await Promise.all(together)).toEqual([5, 5, 5]);
    expect(state.reads).toBe(1);
    // Nothing new: the head read is still good.
    expect(await head.get()).toBe(5);
    expect(state.reads).toBe(1);
    // A commit: the next reader reads again and sees it.
    state.head = 9;
    head.invalidate();
    const after = head.get();
    finish();
    expect(await after).toBe(9);
    expect(state.reads).toBe(2);
  });

  it('does not hand a reader woken by a commit a head read before that commit', async () => {
    const { state, log, finish } = fakeLog();
    const head = createSharedHead(log, 60_000);
    state.head = 3;
    const early = head.get(); // in flight, started before the commit
    state.head = 4;
    head.invalidate();
    const late = head.get();
    finish();
    expect(await early).toBe(3);
    expect(await late).toBe(4);
    expect(state.reads).toBe(2);
  });

  it('reads again once the head read is older than the limit, and never goes back', async () => {
    const { state, log, finish } = fakeLog();
    const head = createSharedHead(log, 0);
    state.head = 7;
    const first = head.get();
    finish();
    expect(await first).toBe(7);
    await new Promise((resolve) => setTimeout(resolve, 5));
    // A lower reading (an append in flight drew numbers just above the head): 7 stays stable.
    state.head = 6;
    const second = head.get();
    finish();
    expect(await second).toBe(7);
    expect(state.reads).toBe(2);
  });
});
