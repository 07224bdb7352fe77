import type { EventEnvelope } from '../kernel/envelope.js';
import type { OrderView } from '../modules/orders/index.js';
import type { Engine } from '../platform/engine.js';
import type { AuditResponse } from './schemas/orders.js';
import { flowEvents } from './timeline.js';

type Entry = AuditResponse['entries'][number];

/**
 * Who did what to an order, and when: every event of its flow in log order, with the actor
 * its command recorded (an API caller, with address and user agent) or, for what orderflow's
 * consumers and timers did, the system (`system:<module>`, no address). The reason is the one
 * the command gave, else the one the event states (a failed payment's, a cancellation's).
 */
export async function orderAudit(engine: Engine, order: OrderView): Promise<AuditResponse> {
  const events = await flowEvents(engine, order.correlationId);
  return { entries: events.map(auditEntry) };
}

export function auditEntry(event: EventEnvelope): Entry {
  const payload = event.payload as { reason?: unknown; changes?: unknown };
  const reason = event.metadata?.reason ?? (typeof payload.reason === 'string' ? payload.reason : undefined);
  const changes = typeof payload.changes === 'object' && payload.changes !== null ? (payload.changes as Record<string, unknown>) : undefined;
  return {
    at: event.occurredAt,
    action: event.eventType,
    actor: event.metadata?.actor ?? { sub: `system:${event.source}`, role: 'system' },
    ...(changes ? { changes } : {}),
    ...(reason === undefined ? {} : { reason }),
    eventId: event.eventId,
  };
}
