import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsync } from 'fastify';
import { Gauge, type Registry } from 'prom-client';
import type { ModuleApis } from '../../composition.js';
import { ORDER_STATUSES } from '../../modules/orders/index.js';
import type { Engine } from '../../platform/engine.js';
import { measureLogSize } from '../../platform/log/log-size.js';
import type { HttpContext } from '../context.js';
import { problem, sendProblem } from '../problem.js';
import { withProblems } from '../schemas/common.js';
import { LivenessResponse, ReadinessResponse } from '../schemas/operations.js';

/** Liveness, readiness (storage and transport) and the Prometheus scrape. */
export function healthRoutes({ engine, apis }: HttpContext): FastifyPluginAsync {
  return async (app) => {
    const refreshGauges = scrapeGauges(engine, apis);

    app.get(
      '/health',
      { config: { access: 'public' }, schema: { tags: ['health'], summary: 'Liveness: the process answers', response: { 200: LivenessResponse } } },
      async () => ({ status: 'ok' as const }),
    );

    app.get(
      '/health/ready',
      {
        config: { access: 'public' },
        schema: { tags: ['health'], summary: 'Readiness: 200 only when storage and transport answer', response: withProblems({ 200: ReadinessResponse }, 503) },
      },
      async (request, reply) => {
        const dependencies = await engine.health();
        const down = Object.entries(dependencies).filter(([, d]) => !d.ok);
        if (down.length === 0) return { status: 'ready' as const, dependencies };
        const detail = `not ready: ${down.map(([name, d]) => `${name} (${d.detail ?? 'down'})`).join(', ')}`;
        return sendProblem(reply, { problem: problem('NOT_READY', detail, { instance: request.url, dependencies }), headers: { 'retry-after': '5' }, serverFault: true });
      },
    );

    app.get(
      '/metrics',
      {
        config: { access: 'public' },
        schema: {
          tags: ['health'],
          summary: 'Prometheus metrics (text exposition format)',
          response: { 200: { description: 'Prometheus text format', content: { 'text/plain': { schema: Type.String() } } } },
        },
      },
      async (request, reply) => {
        // The gauges read the database; a scrape still answers (with the last values) when it is down.
        await refreshGauges().catch((error: unknown) => request.log.warn({ err: error }, 'metrics: could not refresh the database gauges'));
        const gathered = await engine.metrics.gather();
        return reply.type(engine.metrics.registry.contentType).send(await gathered.metrics());
      },
    );
  };
}

/** Counting the log reads an index through: the size gauges are measured at most this often. */
const LOG_SIZE_EVERY_MS = 60_000;

/** Gauges that are read from the database at scrape time: orders by status, open dead letters, the log's size. */
function scrapeGauges(engine: Engine, apis: ModuleApis): () => Promise<void> {
  const { registry } = engine.metrics;
  const ordersByStatus = gauge(registry, 'orderflow_orders', 'Orders by status', ['status']);
  const logEvents = gauge(registry, 'orderflow_event_log_events', 'Events in the event log (the system of record, never pruned); measured at most once a minute', []);
  // Measuring one table's bytes on SQLite reads every page of it (dbstat): reported on PostgreSQL only.
  const logBytes =
    engine.storage.dialect === 'postgres' ? gauge(registry, 'orderflow_event_log_bytes', 'Bytes of the event log table with its indexes; measured at most once a minute', []) : undefined;
  const databaseBytes = gauge(registry, 'orderflow_database_bytes', 'Bytes of the database (SQLite: pages in use; PostgreSQL: pg_database_size); measured at most once a minute', []);
  let sizeMeasuredAt = Number.NEGATIVE_INFINITY;
  const measureSize = async () => {
    if (performance.now() - sizeMeasuredAt < LOG_SIZE_EVERY_MS) return;
    sizeMeasuredAt = performance.now();
    const size = await measureLogSize(engine.storage);
    logEvents.set(size.events);
    if (size.eventLogBytes !== undefined) logBytes?.set(size.eventLogBytes);
    databaseBytes.set(size.databaseBytes);
  };
  return async () => {
    const [counts, open] = await Promise.all([apis.orders.countByStatus(), engine.deadLetters.countOpen(), measureSize()]);
    for (const status of ORDER_STATUSES) ordersByStatus.set({ status }, counts[status] ?? 0);
    engine.metrics.deadLettersOpen.set(open);
  };
}

/** The registry's gauge of that name, created once per registry (several apps may share an engine). */
function gauge(registry: Registry, name: string, help: string, labelNames: string[]): Gauge<string> {
  return (registry.getSingleMetric(name) as Gauge<string> | undefined) ?? new Gauge({ name, help, labelNames, registers: [registry] });
}
