import { Type, type Static } from '@sinclair/typebox';
import { Id, Nullable, Text, Timestamp } from './common.js';

const Url = Type.String({ minLength: 1, maxLength: 2000, pattern: '^[^\\u0000\\s]*$', description: 'https:// URL (http:// only with WEBHOOK_ALLOW_HTTP)', examples: ['https://example.com/hooks/orderflow'] });
const EventTypes = Type.Array(Text(100), { minItems: 1, maxItems: 100, description: 'event types to receive (GET /webhooks/event-types)', examples: [['OrderPlaced', 'OrderShipped']] });

export const CreateWebhookBody = Type.Object(
  { url: Url, eventTypes: EventTypes, description: Type.Optional(Type.String({ maxLength: 500, pattern: '^[^\\u0000]*$' })) },
  { additionalProperties: false },
);
export type CreateWebhookBody = Static<typeof CreateWebhookBody>;

export const UpdateWebhookBody = Type.Object(
  {
    url: Type.Optional(Url),
    eventTypes: Type.Optional(EventTypes),
    description: Type.Optional(Type.String({ maxLength: 500, pattern: '^[^\\u0000]*$' })),
    enabled: Type.Optional(Type.Boolean({ description: 'false disables (deliveries are held); true enables again and clears an automatic disable' })),
  },
  { additionalProperties: false },
);
export type UpdateWebhookBody = Static<typeof UpdateWebhookBody>;

export const RotateSecretBody = Type.Object(
  { overlapSeconds: Type.Optional(Type.Integer({ minimum: 0, maximum: 7 * 86400, description: 'how long the old secret keeps signing beside the new one (default 86400, a day)' })) },
  { additionalProperties: false },
);
export type RotateSecretBody = Static<typeof RotateSecretBody>;

export const WebhookResponse = Type.Object({
  webhookId: Type.String(),
  url: Type.String(),
  eventTypes: Type.Array(Type.String()),
  description: Type.String(),
  enabled: Type.Boolean(),
  disabledReason: Nullable(Type.String({ description: 'why it is disabled: by an admin, or automatically after repeated failures, with the last error' })),
  consecutiveFailures: Type.Integer({ description: 'failed attempts in a row; WEBHOOK_DISABLE_AFTER of them disable the endpoint' }),
  previousSecretExpiresAt: Nullable(Timestamp),
  createdAt: Timestamp,
  updatedAt: Timestamp,
});

export const WebhookWithSecretResponse = Type.Composite([
  WebhookResponse,
  Type.Object({ secret: Type.String({ description: 'whsec_… signing secret: shown only in this answer' }) }),
]);

export const WebhookListResponse = Type.Object({ webhooks: Type.Array(WebhookResponse) });

export const EventTypesResponse = Type.Object({ eventTypes: Type.Array(Type.String()) });

const DeliveryStatus = Type.Union([Type.Literal('pending'), Type.Literal('retrying'), Type.Literal('delivered'), Type.Literal('dead')]);

export const DeliveryResponse = Type.Object({
  deliveryId: Type.String({ description: 'also the webhook-id header of every attempt' }),
  eventId: Type.String(),
  eventType: Type.String(),
  lane: Type.String({ description: 'the order’s flow (correlationId): its deliveries go out in order' }),
  status: DeliveryStatus,
  attempts: Type.Integer({ description: 'attempts in the current round' }),
  lastStatusCode: Nullable(Type.Integer()),
  lastError: Nullable(Type.String()),
  lastResponse: Nullable(Type.String({ description: 'the first 1 KiB of the last response body' })),
  lastDurationMs: Nullable(Type.Integer()),
  lastAttemptAt: Nullable(Timestamp),
  nextAttemptAt: Nullable(Timestamp),
  deliveredAt: Nullable(Timestamp),
  createdAt: Timestamp,
});

export const DeliveryDetailResponse = Type.Composite([
  DeliveryResponse,
  Type.Object({
    history: Type.Array(
      Type.Object({
        attempt: Type.Integer({ description: '1, 2, … over every round (re-sends continue the count)' }),
        at: Timestamp,
        statusCode: Nullable(Type.Integer()),
        error: Nullable(Type.String()),
        response: Nullable(Type.String({ description: 'the first 1 KiB of the response body' })),
        durationMs: Type.Integer(),
      }),
    ),
  }),
]);

export const DeliveryListResponse = Type.Object({ deliveries: Type.Array(DeliveryResponse) });

export const DeliveriesQuery = Type.Object({
  status: Type.Optional(DeliveryStatus),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, description: 'page size, default 100; newest first' })),
});
export type DeliveriesQuery = Static<typeof DeliveriesQuery>;

export const DeliveryParams = Type.Object({ id: Id('the webhook endpoint id'), deliveryId: Id('the delivery id') });

export const RedriveResponse = Type.Object({ redriven: Type.Integer({ description: 'dead deliveries sent back for a new round of attempts' }) });
