import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import type { Clock } from '../../../kernel/clock.js';
import type { UnitOfWork } from '../../../platform/log/unit-of-work.js';
import type { AddressPolicy } from '../domain/address-policy.js';
import { signedHeaders } from '../domain/signing.js';
import { recordAttempt, type RecordedAttempt, type RetryRules } from '../handlers/record-attempt.js';
import { claim, findDue, nextDueAt, release, type ClaimedDelivery } from '../storage/delivery-store.js';
import type { WebhookTables } from '../storage/tables.js';
import { postWebhook, type PostOutcome } from './post-webhook.js';
import type { WebhookMetrics } from './webhook-metrics.js';

export interface DeliverySenderOptions {
  db: Kysely<WebhookTables>;
  /** Records attempts: a dead delivery and a disabled endpoint are events (WebhookDeliveryFailed, WebhookEndpointDisabled). */
  unitOfWork: UnitOfWork;
  clock: Clock;
  logger: Logger;
  metrics: WebhookMetrics;
  policy: AddressPolicy;
  timeoutMs: number;
  rules: RetryRules;
  /** Every event type the fan-out consumer handles (the lane check, delivery-store.ts). */
  eventTypes: readonly string[];
  /** Deliveries in flight at once, over all endpoints (default 16). */
  concurrency?: number;
  /** Deliveries in flight at once to one endpoint (default 4): a slow endpoint cannot take every slot. */
  perEndpoint?: number;
  /** How often to look for work when nothing wakes the sender (default 1000 ms): other processes' fan-outs and API actions. */
  pollMs?: number;
  /** Sends one attempt (tests may replace it). */
  post?: typeof postWebhook;
}

/** The background sender of one process. */
export interface DeliverySender {
  start(): void;
  /** Looks for work now (a fan-out committed, an admin re-sent or enabled something). */
  wake(): void;
  /** Stops claiming, waits for the attempts in flight to be recorded. */
  stop(): Promise<void>;
}

/**
 * Sends due deliveries, each lane of each endpoint one at a time and in order (delivery-store.ts
 * finds only the first of a lane), up to `concurrency` at once and `perEndpoint` to one
 * endpoint, so a slow or failing endpoint holds back only its own lanes. A delivery is leased while it is sent; a process killed
 * mid-send leaves a lease that runs out, and the delivery is sent again with the same webhook-id.
 */
export function createDeliverySender(options: DeliverySenderOptions): DeliverySender {
  const { db, clock, logger, metrics } = options;
  const owner = `${process.pid}:${randomUUID()}`;
  const concurrency = options.concurrency ?? 16;
  const perEndpoint = options.perEndpoint ?? 4;
  const pollMs = options.pollMs ?? 1000;
  const post = options.post ?? postWebhook;
  // Long enough for an attempt and its recording; a dead process's deliveries are free after it.
  const leaseMs = options.timeoutMs * 2 + 5000;
  const inFlight = new Map<string, Promise<void>>();
  const inFlightTo = new Map<string, number>();
  let running = false;
  let loop: Promise<void> | undefined;
  let wakeUp: (() => void) | undefined;
  let woken = false;

  const wake = () => {
    woken = true;
    wakeUp?.();
  };
  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      if (woken) return resolve();
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        wakeUp = undefined;
        resolve();
      }
      wakeUp = done;
    });

  async function send(delivery: ClaimedDelivery): Promise<void> {
    const at = clock.now();
    const headers = signedHeaders(delivery.secrets, delivery.deliveryId, Math.floor(at / 1000), delivery.body);
    const outcome: PostOutcome = await post({ url: delivery.url, headers, body: delivery.body, timeoutMs: options.timeoutMs, policy: options.policy }).catch((error: unknown) => ({
      ok: false,
      statusCode: null,
      error: (error as Error).message,
      responseBody: null,
      durationMs: clock.now() - at,
    }));
    if (!running && !outcome.ok && outcome.statusCode === null) {
      // Cut short by the shutdown: not the endpoint's failure; the next process sends it again.
      await release(db, delivery.deliveryId, owner).catch(() => undefined);
      return;
    }
    const recorded = await options.unitOfWork.run<RecordedAttempt | undefined, WebhookTables>('webhooks', (tx) => recordAttempt(tx, delivery, owner, { ...outcome, at }, options.rules));
    const log = { endpointId: delivery.endpointId, deliveryId: delivery.deliveryId, attempt: delivery.attempts + 1, statusCode: outcome.statusCode, durationMs: outcome.durationMs };
    if (!recorded) {
      logger.warn(log, 'webhook lease lost before the attempt was recorded; another process sends it');
      return;
    }
    const outcomeLabel = outcome.ok ? 'delivered' : recorded.status === 'dead' ? 'dead' : 'failed';
    metrics.attempts.inc({ endpoint: delivery.endpointId, outcome: outcomeLabel });
    metrics.latency.observe({ endpoint: delivery.endpointId }, outcome.durationMs / 1000);
    if (outcome.ok) logger.debug(log, 'webhook delivered');
    else logger.warn({ ...log, error: outcome.error, status: recorded.status }, recorded.status === 'dead' ? 'webhook delivery dead after its last attempt' : 'webhook delivery failed; will retry');
    if (recorded.disabledEndpoint) logger.warn({ endpointId: recorded.disabledEndpoint }, 'webhook endpoint disabled after repeated failures');
  }

  async function round(): Promise<boolean> {
    const free = concurrency - inFlight.size;
    if (free <= 0) return false;
    // More candidates than free slots: some may be to endpoints already at their share.
    const due = await findDue(db, clock.now(), free * perEndpoint, options.eventTypes);
    let started = 0;
    for (const { deliveryId, endpointId } of due) {
      if (started >= free) break;
      if (inFlight.has(deliveryId) || (inFlightTo.get(endpointId) ?? 0) >= perEndpoint) continue;
      const delivery = await claim(db, deliveryId, owner, clock.now(), leaseMs);
      if (!delivery) continue;
      started += 1;
      inFlightTo.set(endpointId, (inFlightTo.get(endpointId) ?? 0) + 1);
      const work = send(delivery)
        .catch((error: unknown) => logger.error({ err: error, deliveryId }, 'webhook attempt could not be recorded; it is retried when its lease runs out'))
        .finally(() => {
          inFlight.delete(deliveryId);
          const left = (inFlightTo.get(endpointId) ?? 1) - 1;
          if (left > 0) inFlightTo.set(endpointId, left);
          else inFlightTo.delete(endpointId);
          wake();
        });
      inFlight.set(deliveryId, work);
    }
    return started > 0;
  }

  async function run(): Promise<void> {
    while (running) {
      woken = false;
      try {
        if (await round()) continue;
        const now = clock.now();
        const next = inFlight.size >= concurrency ? undefined : await nextDueAt(db, now);
        await sleep(Math.max(0, Math.min(pollMs, next === undefined ? pollMs : next - now)));
      } catch (error) {
        logger.warn({ err: error }, 'webhook sender could not read its deliveries; trying again');
        await sleep(pollMs);
      }
    }
  }

  return {
    start() {
      if (running) return;
      running = true;
      loop = run();
    },
    wake,
    async stop() {
      running = false;
      wake();
      await loop;
      await Promise.all(inFlight.values());
    },
  };
}
