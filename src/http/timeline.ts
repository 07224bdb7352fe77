import type { Kysely } from 'kysely';
import type { EventEnvelope } from '../kernel/envelope.js';
import type { OrderView } from '../modules/orders/index.js';
import type { DeliveryTables } from '../platform/delivery/delivery-store.js';
import type { Engine } from '../platform/engine.js';
import { traceIdOf } from '../platform/observability/tracing.js';
import type { TimelineResponse } from './schemas/orders.js';

type Outcome = TimelineResponse['events'][number]['consumers'][number];

// A flow has a few dozen events; the cap only bounds a pathological one.
const MAX_EVENTS = 5000;
const IN_CHUNK = 500;

/**
 * Every event of an order's flow (its correlationId), in log order, with each consumer's
 * handling of it, read from the delivery bookkeeping: a failure record (retrying,
 * dead-lettered, discarded) wins over a parked record, which wins over the inbox (handled);
 * a subscribed consumer with none of these has the event still pending.
 */
export async function orderTimeline(engine: Engine, order: OrderView, traceUrl?: string): Promise<TimelineResponse> {
  const events = await flowEvents(engine, order.correlationId);
  const outcomes = await deliveryOutcomes(engine.storage.db as Kysely<DeliveryTables>, events.map((e) => e.eventId));
  const subscribers = subscribersByType(engine);
  // The trace the order was placed in (its first event's), when tracing was on.
  const traceId = traceIdOf(events[0]?.metadata?.traceparent);
  return {
    orderId: order.orderId,
    correlationId: order.correlationId,
    trace: traceId ? { traceId, url: traceUrl ? traceUrl.replaceAll('{traceId}', traceId) : null } : null,
    events: events.map((event) => {
      const recorded = outcomes.get(event.eventId) ?? new Map<string, Outcome>();
      // In a process that does not run every module, consumers known only from their records still show.
      const names = new Set([...(subscribers.get(event.eventType) ?? []), ...recorded.keys()]);
      return {
        sequence: event.sequence ?? 0,
        eventId: event.eventId,
        eventType: event.eventType,
        occurredAt: event.occurredAt,
        source: event.source,
        causationId: event.causationId,
        payload: event.payload as Record<string, unknown>,
        consumers: [...names].sort().map((consumer) => recorded.get(consumer) ?? { consumer, outcome: 'pending', attempts: 0 }),
      };
    }),
  };
}

/** The events of an order's flow (its correlationId), in log order. */
export async function flowEvents(engine: Engine, correlationId: string): Promise<EventEnvelope[]> {
  const events: EventEnvelope[] = [];
  let after: number | undefined;
  do {
    const page = await engine.log.query({ correlationId, after, limit: 1000 });
    events.push(...page.events);
    after = page.nextCursor ?? undefined;
  } while (after !== undefined && events.length < MAX_EVENTS);
  return events;
}

function subscribersByType(engine: Engine): Map<string, string[]> {
  const byType = new Map<string, string[]>();
  for (const consumer of engine.dispatcher.consumers()) {
    for (const type of Object.keys(consumer.handlers)) byType.set(type, [...(byType.get(type) ?? []), consumer.name]);
  }
  return byType;
}

/** eventId → consumer → outcome, from the inbox, parked deliveries and failed deliveries. */
async function deliveryOutcomes(db: Kysely<DeliveryTables>, eventIds: string[]): Promise<Map<string, Map<string, Outcome>>> {
  const result = new Map<string, Map<string, Outcome>>();
  const put = (eventId: string, outcome: Outcome) => {
    const byConsumer = result.get(eventId) ?? new Map<string, Outcome>();
    byConsumer.set(outcome.consumer, outcome);
    result.set(eventId, byConsumer);
  };
  for (let i = 0; i < eventIds.length; i += IN_CHUNK) {
    const ids = eventIds.slice(i, i + IN_CHUNK);
    const [inbox, parked, failed] = await Promise.all([
      db.selectFrom('inbox').select(['consumer', 'event_id', 'outcome', 'attempts']).where('event_id', 'in', ids).execute(),
      db.selectFrom('parked_deliveries').select(['consumer', 'event_id']).where('event_id', 'in', ids).execute(),
      db.selectFrom('failed_deliveries').select(['consumer', 'event_id', 'status', 'attempts', 'last_error']).where('event_id', 'in', ids).execute(),
    ]);
    // Later writes win: inbox, then parked, then failures.
    for (const row of inbox) {
      put(row.event_id, { consumer: row.consumer, outcome: row.outcome === 'discarded' ? 'discarded' : 'handled', attempts: Number(row.attempts) });
    }
    for (const row of parked) put(row.event_id, { consumer: row.consumer, outcome: 'parked', attempts: 0 });
    for (const row of failed) {
      const outcome = row.status === 'dead' ? 'dead-lettered' : row.status === 'discarded' ? 'discarded' : 'retrying';
      put(row.event_id, { consumer: row.consumer, outcome, attempts: Number(row.attempts), error: row.last_error });
    }
  }
  return result;
}
