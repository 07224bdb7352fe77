import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import { AppError } from '../../kernel/errors.js';
import type { Clock } from '../../kernel/clock.js';
import type { IdGenerator } from '../../kernel/ids.js';
import { FORBIDDEN_ADDRESS, hostOf, isForbiddenAddress, urlFormProblem, type AddressPolicy } from './domain/address-policy.js';
import { generateSecret } from './domain/signing.js';
import { resolveAll } from './sender/post-webhook.js';
import { endpointView, findEndpoint, listEndpointRows, type EndpointView } from './storage/endpoint-store.js';
import type { DeliveryRow, WebhookTables } from './storage/tables.js';

/** A new endpoint: where to send, which event types. */
export interface NewEndpoint {
  url: string;
  eventTypes: string[];
  description?: string | undefined;
}

/** A change to an endpoint; `enabled: true` also clears an automatic disable and its failure count. */
export interface EndpointChange {
  url?: string | undefined;
  eventTypes?: string[] | undefined;
  description?: string | undefined;
  enabled?: boolean | undefined;
}

/** A delivery as the API shows it. */
export interface DeliveryView {
  /** Also the `webhook-id` header of every attempt (receivers deduplicate by it). */
  deliveryId: string;
  eventId: string;
  eventType: string;
  /** The order's flow (the event's correlationId): deliveries of one lane go out in order. */
  lane: string;
  /** pending (not tried yet), retrying (failed, next attempt scheduled), delivered, dead (attempts used up; holds its lane until re-sent). */
  status: 'pending' | 'retrying' | 'delivered' | 'dead';
  attempts: number;
  lastStatusCode: number | null;
  lastError: string | null;
  /** At most the first 1 KiB of the last response body. */
  lastResponse: string | null;
  lastDurationMs: number | null;
  lastAttemptAt: string | null;
  nextAttemptAt: string | null;
  deliveredAt: string | null;
  createdAt: string;
}

/** One attempt of a delivery, kept with it. */
export interface AttemptView {
  /** 1, 2, … over every round (re-sends continue the count). */
  attempt: number;
  at: string;
  statusCode: number | null;
  error: string | null;
  /** At most the first 1 KiB of the response body. */
  response: string | null;
  durationMs: number;
}

/** The webhooks module's commands and queries (the HTTP layer's routes call them). */
export interface WebhooksApi {
  /** Registers an endpoint; the answer carries its signing secret, the only time it is shown. */
  createEndpoint(input: NewEndpoint): Promise<EndpointView & { secret: string }>;
  listEndpoints(): Promise<EndpointView[]>;
  getEndpoint(webhookId: string): Promise<EndpointView>;
  updateEndpoint(webhookId: string, change: EndpointChange): Promise<EndpointView>;
  /** Deletes the endpoint with its deliveries. */
  deleteEndpoint(webhookId: string): Promise<void>;
  /** A new secret; the old one keeps signing (beside the new) for `overlapSeconds`. */
  rotateSecret(webhookId: string, overlapSeconds: number): Promise<EndpointView & { secret: string }>;
  /** The endpoint's deliveries, newest first. */
  listDeliveries(webhookId: string, query: { status?: DeliveryView['status'] | undefined; limit?: number | undefined }): Promise<DeliveryView[]>;
  /** One delivery with every attempt made so far. */
  getDelivery(webhookId: string, deliveryId: string): Promise<DeliveryView & { history: AttemptView[] }>;
  /** Sends one delivery again (a dead one: a new round of attempts), with the same webhook-id. */
  resendDelivery(webhookId: string, deliveryId: string): Promise<DeliveryView>;
  /** Sends every dead delivery of the endpoint again; their lanes' held deliveries follow in order. */
  redriveDead(webhookId: string): Promise<{ redriven: number }>;
}

export interface WebhooksApiDeps {
  db: Kysely<WebhookTables>;
  clock: Clock;
  ids: IdGenerator;
  policy: AddressPolicy;
  eventTypes: readonly string[];
  /** Tells the senders there is work (a re-send, an enabled endpoint). */
  wake: () => void;
  /** Notes each change of an endpoint (never its secret). */
  logger: Logger;
  /** Resolves a host name to its addresses (tests may replace it). */
  resolve?: (host: string) => Promise<string[]>;
}

export function createWebhooksApi(deps: WebhooksApiDeps): WebhooksApi {
  const { db, clock, ids, policy } = deps;
  const resolve = deps.resolve ?? resolveAll;

  async function existing(webhookId: string) {
    const row = await findEndpoint(db, webhookId);
    if (!row) throw new AppError('not_found', 'WEBHOOK_NOT_FOUND', `no webhook endpoint ${webhookId}`);
    return row;
  }

  async function checkUrl(raw: string): Promise<void> {
    const problem = urlFormProblem(raw, policy);
    if (problem) throw new AppError('validation', 'WEBHOOK_URL_REFUSED', `${raw}: ${problem}`);
    if (policy.allowPrivate) return;
    const host = hostOf(new URL(raw));
    const addresses = await resolve(host).catch((error: unknown) => {
      throw new AppError('validation', 'WEBHOOK_URL_REFUSED', `${raw}: ${host} does not resolve (${(error as Error).message})`, { cause: error });
    });
    const refused = addresses.find(isForbiddenAddress);
    if (refused !== undefined) {
      const what = refused === host ? `${host} is ${FORBIDDEN_ADDRESS}` : `${host} resolves to ${refused}, ${FORBIDDEN_ADDRESS}`;
      throw new AppError('validation', 'WEBHOOK_URL_REFUSED', `${raw}: ${what}; WEBHOOK_ALLOW_PRIVATE allows it (development only)`);
    }
  }

  function checkTypes(types: readonly string[]): string[] {
    const unknown = types.filter((t) => !deps.eventTypes.includes(t));
    if (unknown.length > 0) throw new AppError('validation', 'WEBHOOK_EVENT_TYPE_UNKNOWN', `unknown event types: ${unknown.join(', ')}`, { details: { unknown } });
    return [...new Set(types)];
  }

  return {
    async createEndpoint(input) {
      const eventTypes = checkTypes(input.eventTypes);
      await checkUrl(input.url);
      const now = clock.now();
      const secret = generateSecret();
      const row = {
        endpoint_id: `wh_${ids.next()}`,
        url: input.url,
        event_types: JSON.stringify(eventTypes),
        description: input.description ?? '',
        enabled: 1,
        disabled_reason: null,
        secret,
        previous_secret: null,
        previous_secret_until: null,
        consecutive_failures: 0,
        created_at: now,
        updated_at: now,
      };
      await db.insertInto('webhook_endpoints').values(row).execute();
      deps.logger.info({ webhookId: row.endpoint_id, url: row.url, eventTypes }, 'webhook endpoint registered');
      return { ...endpointView(row, now), secret };
    },
    async listEndpoints() {
      const now = clock.now();
      return (await listEndpointRows(db)).map((row) => endpointView(row, now));
    },
    async getEndpoint(webhookId) {
      return endpointView(await existing(webhookId), clock.now());
    },
    async updateEndpoint(webhookId, change) {
      const row = await existing(webhookId);
      if (change.url !== undefined) await checkUrl(change.url);
      const now = clock.now();
      const set = {
        updated_at: now,
        ...(change.url !== undefined ? { url: change.url } : {}),
        ...(change.eventTypes !== undefined ? { event_types: JSON.stringify(checkTypes(change.eventTypes)) } : {}),
        ...(change.description !== undefined ? { description: change.description } : {}),
        ...(change.enabled === true ? { enabled: 1, disabled_reason: null, consecutive_failures: 0 } : {}),
        ...(change.enabled === false && row.enabled === 1 ? { enabled: 0, disabled_reason: 'disabled by an admin' } : {}),
      };
      await db.updateTable('webhook_endpoints').set(set).where('endpoint_id', '=', webhookId).execute();
      deps.logger.info({ webhookId, changed: Object.keys(change) }, 'webhook endpoint changed');
      if (change.enabled === true) deps.wake();
      return endpointView(await existing(webhookId), now);
    },
    async deleteEndpoint(webhookId) {
      await existing(webhookId);
      await db.transaction().execute(async (trx) => {
        await trx.deleteFrom('webhook_attempts').where('delivery_id', 'in', (eb) => eb.selectFrom('webhook_deliveries').select('delivery_id').where('endpoint_id', '=', webhookId)).execute();
        await trx.deleteFrom('webhook_deliveries').where('endpoint_id', '=', webhookId).execute();
        await trx.deleteFrom('webhook_endpoints').where('endpoint_id', '=', webhookId).execute();
      });
      deps.logger.info({ webhookId }, 'webhook endpoint deleted');
    },
    async rotateSecret(webhookId, overlapSeconds) {
      const row = await existing(webhookId);
      const now = clock.now();
      const secret = generateSecret();
      await db
        .updateTable('webhook_endpoints')
        .set({ secret, previous_secret: overlapSeconds > 0 ? row.secret : null, previous_secret_until: overlapSeconds > 0 ? now + overlapSeconds * 1000 : null, updated_at: now })
        .where('endpoint_id', '=', webhookId)
        .execute();
      deps.logger.info({ webhookId, overlapSeconds }, 'webhook secret rotated');
      return { ...endpointView(await existing(webhookId), now), secret };
    },
    async listDeliveries(webhookId, query) {
      await existing(webhookId);
      let select = db.selectFrom('webhook_deliveries').selectAll().where('endpoint_id', '=', webhookId);
      if (query.status === 'pending') select = select.where('status', '=', 'pending').where('attempts', '=', 0);
      else if (query.status === 'retrying') select = select.where('status', '=', 'pending').where('attempts', '>', 0);
      else if (query.status) select = select.where('status', '=', query.status);
      const rows = await select.orderBy('sequence', 'desc').limit(query.limit ?? 100).execute();
      return rows.map(deliveryView);
    },
    async getDelivery(webhookId, deliveryId) {
      await existing(webhookId);
      const row = await db.selectFrom('webhook_deliveries').selectAll().where('endpoint_id', '=', webhookId).where('delivery_id', '=', deliveryId).executeTakeFirst();
      if (!row) throw new AppError('not_found', 'WEBHOOK_DELIVERY_NOT_FOUND', `no delivery ${deliveryId} of webhook endpoint ${webhookId}`);
      const attempts = await db.selectFrom('webhook_attempts').selectAll().where('delivery_id', '=', deliveryId).orderBy('attempt').execute();
      return {
        ...deliveryView(row),
        history: attempts.map((a) => ({ attempt: a.attempt, at: iso(a.at)!, statusCode: a.status_code, error: a.error, response: a.response, durationMs: a.duration_ms })),
      };
    },
    async resendDelivery(webhookId, deliveryId) {
      await existing(webhookId);
      const now = clock.now();
      const updated = await db
        .updateTable('webhook_deliveries')
        .set({ status: 'pending', attempts: 0, next_attempt_at: now })
        .where('endpoint_id', '=', webhookId)
        .where('delivery_id', '=', deliveryId)
        .executeTakeFirst();
      if (Number(updated.numUpdatedRows) !== 1) throw new AppError('not_found', 'WEBHOOK_DELIVERY_NOT_FOUND', `no delivery ${deliveryId} of webhook endpoint ${webhookId}`);
      deps.wake();
      const row = await db.selectFrom('webhook_deliveries').selectAll().where('delivery_id', '=', deliveryId).executeTakeFirstOrThrow();
      return deliveryView(row);
    },
    async redriveDead(webhookId) {
      await existing(webhookId);
      const updated = await db
        .updateTable('webhook_deliveries')
        .set({ status: 'pending', attempts: 0, next_attempt_at: clock.now() })
        .where('endpoint_id', '=', webhookId)
        .where('status', '=', 'dead')
        .executeTakeFirst();
      deps.wake();
      return { redriven: Number(updated.numUpdatedRows) };
    },
  };
}

const iso = (ms: number | string | null) => (ms === null ? null : new Date(Number(ms)).toISOString());

function deliveryView(row: DeliveryRow): DeliveryView {
  const status = row.status === 'pending' ? (row.attempts > 0 ? 'retrying' : 'pending') : row.status;
  return {
    deliveryId: row.delivery_id,
    eventId: row.event_id,
    eventType: row.event_type,
    lane: row.lane,
    status,
    attempts: row.attempts,
    lastStatusCode: row.last_status_code,
    lastError: row.last_error,
    lastResponse: row.last_response,
    lastDurationMs: row.last_duration_ms,
    lastAttemptAt: iso(row.last_attempt_at),
    nextAttemptAt: row.status === 'pending' ? iso(row.next_attempt_at) : null,
    deliveredAt: iso(row.delivered_at),
    createdAt: iso(row.created_at)!,
  };
}
