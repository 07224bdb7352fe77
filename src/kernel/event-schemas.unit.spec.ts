import { Type } from '@sinclair/typebox';
import { describe, expect, it } from 'vitest';
import type { EventEnvelope } from './envelope.js';
import { createEventSchemas } from './event-schemas.js';

const V1 = Type.Object({ quantities: Type.Array(Type.Integer()) });
const V2 = Type.Object({ quantities: Type.Array(Type.Integer()), total: Type.Integer({ minimum: 1 }) });
const V3 = Type.Object({ quantities: Type.Array(Type.Integer()), total: Type.Integer({ minimum: 1 }), large: Type.Boolean() });

const event = (version: number, payload: Record<string, unknown>): EventEnvelope => ({
  eventId: 'e-1',
  eventType: 'Counted',
  version,
  aggregateType: 'Order',
  aggregateId: 'a-1',
  occurredAt: '2026-12-06T10:00:00.000Z',
  payload,
  correlationId: 'c-1',
  causationId: null,
  source: 'test',
});

const sum = (payload: Record<string, unknown>) => (payload.quantities as number[]).reduce((a, b) => a + b, 0);

describe('event schemas: versions and upcasters', () => {
  const schemas = createEventSchemas(
    { Counted: { 1: V1, 2: V2, 3: V3 } },
    { 'Counted@1': (p) => ({ ...p, total: sum(p) }), 'Counted@2': (p) => ({ ...p, large: (p.total as number) > 10 }) },
  );

  it('reads an event as stored first: one that does not fit the schema of its own version is refused before any upcaster runs', () => {
    expect(schemas.read(event(1, { quantities: [2, 3] }))).toMatchObject({ ok: true, event: { version: 3, payload: { total: 5, large: false } } });
    const bad = schemas.read(event(1, { quantities: 'many' }));
    expect(bad.ok).toBe(false);
  });

  it('upcasts one version at a time to the current one, and leaves a current event as it is', () => {
    const old = event(1, { quantities: [5, 7] });
    expect(schemas.upcast(old)).toEqual({ ok: true, event: { ...old, version: 3, payload: { quantities: [5, 7], total: 12, large: true } } });
    expect(old.payload).toEqual({ quantities: [5, 7] });
    const current = event(3, { quantities: [1], total: 1, large: false });
    const read = schemas.upcast(current);
    expect(read.ok && read.event).toBe(current);
  });

  it('refuses an upcast whose result does not fit the current schema, saying which version it came from', () => {
    expect(schemas.upcast(event(1, { quantities: [] }))).toEqual({ ok: false, reason: 'upcast from version 1: payload /total: Expected integer to be greater or equal to 1' });
  });

  it('refuses, when it is made, an upcaster without the schemas of both its versions', () => {
    expect(() => createEventSchemas({ Counted: { 1: V1 } }, { 'Counted@1': (p) => p })).toThrow('upcaster Counted@1: versions 1 and 2 of Counted must both have a schema');
  });

  it('says a version without an upcaster to the next cannot be read', () => {
    const gap = createEventSchemas({ Counted: { 1: V1, 2: V2 } }, {});
    expect(gap.upcast(event(1, { quantities: [1] }))).toEqual({ ok: false, reason: 'no upcaster from Counted version 1 to 2' });
  });
});
