import type { TObject } from '@sinclair/typebox';
import { TypeCompiler, type TypeCheck } from '@sinclair/typebox/compiler';
import { EnvelopeSchema, type EventEnvelope } from './envelope.js';

/** The outcome of checking an event against its schema. */
export type SchemaCheck = { ok: true } | { ok: false; reason: string };

/** Knows the schema of every (eventType, version) and checks events against it. */
export interface EventSchemas {
  has(eventType: string, version: number): boolean;
  check(event: EventEnvelope): SchemaCheck;
  types(): string[];
}

/** One schema per event type and version; `catalog` maps type names to their version-1 payload schema. */
export function createEventSchemas(catalog: Record<string, TObject>, versioned: Record<string, TObject> = {}): EventSchemas {
  const envelope = TypeCompiler.Compile(EnvelopeSchema);
  const payloads = new Map<string, TypeCheck<TObject>>();
  for (const [type, schema] of Object.entries(catalog)) payloads.set(`${type}@1`, TypeCompiler.Compile(schema));
  // `versioned` keys are `Type@N`, for schema versions after the first.
  for (const [key, schema] of Object.entries(versioned)) payloads.set(key, TypeCompiler.Compile(schema));

  return {
    has: (eventType, version) => payloads.has(`${eventType}@${version}`),
    types: () => [...new Set([...payloads.keys()].map((k) => k.split('@')[0]!))],
    check(event) {
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
    },
  };
}
