import { describe, expect, it } from 'vitest';
import { createUuidV7Generator } from './ids.js';

const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('UUIDv7 ids', () => {
  it('are RFC 9562 version 7 UUIDs carrying the millisecond they were made in', () => {
    const at = Date.UTC(2026, 11, 6, 2, 30, 0, 123);
    const id = createUuidV7Generator(() => at).next();
    expect(id).toMatch(UUID_V7);
    expect(parseInt(id.replace(/-/g, '').slice(0, 12), 16)).toBe(at);
  });

  it('sort in the order they were made, within a millisecond and across a clock step back', () => {
    let now = Date.UTC(2026, 0, 1);
    const ids = createUuidV7Generator(() => now);
    const made: string[] = [];
    for (let i = 0; i < 10_000; i++) {
      if (i % 3_000 === 0) now += 1;
      if (i === 7_000) now -= 5; // an NTP step back must not reorder ids
      made.push(ids.next());
    }
    expect([...made].sort()).toEqual(made);
    expect(new Set(made).size).toBe(made.length);
  });

  it('differ between generators made in the same millisecond', () => {
    const at = () => Date.UTC(2026, 0, 1);
    const a = createUuidV7Generator(at);
    const b = createUuidV7Generator(at);
    const fromA = new Set(Array.from({ length: 1000 }, () => a.next()));
    for (let i = 0; i < 1000; i++) expect(fromA.has(b.next())).toBe(false);
  });
});
