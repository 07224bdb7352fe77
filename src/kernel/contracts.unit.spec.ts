import { Type } from '@sinclair/typebox';
import { describe, expect, it } from 'vitest';
import { catalogContracts, contractBreaks, type EventContracts } from './contracts.js';

const Status = Type.Union([Type.Literal('open'), Type.Literal('closed')]);
const v1 = Type.Object({
  orderId: Type.String(),
  amount: Type.Integer(),
  status: Status,
  note: Type.Optional(Type.String()),
  lines: Type.Array(Type.Object({ productId: Type.String(), quantity: Type.Integer() })),
});

/** The fixture event at version 1, and a current catalog where it is changed by `change`. */
function contractsOf(schema: object, more: Record<string, object> = {}): EventContracts {
  return catalogContracts({ Fixture: { 1: schema as never, ...more } });
}
const committed = contractsOf(v1);

function breaksAfter(schema: object, options?: Parameters<typeof contractBreaks>[2], more?: Record<string, object>) {
  return contractBreaks(committed, contractsOf(schema, more), options).map((b) => ({ kind: b.kind, field: b.field, message: b.message }));
}

describe('event contracts: what breaks a consumer', () => {
  it('the same schema, and every catalog event against itself, break nothing', () => {
    expect(breaksAfter(v1)).toEqual([]);
    expect(contractBreaks(catalogContracts(), catalogContracts())).toEqual([]);
  });

  it('an optional field added, an enum value added, a constraint relaxed: additions pass', () => {
    const added = Type.Object({ ...v1.properties, channel: Type.Optional(Type.String()), status: Type.Union([Type.Literal('open'), Type.Literal('closed'), Type.Literal('held')]) });
    expect(breaksAfter(added)).toEqual([]);
  });

  it('a field removed names the event, the version and the field', () => {
    const { amount: _gone, ...rest } = v1.properties;
    expect(breaksAfter(Type.Object(rest))).toEqual([{ kind: 'field removed', field: 'amount', message: 'Fixture v1: amount: field removed' }]);
  });

  it('a field removed inside the items of an array', () => {
    const lines = Type.Array(Type.Object({ productId: Type.String() }));
    expect(breaksAfter(Type.Object({ ...v1.properties, lines }))).toEqual([{ kind: 'field removed', field: 'lines[].quantity', message: 'Fixture v1: lines[].quantity: field removed' }]);
  });

  it('a field retyped', () => {
    expect(breaksAfter(Type.Object({ ...v1.properties, amount: Type.String() }))).toEqual([
      { kind: 'field retyped', field: 'amount', message: 'Fixture v1: amount: type integer became string' },
    ]);
  });

  it('a new required field, and an optional one made required', () => {
    expect(breaksAfter(Type.Object({ ...v1.properties, channel: Type.String(), note: Type.String() }))).toEqual([
      { kind: 'new required field', field: 'note', message: 'Fixture v1: note: optional field became required' },
      { kind: 'new required field', field: 'channel', message: 'Fixture v1: channel: new required field' },
    ]);
  });

  it('an enum value removed', () => {
    expect(breaksAfter(Type.Object({ ...v1.properties, status: Type.Union([Type.Literal('open')]) }))).toEqual([
      { kind: 'enum value removed', field: 'status', message: 'Fixture v1: status: enum value "closed" removed' },
    ]);
  });

  it('an event type or a version gone from the catalog', () => {
    expect(contractBreaks(committed, {}).map((b) => b.kind)).toEqual(['event removed']);
    const withV2 = contractsOf(v1, { 2: v1 });
    expect(contractBreaks(withV2, contractsOf(v1)).map((b) => `${b.kind} v${b.version}`)).toEqual(['version removed v2']);
  });

  it('a breaking change as the next version passes only with an upcaster from the version before', () => {
    const { amount: _gone, ...rest } = v1.properties;
    const v2 = Type.Object({ ...rest, amountMinor: Type.Integer() });
    expect(breaksAfter(v1, {}, { 2: v2 })).toEqual([
      { kind: 'version without upcaster', field: '', message: 'Fixture v2: no upcaster from v1; consumers of v2 could not read the events written as v1' },
    ]);
    expect(breaksAfter(v1, { upcasters: new Set(['Fixture@1']) }, { 2: v2 })).toEqual([]);
    // A version skipped is refused whatever the upcasters.
    expect(breaksAfter(v1, { upcasters: new Set(['Fixture@1', 'Fixture@2']) }, { 3: v2 }).map((b) => b.kind)).toEqual(['version without upcaster']);
  });

  it('a new event type at version 1 is an addition', () => {
    expect(contractBreaks(committed, { ...contractsOf(v1), Other: { 1: { type: 'object' } } })).toEqual([]);
  });
});
