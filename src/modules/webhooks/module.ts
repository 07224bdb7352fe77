import type { Kysely } from 'kysely';
import { eventCatalog } from '../../kernel/catalog.js';
import type { EventEnvelope } from '../../kernel/envelope.js';
import { defineConsumer } from '../../platform/delivery/consumer.js';
import type { BackgroundWorker, EngineModule, ModuleRuntime } from '../../platform/engine.js';
import { createWebhooksApi, type WebhooksApi } from './api.js';
import type { AddressPolicy } from './domain/address-policy.js';
import { fanOut } from './handlers/fan-out.js';
import { createDeliverySender, type DeliverySender } from './sender/delivery-sender.js';
import type { postWebhook } from './sender/post-webhook.js';
import { webhookMetrics } from './sender/webhook-metrics.js';
import { FAN_OUT_CONSUMER } from './storage/delivery-store.js';
import { webhookMigrations } from './storage/migrations.js';
import { webhookPruning } from './storage/pruning.js';
import type { WebhookTables } from './storage/tables.js';

/** Settings of the webhooks module (config.ts `WebhookSettings`). */
export interface WebhooksOptions extends AddressPolicy {
  timeoutMs: number;
  retrySchedule: readonly number[];
  disableAfterFailures: number;
  /** How long a delivered delivery is kept (then pruned with its attempts). */
  retentionMs: number;
  /** How often a sender looks for work nobody woke it for (default 1000 ms). */
  pollMs?: number;
  /** Randomness of the retry jitter. */
  random?: () => number;
  /** Sends one attempt (tests may replace it). */
  post?: typeof postWebhook;
}

/** The webhooks engine module; `connect` gives the endpoint API. */
export interface WebhooksModule extends EngineModule {
  connect(runtime: ModuleRuntime): WebhooksApi;
}

/**
 * Every event type an endpoint may subscribe to: the catalog's but the webhooks module's own
 * (a failing endpoint told of failures would feed itself, or another failing one, forever).
 * Those are in the log, the event API and the published stream.
 */
export const WEBHOOK_EVENT_TYPES: readonly string[] = Object.keys(eventCatalog).filter((type) => !type.startsWith('Webhook'));

/**
 * Webhooks (issue 14): admins register endpoints; the consumer `webhooks` turns each event into
 * a pending delivery per subscribed endpoint (exactly once, in its delivery transaction), and a
 * background sender — where the module runs — signs and POSTs them (Standard Webhooks), in
 * order per order, with retries, dead deliveries and automatic disabling.
 */
export function createWebhooksModule(options: WebhooksOptions): WebhooksModule {
  let sender: DeliverySender | undefined;
  const fanOutAndWake = async (events: readonly EventEnvelope[], ctx: { db: unknown; now: number; afterCommit(callback: () => void): void }) => {
    const written = await fanOut(ctx.db as Kysely<WebhookTables>, events, ctx.now);
    if (written > 0) ctx.afterCommit(() => sender?.wake());
  };
  const consumer = defineConsumer<WebhookTables>({
    name: FAN_OUT_CONSUMER,
    source: 'webhooks',
    // Delivery rows only: the sender posts them after the commit.
    effectsInTransaction: true,
    handlers: Object.fromEntries(WEBHOOK_EVENT_TYPES.map((type) => [type, (event, ctx) => fanOutAndWake([event], ctx)])),
    handleBatch: (events, ctx) => fanOutAndWake(events, ctx),
  });
  const worker: BackgroundWorker = (runtime) => {
    sender = createDeliverySender({
      db: runtime.db as Kysely<WebhookTables>,
      unitOfWork: runtime.unitOfWork,
      clock: runtime.clock,
      logger: runtime.logger.child({ module: 'webhooks' }),
      metrics: webhookMetrics(runtime.metrics.registry, runtime.db as Kysely<WebhookTables>),
      policy: { allowHttp: options.allowHttp, allowPrivate: options.allowPrivate },
      timeoutMs: options.timeoutMs,
      rules: { schedule: options.retrySchedule, disableAfterFailures: options.disableAfterFailures, random: options.random ?? Math.random },
      eventTypes: WEBHOOK_EVENT_TYPES,
      pollMs: options.pollMs,
      post: options.post,
    });
    return sender;
  };
  return {
    name: 'webhooks',
    migrations: webhookMigrations,
    consumers: [consumer],
    workers: [worker],
    pruning: webhookPruning(options.retentionMs),
    connect(runtime) {
      return createWebhooksApi({
        db: runtime.db as Kysely<WebhookTables>,
        clock: runtime.clock,
        ids: runtime.ids,
        policy: { allowHttp: options.allowHttp, allowPrivate: options.allowPrivate },
        eventTypes: WEBHOOK_EVENT_TYPES,
        logger: runtime.logger.child({ module: 'webhooks' }),
        // The sender of this thread, if it runs here; else the engine's wake-up reaches it (the delivery thread).
        wake: () => {
          sender?.wake();
          runtime.wake();
        },
      });
    },
  };
}
