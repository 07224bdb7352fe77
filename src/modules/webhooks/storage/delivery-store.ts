import { sql, type Kysely } from 'kysely';
import { unhandledEarlierEventOfFlow } from '../../../platform/delivery/flow-progress.js';
import type { WebhookTables } from './tables.js';

/** A delivery claimed by this process, with what sending it needs. */
export interface ClaimedDelivery {
  deliveryId: string;
  endpointId: string;
  eventId: string;
  eventType: string;
  /** The order's flow (correlationId). */
  lane: string;
  url: string;
  body: string;
  /** Attempts made before this one, in the current round. */
  attempts: number;
  /** The secrets to sign with: the current one, and the previous one during a rotation's overlap. */
  secrets: string[];
}

/** The consumer that fans events out; its inbox and checkpoints say which events it has handled. */
export const FAN_OUT_CONSUMER = 'webhooks';

/**
 * Deliveries that may go now: pending, due, endpoint enabled, not leased by a live process, and
 * first of their lane (the order's flow) for their endpoint — nothing earlier of that lane is
 * still pending or dead. In the distributed mode the fan-out consumer handles an order's events
 * in different partitions (an order's, a payment's), possibly out of log order; so a delivery
 * also waits until every earlier event of its lane has been handled by the fan-out consumer
 * (platform/delivery/flow-progress.ts).
 */
export async function findDue(db: Kysely<WebhookTables>, now: number, limit: number, eventTypes: readonly string[]): Promise<{ deliveryId: string; endpointId: string }[]> {
  const rows = await sql<{ delivery_id: string; endpoint_id: string }>`
    select d.delivery_id, d.endpoint_id from webhook_deliveries d
    join webhook_endpoints e on e.endpoint_id = d.endpoint_id
    where d.status = 'pending' and d.next_attempt_at <= ${now} and e.enabled = 1
      and (d.lease_until is null or d.lease_until < ${now})
      and not exists (
        select 1 from webhook_deliveries p
        where p.endpoint_id = d.endpoint_id and p.lane = d.lane and p.sequence < d.sequence and p.status <> 'delivered')
      and not ${unhandledEarlierEventOfFlow(FAN_OUT_CONSUMER, sql.ref('d.lane'), sql.ref('d.sequence'), eventTypes)}
    order by d.next_attempt_at, d.sequence
    limit ${limit}`.execute(db);
  return rows.rows.map((r) => ({ deliveryId: r.delivery_id, endpointId: r.endpoint_id }));
}

/**
 * Takes a lease on a delivery: only one process sends it at a time. A conditional update, so
 * two processes that found the same delivery cannot both win (on PostgreSQL the second update
 * waits for the first's commit and then finds the lease taken).
 */
export async function claim(db: Kysely<WebhookTables>, deliveryId: string, owner: string, now: number, leaseMs: number): Promise<ClaimedDelivery | undefined> {
  const updated = await db
    .updateTable('webhook_deliveries')
    .set({ lease_owner: owner, lease_until: now + leaseMs })
    .where('delivery_id', '=', deliveryId)
    .where('status', '=', 'pending')
    .where((eb) => eb.or([eb('lease_until', 'is', null), eb('lease_until', '<', now)]))
    .executeTakeFirst();
  if (Number(updated.numUpdatedRows) !== 1) return undefined;
  const row = await db
    .selectFrom('webhook_deliveries as d')
    .innerJoin('webhook_endpoints as e', 'e.endpoint_id', 'd.endpoint_id')
    .select(['d.delivery_id', 'd.endpoint_id', 'd.event_id', 'd.event_type', 'd.lane', 'd.body', 'd.attempts', 'e.url', 'e.secret', 'e.previous_secret', 'e.previous_secret_until'])
    .where('d.delivery_id', '=', deliveryId)
    .executeTakeFirst();
  if (!row) return undefined;
  const previousValid = row.previous_secret !== null && Number(row.previous_secret_until ?? 0) > now;
  return {
    deliveryId: row.delivery_id,
    endpointId: row.endpoint_id,
    eventId: row.event_id,
    eventType: row.event_type,
    lane: row.lane,
    url: row.url,
    body: row.body,
    attempts: row.attempts,
    secrets: previousValid ? [row.secret, row.previous_secret!] : [row.secret],
  };
}

/** Lets go of a claimed delivery without an attempt (the process is stopping). */
export async function release(db: Kysely<WebhookTables>, deliveryId: string, owner: string): Promise<void> {
  await db.updateTable('webhook_deliveries').set({ lease_owner: null, lease_until: null }).where('delivery_id', '=', deliveryId).where('lease_owner', '=', owner).execute();
}

/**
 * When the next retry falls due (for the sender's sleep), or undefined when none is waiting. Only
 * future ones: a pending delivery already due but not found by findDue is held (its lane, its
 * endpoint), and what releases it (a delivery, a fan-out, an admin action) wakes the sender.
 */
export async function nextDueAt(db: Kysely<WebhookTables>, now: number): Promise<number | undefined> {
  const row = await db.selectFrom('webhook_deliveries').select((eb) => eb.fn.min('next_attempt_at').as('due')).where('status', '=', 'pending').where('next_attempt_at', '>', now).executeTakeFirst();
  return row?.due === null || row?.due === undefined ? undefined : Number(row.due);
}

/** Pending deliveries per endpoint (the backlog gauge). */
export async function backlogByEndpoint(db: Kysely<WebhookTables>): Promise<{ endpointId: string; pending: number }[]> {
  const rows = await db.selectFrom('webhook_deliveries').select(['endpoint_id', (eb) => eb.fn.countAll().as('pending')]).where('status', '=', 'pending').groupBy('endpoint_id').execute();
  return rows.map((r) => ({ endpointId: r.endpoint_id, pending: Number(r.pending) }));
}
