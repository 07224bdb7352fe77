import type { TObject } from '@sinclair/typebox';
import { TypeCompiler, type TypeCheck } from '@sinclair/typebox/compiler';
import { eventVersions, upcasters as catalogUpcasters, type Upcaster } from './catalog.js';
import { EnvelopeSchema, type EventEnvelope } from './envelope.js';

/** The outcome of checking an event against its schema. */
export type SchemaCheck = { ok: true } | { ok: false; reason: string };

/** Knows the schema of every (eventType, version), checks events against it and upcasts them. */
export interface EventSchemas {
  has(eventType: string, version: number): boolean;
  /** Checks the event against the schema of the version it carries (as stored). */
  check(event: EventEnvelope): SchemaCheck;
  /**
   * The event in the current version of its type, through the upcasters (the same object when
   * it is current). The result is checked against the current schema: an upcaster that makes
   * an invalid payload is a permanent failure of the delivery, not a handler reading garbage.
   */
  upcast(event: EventEnvelope): { ok: true; event: EventEnvelope } | { ok: false; reason: string };
  /**
   * The event as a consumer (or a replay) reads it: valid against the schema of the version it
   * was stored with, then in the current version of its type (`check`, then `upcast`).
   */
  read(event: EventEnvelope): { ok: true; event: EventEnvelope } | { ok: false; reason: string };
  types(): string[];
}

/**
 * One schema per event type and version (`versions`: type → version → payload schema, by
 * default the catalog's), and the upcasters between versions (`Type@N` → version N + 1).
 */
export function createEventSchemas(
  versions: Readonly<Record<string, Record<number, TObject>>> = eventVersions,
  upcasters: Readonly<Record<string, Upcaster>> = catalogUpcasters,
): EventSchemas {
  const envelope = TypeCompiler.Compile(EnvelopeSchema);
  const payloads = new Map<string, TypeCheck<TObject>>();
  const current = new Map<string, number>();
  for (const [type, byVersion] of Object.entries(versions)) {
    for (const [version, schema] of Object.entries(byVersion)) {
      payloads.set(`${type}@${version}`, TypeCompiler.Compile(schema));
      current.set(type, Math.max(current.get(type) ?? 1, Number(version)));
    }
  }
  for (const key of Object.keys(upcasters)) {
    const [type, version] = key.split('@') as [string, string];
    if (!payloads.has(key) || !payloads.has(`${type}@${Number(version) + 1}`)) throw new Error(`upcaster ${key}: versions ${version} and ${Number(version) + 1} of ${type} must both have a schema`);
  }

  function check(event: EventEnvelope): SchemaCheck {
    // The compiled Check is fast; the error iterator walks the value again, so it runs only
    // for an event that is invalid, to say why.
    const payload = payloads.get(`${event.eventType}@${event.version}`);
    if (payload && envelope.Check(event) && payload.Check(event.payload)) return { ok: true };
    const envelopeError = envelope.Errors(event).First();
    if (envelopeError) return { ok: false, reason: `envelope ${envelopeError.path || '/'}: ${envelopeError.message}` };
    if (!payload) return { ok: false, reason: `unknown event type ${event.eventType} version ${event.version}` };
    const payloadError = payload.Errors(event.payload).First();
    if (payloadError) return { ok: false, reason: `payload ${payloadError.path || '/'}: ${payloadError.message}` };
    return { ok: true };
  }

  /** See `EventSchemas.upcast`. */
  function upcast(event: EventEnvelope): { ok: true; event: EventEnvelope } | { ok: false; reason: string } {
    const target = current.get(event.eventType) ?? event.version;
    if (event.version >= target) return { ok: true, event };
    let stepped = event;
    while (stepped.version < target) {
      const step = upcasters[`${stepped.eventType}@${stepped.version}`];
      if (!step) return { ok: false, reason: `no upcaster from ${event.eventType} version ${stepped.version} to ${stepped.version + 1}` };
      stepped = { ...stepped, version: stepped.version + 1, payload: step(stepped.payload) };
    }
    const checked = check(stepped);
    return checked.ok ? { ok: true, event: stepped } : { ok: false, reason: `upcast from version ${event.version}: ${checked.reason}` };
  }

  return {
    has: (eventType, version) => payloads.has(`${eventType}@${version}`),
    types: () => [...current.keys()],
    check,
    read(event) {
      const checked = check(event);
      return checked.ok ? upcast(event) : checked;
    },
    upcast,
  };
}
