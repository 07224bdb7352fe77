import { AggregatorRegistry, Counter, Gauge, Histogram, Registry, type MetricObjectWithValues, type MetricValue } from 'prom-client';

/** Series gathered elsewhere (another thread's registry, as JSON) to report with this one. */
export type MetricsSource = () => Promise<MetricObjectWithValues<MetricValue<string>>[]>;

/** The engine's Prometheus series (SPEC §6); modules add their own to the same registry. */
export interface EngineMetrics {
  readonly registry: Registry;
  eventsAppended: Counter<'event_type'>;
  eventsDelivered: Counter<'event_type' | 'consumer' | 'outcome'>;
  eventsFailed: Counter<'event_type' | 'consumer'>;
  eventsDeadLettered: Counter<'event_type' | 'consumer'>;
  handlerDuration: Histogram<'consumer' | 'event_type'>;
  consumerLag: Gauge<'consumer'>;
  outboxBacklog: Gauge;
  deadLettersOpen: Gauge;
  timersFired: Counter<'kind'>;
  sagaDuration: Histogram<'outcome'>;
  /** Rows removed by background pruning, by task (`idempotency_keys`, …). */
  prunedRows: Counter<'task'>;
  /** Adds series gathered elsewhere (the embedded mode's delivery thread) to every scrape. */
  addSource(source: MetricsSource): void;
  /** This registry's series and every added source's, summed by name and labels. */
  gather(): Promise<Registry>;
}

export function createEngineMetrics(registry = new Registry()): EngineMetrics {
  const r = [registry];
  const sources: MetricsSource[] = [];
  return {
    registry,
    addSource: (source) => {
      sources.push(source);
    },
    async gather() {
      if (sources.length === 0) return registry;
      const parts = await Promise.all([registry.getMetricsAsJSON(), ...sources.map((source) => source())]);
      return AggregatorRegistry.aggregate(parts as never) as unknown as Registry;
    },
    eventsAppended: new Counter({ name: 'orderflow_events_appended_total', help: 'Events appended to the log', labelNames: ['event_type'], registers: r }),
    eventsDelivered: new Counter({
      name: 'orderflow_events_delivered_total',
      help: 'Events delivered to a consumer, by outcome (handled, duplicate, parked, ignored)',
      labelNames: ['event_type', 'consumer', 'outcome'],
      registers: r,
    }),
    eventsFailed: new Counter({ name: 'orderflow_events_failed_total', help: 'Handler failures (each attempt)', labelNames: ['event_type', 'consumer'], registers: r }),
    eventsDeadLettered: new Counter({ name: 'orderflow_events_dead_lettered_total', help: 'Deliveries moved to the dead letters', labelNames: ['event_type', 'consumer'], registers: r }),
    handlerDuration: new Histogram({
      name: 'orderflow_handler_duration_seconds',
      help: 'Time a handler took, inside its transaction',
      labelNames: ['consumer', 'event_type'],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: r,
    }),
    consumerLag: new Gauge({ name: 'orderflow_consumer_lag_events', help: 'Events in the log not yet read by a consumer', labelNames: ['consumer'], registers: r }),
    outboxBacklog: new Gauge({ name: 'orderflow_outbox_backlog_events', help: 'Committed events not yet published to the broker', registers: r }),
    deadLettersOpen: new Gauge({ name: 'orderflow_dead_letters_open', help: 'Dead letters waiting for re-drive or discard', registers: r }),
    timersFired: new Counter({ name: 'orderflow_timers_fired_total', help: 'Durable timers fired', labelNames: ['kind'], registers: r }),
    prunedRows: new Counter({ name: 'orderflow_pruned_rows_total', help: 'Expired bookkeeping rows removed by background pruning, by task', labelNames: ['task'], registers: r }),
    sagaDuration: new Histogram({
      name: 'orderflow_saga_duration_seconds',
      help: 'Time from placement until the saga settles (PAID, or failed, timed out or cancelled before), by outcome',
      labelNames: ['outcome'],
      buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
      registers: r,
    }),
  };
}
