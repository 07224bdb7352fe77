import type { Kysely } from 'kysely';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { backlogByEndpoint } from '../storage/delivery-store.js';
import type { WebhookTables } from '../storage/tables.js';

/** Per-endpoint series of the webhooks module (label `endpoint`: the endpoint id). */
export interface WebhookMetrics {
  attempts: Counter<'endpoint' | 'outcome'>;
  latency: Histogram<'endpoint'>;
}

/** Registers the series once per registry; the backlog gauge is read from the database at a scrape. */
export function webhookMetrics(registry: Registry, db: Kysely<WebhookTables>): WebhookMetrics {
  const existing = registry.getSingleMetric('orderflow_webhook_attempts_total') as Counter<'endpoint' | 'outcome'> | undefined;
  if (existing) return { attempts: existing, latency: registry.getSingleMetric('orderflow_webhook_attempt_duration_seconds') as Histogram<'endpoint'> };
  new Gauge({
    name: 'orderflow_webhook_backlog_deliveries',
    help: 'Webhook deliveries not yet made (pending, retrying or held), by endpoint',
    labelNames: ['endpoint'],
    registers: [registry],
    async collect() {
      this.reset();
      for (const { endpointId, pending } of await backlogByEndpoint(db).catch(() => [])) this.set({ endpoint: endpointId }, pending);
    },
  });
  return {
    attempts: new Counter({
      name: 'orderflow_webhook_attempts_total',
      help: 'Webhook delivery attempts by endpoint and outcome (delivered, failed, dead: the last attempt failed)',
      labelNames: ['endpoint', 'outcome'],
      registers: [registry],
    }),
    latency: new Histogram({
      name: 'orderflow_webhook_attempt_duration_seconds',
      help: 'Time from connecting to a webhook endpoint to its answer (or the failure), by endpoint',
      labelNames: ['endpoint'],
      buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    }),
  };
}
