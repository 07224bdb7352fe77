import type { TxContext } from '../../../platform/log/tx-context.js';
import type { ClaimedDelivery } from '../storage/delivery-store.js';
import type { DeliveryRow, WebhookTables } from '../storage/tables.js';

/** What an attempt came to, as the sender saw it. */
export interface AttemptResult {
  ok: boolean;
  statusCode: number | null;
  error: string | null;
  responseBody: string | null;
  durationMs: number;
  at: number;
}

/** How a recorded attempt left the delivery and its endpoint. */
export interface RecordedAttempt {
  status: DeliveryRow['status'];
  /** The endpoint was disabled by this failure (the threshold was reached). */
  disabledEndpoint: string | undefined;
}

export interface RetryRules {
  /** Delays before each retry; a delivery gets 1 + its length attempts. */
  schedule: readonly number[];
  /** Failed attempts in a row that disable an endpoint. */
  disableAfterFailures: number;
  /** A factor in [0, 1) per retry spreads the retries of an outage's deliveries (+0..10%). */
  random: () => number;
}

/**
 * Records an attempt in one transaction, fenced by the lease: a process whose lease ran out
 * (paused, or too slow) records nothing, the new owner's attempt counts. Success ends the
 * delivery and resets the endpoint's failure count; a failure schedules the next retry, or makes
 * the delivery dead once the schedule is used up (WebhookDeliveryFailed), and may disable the
 * endpoint (WebhookEndpointDisabled).
 */
export async function recordAttempt(tx: TxContext<WebhookTables>, delivery: ClaimedDelivery, owner: string, result: AttemptResult, rules: RetryRules): Promise<RecordedAttempt | undefined> {
  const attempts = delivery.attempts + 1;
  const dead = !result.ok && attempts > rules.schedule.length;
  const status: DeliveryRow['status'] = result.ok ? 'delivered' : dead ? 'dead' : 'pending';
  const delay = result.ok || dead ? 0 : Math.round(rules.schedule[attempts - 1]! * (1 + rules.random() * 0.1));
  const updated = await tx.db
    .updateTable('webhook_deliveries')
    .set({
      status,
      attempts,
      next_attempt_at: result.at + delay,
      lease_owner: null,
      lease_until: null,
      last_attempt_at: result.at,
      last_status_code: result.statusCode,
      last_error: result.error,
      last_response: result.responseBody,
      last_duration_ms: result.durationMs,
      delivered_at: result.ok ? result.at : null,
    })
    .where('delivery_id', '=', delivery.deliveryId)
    .where('lease_owner', '=', owner)
    .executeTakeFirst();
  if (Number(updated.numUpdatedRows) !== 1) return undefined;
  await appendAttempt(tx, delivery.deliveryId, result);
  if (result.ok) {
    await tx.db.updateTable('webhook_endpoints').set({ consecutive_failures: 0 }).where('endpoint_id', '=', delivery.endpointId).execute();
    return { status, disabledEndpoint: undefined };
  }
  if (dead) {
    tx.emit({
      eventType: 'WebhookDeliveryFailed',
      aggregateType: 'WebhookEndpoint',
      aggregateId: delivery.endpointId,
      // The order's flow: the failure shows in its timeline.
      correlationId: delivery.lane,
      causationId: delivery.eventId,
      payload: { endpointId: delivery.endpointId, reason: result.error ?? 'failed', deliveryId: delivery.deliveryId, eventId: delivery.eventId, eventType: delivery.eventType, attempts },
    });
  }
  return { status, disabledEndpoint: await countFailure(tx, delivery.endpointId, result, rules.disableAfterFailures) };
}

async function appendAttempt(tx: TxContext<WebhookTables>, deliveryId: string, result: AttemptResult): Promise<void> {
  const previous = await tx.db.selectFrom('webhook_attempts').select((eb) => eb.fn.max('attempt').as('last')).where('delivery_id', '=', deliveryId).executeTakeFirst();
  await tx.db
    .insertInto('webhook_attempts')
    .values({ delivery_id: deliveryId, attempt: Number(previous?.last ?? 0) + 1, at: result.at, status_code: result.statusCode, error: result.error, response: result.responseBody, duration_ms: result.durationMs })
    .execute();
}

/** One more failure in a row for the endpoint; disables it at the threshold. Returns its id when it did. */
async function countFailure(tx: TxContext<WebhookTables>, endpointId: string, result: AttemptResult, threshold: number): Promise<string | undefined> {
  const endpoint = await tx.db
    .updateTable('webhook_endpoints')
    .set((eb) => ({ consecutive_failures: eb('consecutive_failures', '+', 1) }))
    .where('endpoint_id', '=', endpointId)
    .returning(['consecutive_failures', 'enabled'])
    .executeTakeFirst();
  if (!endpoint || endpoint.enabled !== 1 || endpoint.consecutive_failures < threshold) return undefined;
  const reason = `disabled automatically after ${endpoint.consecutive_failures} failed attempts in a row; the last: ${result.error ?? 'failed'}`;
  await tx.db.updateTable('webhook_endpoints').set({ enabled: 0, disabled_reason: reason, updated_at: result.at }).where('endpoint_id', '=', endpointId).execute();
  tx.emit({ eventType: 'WebhookEndpointDisabled', aggregateType: 'WebhookEndpoint', aggregateId: endpointId, payload: { endpointId, reason } });
  return endpointId;
}
