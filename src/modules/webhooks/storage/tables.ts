/** The webhooks module's tables as Kysely sees them (bigint columns come back as strings from PostgreSQL). */
export interface WebhookTables {
  webhook_endpoints: EndpointRow;
  webhook_deliveries: DeliveryRow;
  webhook_attempts: AttemptRow;
}

type Big = number | string;

export interface EndpointRow {
  endpoint_id: string;
  url: string;
  /** JSON array of event types. */
  event_types: string;
  description: string;
  enabled: number;
  disabled_reason: string | null;
  secret: string;
  previous_secret: string | null;
  previous_secret_until: Big | null;
  consecutive_failures: number;
  created_at: Big;
  updated_at: Big;
}

export type DeliveryStatus = 'pending' | 'delivered' | 'dead';

export interface DeliveryRow {
  delivery_id: string;
  endpoint_id: string;
  event_id: string;
  event_type: string;
  lane: string;
  sequence: Big;
  body: string;
  status: DeliveryStatus;
  attempts: number;
  next_attempt_at: Big;
  lease_owner: string | null;
  lease_until: Big | null;
  last_attempt_at: Big | null;
  last_status_code: number | null;
  last_error: string | null;
  last_response: string | null;
  last_duration_ms: number | null;
  delivered_at: Big | null;
  created_at: Big;
}

export interface AttemptRow {
  delivery_id: string;
  attempt: number;
  at: Big;
  status_code: number | null;
  error: string | null;
  response: string | null;
  duration_ms: number;
}
