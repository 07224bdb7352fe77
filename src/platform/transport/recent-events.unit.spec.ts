import { describe, expect, it } from 'vitest';
import type { EventEnvelope } from '../../kernel/envelope.js';
import { createRecentEvents } from './recent-events.js';

function event(sequence: number, payload: Record<string, unknown> = { n: sequence }): EventEnvelope {
  return {
    eventId: `e-${sequence}`,
    eventType: 'Tested',
    version: 1,
    aggregateType: 'Thing',
    aggregateId: 'a',
    occurredAt: '2026-12-07T00:00:00.000Z',
    payload,
    correlationId: 'c',
    causationId: null,
    source: 'test',
    sequence,
  };
}

const sequences = (events: EventEnvelope[] | undefined) => events?.map((e) => e.sequence);

describe('recent events', () => {
  it('serves the run of consecutive sequence numbers after a position, up to the limit', () => {
    const recent = createRecentEvents();
    recent.remember([event(1), event(2), event(3), event(4)]);
    expect(sequences(recent.after(0, 10))).toEqual([1, 2, 3, 4]);
    expect(sequences(recent.after(1, 2))).toEqual([2, 3]);
    expect(recent.after(4, 10)).toBeUndefined();
  });

  it('stops at a hole: an event it was not given is read from the log, with everything after it', () => {
    const recent = createRecentEvents();
    recent.remember([event(1), event(2)]);
    recent.remember([event(4), event(5)]);
    expect(sequences(recent.after(0, 10))).toEqual([1, 2]);
    expect(recent.after(2, 10)).toBeUndefined();
    expect(sequences(recent.after(3, 10))).toEqual([4, 5]);
  });

  it('fills the run with the open transaction’s own events only when they are handed in', () => {
    const recent = createRecentEvents();
    recent.remember([event(1)]);
    const pending = new Map([2, 3].map((s) => [s, event(s)]));
    expect(sequences(recent.after(0, 10, pending))).toEqual([1, 2, 3]);
    expect(sequences(recent.after(0, 10))).toEqual([1]);
  });

  it('forgets what every reader has passed, and the oldest beyond its capacity', () => {
    const recent = createRecentEvents(3);
    recent.remember([event(1), event(2), event(3)]);
    recent.forget(2);
    expect(recent.size).toBe(1);
    expect(recent.after(0, 10)).toBeUndefined();
    recent.remember([event(4), event(5), event(6)]);
    expect(recent.size).toBe(3);
    expect(sequences(recent.after(3, 10))).toEqual([4, 5, 6]);
  });

  it('forgets by sequence also what was remembered out of order (a round’s placements before its batches)', () => {
    const recent = createRecentEvents();
    recent.remember([event(3), event(4)]);
    recent.remember([event(1), event(2), event(5)]);
    recent.forget(3);
    expect(recent.size).toBe(2);
    expect(sequences(recent.after(3, 10))).toEqual([4, 5]);
    // A long jump (a reader that caught up from the log) still drops everything passed.
    recent.remember([event(6)]);
    recent.forget(1_000);
    expect(recent.size).toBe(0);
  });

  it('gives the event as the log would: its own copy, through JSON', () => {
    const recent = createRecentEvents();
    const payload: Record<string, unknown> = { items: [{ sku: 'x' }], note: undefined, at: new Date('2026-12-07T01:02:03.000Z') };
    recent.remember([event(1, payload)]);
    (payload.items as { sku: string }[])[0]!.sku = 'changed by its writer';
    const [stored] = recent.after(0, 1)!;
    expect(stored!.payload).toEqual({ items: [{ sku: 'x' }], at: '2026-12-07T01:02:03.000Z' });
    expect('note' in stored!.payload).toBe(false);
    expect(stored!.metadata).toBeUndefined();
  });
});
