import { Type, type Static } from '@sinclair/typebox';
import { EventMetadataSchema } from '../../kernel/envelope.js';
import { AddressView, Id, Nullable, Text, Timestamp } from './common.js';

/** An event envelope as stored (payload amounts in minor units, as published). */
export const EventResponse = Type.Object({
  eventId: Type.String(),
  eventType: Type.String(),
  version: Type.Integer(),
  aggregateType: Type.String(),
  aggregateId: Type.String(),
  occurredAt: Timestamp,
  payload: Type.Object({}, { additionalProperties: true }),
  correlationId: Type.String(),
  causationId: Nullable(Type.String()),
  source: Type.String(),
  sequence: Type.Integer({ description: 'global position in the log' }),
  metadata: Type.Optional(EventMetadataSchema),
});

export const EventsQuery = Type.Object({
  eventType: Type.Optional(Text(200)),
  aggregateId: Type.Optional(Text(200)),
  correlationId: Type.Optional(Text(200)),
  after: Type.Optional(Type.Integer({ minimum: 0, description: 'the nextCursor of the previous page (a sequence)' })),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, description: 'page size, default 100' })),
});
export type EventsQuery = Static<typeof EventsQuery>;

export const EventPageResponse = Type.Object({ events: Type.Array(EventResponse), nextCursor: Nullable(Type.Integer()) });

export const EventParams = Type.Object({ eventId: Id('the event id') });

const FailureStatus = Type.Union([Type.Literal('retrying'), Type.Literal('dead'), Type.Literal('discarded')]);

export const DeadLetterResponse = Type.Object({
  id: Type.String(),
  consumer: Type.String(),
  eventId: Type.String(),
  eventType: Type.String(),
  aggregateId: Type.String(),
  status: FailureStatus,
  reason: Type.String({ description: 'handler or schema (a consumer failed an event), timer (a timer failed: consumer timer:<kind>, eventId and aggregateId its key)' }),
  attempts: Type.Integer(),
  error: Type.String(),
  history: Type.Array(Type.Object({ attempt: Type.Integer(), at: Type.Integer({ description: 'epoch ms' }), error: Type.String(), retryAt: Nullable(Type.Integer()) })),
  firstFailedAt: Timestamp,
  lastFailedAt: Timestamp,
  nextAttemptAt: Nullable(Timestamp),
  parkedCount: Type.Integer({ description: 'later events of the same aggregate waiting behind it' }),
});

export const DeadLetterDetailResponse = Type.Composite([
  DeadLetterResponse,
  Type.Object({
    event: Nullable(EventResponse),
    parked: Type.Array(Type.Object({ eventId: Type.String(), sequence: Type.Integer() })),
  }),
]);

export const DeadLettersQuery = Type.Object({
  status: Type.Optional(FailureStatus),
  consumer: Type.Optional(Text(200)),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })),
});
export type DeadLettersQuery = Static<typeof DeadLettersQuery>;

export const DeadLetterListResponse = Type.Object({ deadLetters: Type.Array(DeadLetterResponse) });

export const DeadLetterActionResponse = Type.Object({
  id: Type.String(),
  action: Type.Union([Type.Literal('retry'), Type.Literal('discard')]),
  status: Type.String({ description: 'the dead letter\u2019s status right after the action' }),
});

export const ShipmentResponse = Type.Object({
  shipmentId: Type.String(),
  orderId: Type.String(),
  status: Type.String({ description: 'CREATED, DISPATCHED, DELIVERED or CANCELLED' }),
  trackingNumber: Type.String(),
  items: Type.Array(Type.Object({ productId: Type.String(), quantity: Type.Integer() })),
  shippingAddress: AddressView,
  createdAt: Timestamp,
  dispatchedAt: Nullable(Timestamp),
  deliveredAt: Nullable(Timestamp),
});

const Dependency = Type.Object({ ok: Type.Boolean(), detail: Type.Optional(Type.String()) });

export const LivenessResponse = Type.Object({ status: Type.Literal('ok') });

export const ReadinessResponse = Type.Object({
  status: Type.Union([Type.Literal('ready'), Type.Literal('unavailable')]),
  dependencies: Type.Object({ storage: Dependency, transport: Dependency }),
});
