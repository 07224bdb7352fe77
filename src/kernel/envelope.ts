import { Type, type Static } from '@sinclair/typebox';

/** The aggregates that own events. */
export const AggregateType = Type.Union([
  Type.Literal('Order'),
  Type.Literal('Product'),
  Type.Literal('Payment'),
  Type.Literal('Shipment'),
  Type.Literal('WebhookEndpoint'),
]);
export type AggregateType = Static<typeof AggregateType>;

/** What an event carries about itself beside its payload; every field optional (SPEC §8). */
export const EventMetadataSchema = Type.Object(
  {
    /** W3C trace context of the span that appended the event: its handlers' spans are its children. */
    traceparent: Type.Optional(Type.String({ pattern: '^[\\da-f]{2}-[\\da-f]{32}-[\\da-f]{16}-[\\da-f]{2}$' })),
    tracestate: Type.Optional(Type.String()),
    /** Who caused it. */
    actor: Type.Optional(
      Type.Object({
        sub: Type.String({ minLength: 1 }),
        role: Type.Union([Type.Literal('admin'), Type.Literal('customer'), Type.Literal('system')]),
        ip: Type.Optional(Type.String()),
        userAgent: Type.Optional(Type.String()),
      }),
    ),
    reason: Type.Optional(Type.String()),
  },
  { additionalProperties: true },
);
export type EventMetadata = Static<typeof EventMetadataSchema>;

/** Who issued a command: a caller of the API (with the address and user agent it came from) or orderflow itself. */
export type Actor = NonNullable<EventMetadata['actor']>;

/** Who issued a command and why: every event the command appends carries it in its metadata. */
export interface CommandOrigin {
  actor: Actor;
  reason?: string | undefined;
}

/** The envelope every event travels in (SPEC §3); the payload is checked per event type. */
export const EnvelopeSchema = Type.Object(
  {
    /** Unique id of this event; consumers deduplicate on it. */
    eventId: Type.String({ minLength: 1 }),
    /** Past-tense name from the catalog, e.g. `OrderPlaced`. */
    eventType: Type.String({ minLength: 1 }),
    /** Schema version of the payload, starting at 1. */
    version: Type.Integer({ minimum: 1 }),
    /** The kind of aggregate the event belongs to. */
    aggregateType: Type.String({ minLength: 1 }),
    /** The aggregate's id; ordering is guaranteed per aggregate. */
    aggregateId: Type.String({ minLength: 1 }),
    /** When the fact happened (ISO-8601). */
    occurredAt: Type.String({ pattern: '^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}(\\.\\d+)?(Z|[+-]\\d{2}:\\d{2})$' }),
    /** Event-specific data, validated against the catalog schema. */
    payload: Type.Object({}, { additionalProperties: true }),
    /** The order's flow: set when the flow starts and copied to every caused event. */
    correlationId: Type.String({ minLength: 1 }),
    /** eventId of the event that caused this one; null for a flow's first event. */
    causationId: Type.Union([Type.String({ minLength: 1 }), Type.Null()]),
    /** The module that emitted the event. */
    source: Type.String({ minLength: 1 }),
    /** Global position in the log, assigned on append. */
    sequence: Type.Optional(Type.Integer({ minimum: 1 })),
    /** About the event, not part of the fact (SPEC §8): the trace context it was appended in. */
    metadata: Type.Optional(EventMetadataSchema),
  },
  { additionalProperties: false },
);

/** An event as stored and delivered. */
export interface EventEnvelope<TPayload = Record<string, unknown>> {
  eventId: string;
  eventType: string;
  version: number;
  aggregateType: string;
  aggregateId: string;
  occurredAt: string;
  payload: TPayload;
  correlationId: string;
  causationId: string | null;
  source: string;
  sequence?: number;
  /** Trace context, actor, reason: absent when there is nothing to say (tracing off). */
  metadata?: EventMetadata;
}

/** An event as a module states it; the engine fills in ids, time, source and the causal chain. */
export interface EventDraft<TPayload = Record<string, unknown>> {
  eventType: string;
  version?: number;
  aggregateType: string;
  aggregateId: string;
  payload: TPayload;
  /** Set only where a flow starts (POST /orders); otherwise copied from the causing event. */
  correlationId?: string;
  /** Overrides the id (rarely needed: deterministic ids for deduplication). */
  eventId?: string;
  /** The event that caused this one, where the engine cannot know it (a timer acting on an earlier event). */
  causationId?: string | null;
}
