import type { Kysely } from 'kysely';
import type { EndpointRow, WebhookTables } from './tables.js';

/** An endpoint as the API shows it: never its secrets. */
export interface EndpointView {
  webhookId: string;
  url: string;
  eventTypes: string[];
  description: string;
  enabled: boolean;
  /** Why it is disabled: by an admin, or automatically after repeated failures (and the last error). */
  disabledReason: string | null;
  consecutiveFailures: number;
  /** Until when the previous secret still signs (after a rotation), or null. */
  previousSecretExpiresAt: string | null;
  createdAt: string;
  updatedAt: string;
}

export function endpointView(row: EndpointRow, now: number): EndpointView {
  const overlapUntil = row.previous_secret_until === null ? null : Number(row.previous_secret_until);
  return {
    webhookId: row.endpoint_id,
    url: row.url,
    eventTypes: JSON.parse(row.event_types) as string[],
    description: row.description,
    enabled: row.enabled === 1,
    disabledReason: row.disabled_reason,
    consecutiveFailures: row.consecutive_failures,
    previousSecretExpiresAt: overlapUntil !== null && overlapUntil > now ? new Date(overlapUntil).toISOString() : null,
    createdAt: new Date(Number(row.created_at)).toISOString(),
    updatedAt: new Date(Number(row.updated_at)).toISOString(),
  };
}

export async function findEndpoint(db: Kysely<WebhookTables>, endpointId: string): Promise<EndpointRow | undefined> {
  return db.selectFrom('webhook_endpoints').selectAll().where('endpoint_id', '=', endpointId).executeTakeFirst();
}

export async function listEndpointRows(db: Kysely<WebhookTables>): Promise<EndpointRow[]> {
  return db.selectFrom('webhook_endpoints').selectAll().orderBy('created_at').orderBy('endpoint_id').execute();
}
