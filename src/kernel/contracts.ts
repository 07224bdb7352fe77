import type { TSchema } from '@sinclair/typebox';
import { eventVersions, upcasters } from './catalog.js';

/**
 * Event contracts: the payload schema of every event type and version, as plain JSON Schema,
 * and the rules by which a change to them breaks a consumer. The log keeps every event as it
 * was written and consumers replay it, so a schema that an event was written with can never
 * lose or retype a field, gain a required one, or drop an enum value; a change like that is a
 * new version of the event (with an upcaster from the previous one, so that consumers keep
 * receiving one shape).
 */

/** A JSON Schema, as far as the contract rules read it. */
export interface JsonSchema {
  type?: string | string[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  items?: JsonSchema;
  enum?: unknown[];
  const?: unknown;
  anyOf?: JsonSchema[];
  [keyword: string]: unknown;
}

/** Event type → version → payload schema. */
export type EventContracts = Record<string, Record<string, JsonSchema>>;

/** The payload schemas of the catalog, by event type and version (TypeBox schemas without their symbols). */
export function catalogContracts(versions: Record<string, Record<number, TSchema>> = catalogVersions()): EventContracts {
  const out: EventContracts = {};
  for (const type of Object.keys(versions).sort()) {
    out[type] = {};
    for (const version of Object.keys(versions[type]!).sort((a, b) => Number(a) - Number(b))) {
      out[type]![version] = JSON.parse(JSON.stringify(versions[type]![Number(version)])) as JsonSchema;
    }
  }
  return out;
}

/** Every event type of the catalog with all its schema versions. */
export function catalogVersions(): Record<string, Record<number, TSchema>> {
  return { ...eventVersions };
}

/** `Type@N` for every version N of the catalog that has an upcaster to version N + 1. */
export function catalogUpcasters(): Set<string> {
  return new Set(Object.keys(upcasters));
}

export type BreakKind = 'event removed' | 'version removed' | 'field removed' | 'field retyped' | 'new required field' | 'enum value removed' | 'version without upcaster';

export interface ContractBreak {
  eventType: string;
  version: number;
  /** The field's path in the payload (`items[].quantity`); empty for the event or version itself. */
  field: string;
  kind: BreakKind;
  message: string;
}

export interface CompareOptions {
  /** `Type@N` for every event version N that has an upcaster to version N + 1. */
  upcasters?: ReadonlySet<string>;
}

/**
 * What in `current` breaks a consumer of `committed` (the snapshot). Versions present in both are
 * compared field by field; a version only in `current` is an addition, accepted when it is the
 * next version and the previous one has an upcaster to it (or when it is the first version of a
 * new event type).
 */
export function contractBreaks(committed: EventContracts, current: EventContracts, options: CompareOptions = {}): ContractBreak[] {
  const upcasters = options.upcasters ?? new Set<string>();
  const breaks: ContractBreak[] = [];
  for (const [eventType, versions] of Object.entries(committed)) {
    const now = current[eventType];
    if (!now) {
      breaks.push({ eventType, version: Number(Object.keys(versions).at(-1) ?? 1), field: '', kind: 'event removed', message: `${eventType}: the event type is gone from the catalog; events of it are in the log` });
      continue;
    }
    for (const [version, schema] of Object.entries(versions)) {
      const after = now[version];
      if (!after) {
        breaks.push({ eventType, version: Number(version), field: '', kind: 'version removed', message: `${eventType} v${version}: the version is gone; events written with it are in the log and must stay readable` });
        continue;
      }
      for (const found of compareSchemas(schema, after, '')) breaks.push({ eventType, version: Number(version), ...found, message: `${eventType} v${version}: ${found.field}: ${found.message}` });
    }
  }
  for (const [eventType, versions] of Object.entries(current)) {
    for (const version of Object.keys(versions)) {
      const n = Number(version);
      if (committed[eventType]?.[version] || n === 1) continue;
      if (!versions[String(n - 1)]) {
        breaks.push({ eventType, version: n, field: '', kind: 'version without upcaster', message: `${eventType} v${n}: version ${n - 1} is missing; versions follow one another` });
      } else if (!upcasters.has(`${eventType}@${n - 1}`)) {
        breaks.push({ eventType, version: n, field: '', kind: 'version without upcaster', message: `${eventType} v${n}: no upcaster from v${n - 1}; consumers of v${n} could not read the events written as v${n - 1}` });
      }
    }
  }
  return breaks;
}

type Found = { field: string; kind: BreakKind; message: string };

function compareSchemas(before: JsonSchema, after: JsonSchema, path: string): Found[] {
  const found: Found[] = [];
  const beforeType = typeOf(before);
  const afterType = typeOf(after);
  if (beforeType !== afterType) {
    found.push({ field: path || '(payload)', kind: 'field retyped', message: `type ${beforeType} became ${afterType}` });
    return found;
  }
  const removedValues = enumValues(before).filter((v) => !enumValues(after).some((w) => JSON.stringify(w) === JSON.stringify(v)));
  if (enumValues(after).length > 0 && removedValues.length > 0) {
    found.push({ field: path || '(payload)', kind: 'enum value removed', message: `enum value${removedValues.length > 1 ? 's' : ''} ${removedValues.map((v) => JSON.stringify(v)).join(', ')} removed` });
  }
  if (beforeType === 'object') {
    const required = new Set(before.required ?? []);
    for (const [name, schema] of Object.entries(before.properties ?? {})) {
      const field = path ? `${path}.${name}` : name;
      const next = after.properties?.[name];
      if (!next) found.push({ field, kind: 'field removed', message: 'field removed' });
      else found.push(...compareSchemas(schema, next, field));
    }
    for (const name of after.required ?? []) {
      if (!required.has(name)) found.push({ field: path ? `${path}.${name}` : name, kind: 'new required field', message: before.properties?.[name] ? 'optional field became required' : 'new required field' });
    }
  }
  if (beforeType === 'array' && before.items && after.items) found.push(...compareSchemas(before.items, after.items, `${path}[]`));
  return found;
}

/** The JSON type a schema describes, with an enum's or a union of constants' type as its own. */
function typeOf(schema: JsonSchema): string {
  if (schema.type !== undefined) return Array.isArray(schema.type) ? [...schema.type].sort().join('|') : schema.type;
  if (schema.anyOf) return [...new Set(schema.anyOf.map(typeOf))].sort().join('|');
  if (schema.const !== undefined) return typeof schema.const;
  return 'any';
}

/** The values an enum (or a union of constants) allows; empty when it is not one. */
function enumValues(schema: JsonSchema): unknown[] {
  if (schema.enum) return schema.enum;
  if (schema.anyOf && schema.anyOf.every((s) => s.const !== undefined)) return schema.anyOf.map((s) => s.const);
  if (schema.const !== undefined) return [schema.const];
  return [];
}
