import { createHash } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { EventEnvelope } from '../../../kernel/envelope.js';
import type { DeliveryRow, WebhookTables } from '../storage/tables.js';

/**
 * The `webhook-id` of an event's delivery to an endpoint: derived from both, so that it is the
 * same on every attempt, every re-send and in every process (receivers deduplicate by it).
 */
export function webhookIdOf(endpointId: string, eventId: string): string {
  return `msg_${createHash('sha256').update(`${endpointId}:${eventId}`).digest('base64url').slice(0, 32)}`;
}

/**
 * Handler of the `webhooks` consumer: one pending delivery per event and subscribed endpoint,
 * written in the consumer's transaction with its inbox record, so an event fans out exactly
 * once. Disabled endpoints get theirs too: they are held, and go out in order once the endpoint
 * is enabled again. An endpoint receives only events that happened after it was registered.
 */
export async function fanOut(db: Kysely<WebhookTables>, events: readonly EventEnvelope[], now: number): Promise<number> {
  const endpoints = await db.selectFrom('webhook_endpoints').select(['endpoint_id', 'event_types', 'created_at']).execute();
  if (endpoints.length === 0) return 0;
  const subscriptions = endpoints.map((e) => ({ id: e.endpoint_id, types: new Set(JSON.parse(e.event_types) as string[]), since: Number(e.created_at) }));
  const rows: DeliveryRow[] = [];
  for (const event of events) {
    const at = Date.parse(event.occurredAt);
    for (const endpoint of subscriptions) {
      if (!endpoint.types.has(event.eventType) || at < endpoint.since) continue;
      rows.push({
        delivery_id: webhookIdOf(endpoint.id, event.eventId),
        endpoint_id: endpoint.id,
        event_id: event.eventId,
        event_type: event.eventType,
        lane: event.correlationId,
        sequence: event.sequence ?? 0,
        body: JSON.stringify(event),
        status: 'pending',
        attempts: 0,
        next_attempt_at: now,
        lease_owner: null,
        lease_until: null,
        last_attempt_at: null,
        last_status_code: null,
        last_error: null,
        last_response: null,
        last_duration_ms: null,
        delivered_at: null,
        created_at: now,
      });
    }
  }
  for (let i = 0; i < rows.length; i += 100) {
    await db.insertInto('webhook_deliveries').values(rows.slice(i, i + 100)).onConflict((oc) => oc.columns(['endpoint_id', 'event_id']).doNothing()).execute();
  }
  return rows.length;
}
