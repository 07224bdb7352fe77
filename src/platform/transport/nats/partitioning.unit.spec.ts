import { describe, expect, it } from 'vitest';
import { eventSubject, hash32, partitionOf, wakeSubject } from './partitioning.js';

describe('partitioning', () => {
  it('hashes with FNV-1a, so a partition never changes between processes or releases', () => {
    // Reference values of 32-bit FNV-1a.
    expect(hash32('')).toBe(0x811c9dc5);
    expect(hash32('a')).toBe(0xe40c292c);
    expect(hash32('foobar')).toBe(0xbf9cf968);
    expect(partitionOf('order-42', 8)).toBe(hash32('order-42') % 8);
  });

  it('spreads aggregates over every partition, roughly evenly', () => {
    const counts = new Array(8).fill(0);
    for (let i = 0; i < 8000; i++) counts[partitionOf(`agg-${i}`, 8)]++;
    for (const n of counts) expect(n).toBeGreaterThan(800);
  });

  it('names subjects that NATS accepts', () => {
    const names = { stream: 'ORDERFLOW_EVENTS', prefix: 'orderflow_events' };
    expect(eventSubject(names, 3, 'OrderPlaced')).toBe('orderflow_events.events.3.OrderPlaced');
    expect(eventSubject(names, 0, 'odd.type *>')).toBe('orderflow_events.events.0.odd_type___');
    // The wake-up subject is outside the stream's subjects (`<prefix>.events.>`).
    expect(wakeSubject(names)).toBe('orderflow_events.appended');
  });
});
