import { describe, expect, it } from 'vitest';
import { descendsFrom, startOtlpReceiver, type ReceivedSpan } from '../support/otlp-receiver.js';
import { natsAvailable } from '../support/transports.js';
import { adminToken, call, createCatalog, placeOrders, report, until } from './support.js';
import { splitDeploymentSuite } from './suite.js';

const SERVER = 2;
const PRODUCER = 4;
const ERROR = 2;

interface TimelineBody {
  trace: { traceId: string; url: string | null } | null;
  events: { eventId: string; eventType: string; consumers: { consumer: string; outcome: string; attempts: number }[] }[];
}

// In CI a missing NATS fails at the import of transports.ts, and a missing PostgreSQL in createScratchDatabase.
describe.skipIf(!natsAvailable)('OpenTelemetry traces across the split deployment (issue 13, acceptance 1)', () => {
  const suite = splitDeploymentSuite('tracing');

  it('one order is one trace: the request, the append of OrderPlaced and every handling through SHIPPED, parent to child across the processes; a failed handling is an error span and its retry another span of the trace', () =>
    suite.run(async () => {
      const receiver = await startOtlpReceiver();
      suite.afterStop(() => receiver.close());
      const deployment = await suite.start({
        env: { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_BSP_SCHEDULE_DELAY: '100', OTEL_TRACE_URL: 'https://traces.example/trace/{traceId}' },
        specs: [
          { name: 'http+orders', modules: 'http,orders' },
          { name: 'inventory', modules: 'inventory' },
          // Every handling of payments fails 1 to 5 times before it succeeds (7 attempts allowed).
          { name: 'payments', modules: 'payments', env: { ORDERFLOW_FAULTS: '7:1', DELIVERY_MAX_RETRIES: '7', DELIVERY_RETRY_BASE_MS: '20' } },
          { name: 'shipments', modules: 'shipments' },
        ],
      });
      const pids = deployment.members().map((m) => m.pid);
      await createCatalog(deployment.url);
      const { placed } = await placeOrders({ url: deployment.url, count: 1 }).done;
      const orderId = placed[0]!.orderId;
      await until(async () => (await call(deployment.url, 'GET', `/orders/${orderId}`, adminToken)).body.status === 'SHIPPED', 'the order to be SHIPPED', 60_000);
      let timeline: TimelineBody | undefined;
      await until(async () => {
        timeline = (await call(deployment.url, 'GET', `/orders/${orderId}/timeline`, adminToken)).body as unknown as TimelineBody;
        return timeline.events.some((e) => e.eventType === 'OrderShipped') && timeline.events.every((e) => e.consumers.every((c) => c.outcome === 'handled'));
      }, 'every event of the flow to be handled by every consumer', 60_000);
      const flow = timeline!;
      // Stopping flushes every process's spans to the receiver.
      const codes = await deployment.stop();
      expect(Object.values(codes).every((code) => code === 0), JSON.stringify(codes)).toBe(true);
      expect(receiver.rejected()).toEqual([]);

      // The request's server span is the root of the order's trace, and the console's link names it.
      const spans = receiver.spans();
      const request = spans.find((s) => s.kind === SERVER && s.name === 'POST /orders' && s.attributes['orderflow.order_id'] === orderId);
      expect(request, 'the span of POST /orders').toBeDefined();
      const trace = spans.filter((s) => s.traceId === request!.traceId);
      expect(flow.trace).toEqual({ traceId: request!.traceId, url: `https://traces.example/trace/${request!.traceId}` });
      expect(request!.parentSpanId).toBeUndefined();
      const describe = (s: ReceivedSpan) => `${s.name} [${s.attributes['orderflow.consumer'] ?? ''}] pid ${s.resource['process.pid']}`;
      const orphans = trace.filter((s) => s !== request && !descendsFrom(s, request!, trace));
      expect(orphans.map(describe), 'spans of the trace not connected to the request').toEqual([]);

      // The append of OrderPlaced is the request's child.
      const append = trace.find((s) => s.name === 'append OrderPlaced');
      expect(append?.parentSpanId).toBe(request!.spanId);

      // Every event of the flow, by every consumer that handled it: a successful span of handling,
      // child of the span that appended the event (the request's append for OrderPlaced, the
      // handling of its cause for the others).
      const handled = flow.events.flatMap((e) => e.consumers.map((c) => ({ event: e, consumer: c.consumer })));
      expect(flow.events.map((e) => e.eventType)).toEqual(expect.arrayContaining(['OrderPlaced', 'InventoryReserved', 'OrderConfirmed', 'PaymentProcessed', 'OrderPaid', 'ShipmentCreated', 'OrderShipped']));
      expect(handled.length).toBeGreaterThanOrEqual(7);
      const handlings = (eventId: string, consumer: string) => trace.filter((s) => s.attributes['messaging.message.id'] === eventId && s.attributes['orderflow.consumer'] === consumer);
      for (const { event, consumer } of handled) {
        const ok = handlings(event.eventId, consumer).filter((s) => s.status !== ERROR);
        expect(ok.length, `a span of ${consumer} handling ${event.eventType}`).toBeGreaterThanOrEqual(1);
        expect(ok[0]!.name).toBe(`handle ${event.eventType}`);
      }
      const placedHandling = trace.find((s) => s.name === 'handle OrderPlaced' && s.status !== ERROR)!;
      expect(placedHandling.parentSpanId).toBe(append!.spanId);
      const shipped = flow.events.find((e) => e.eventType === 'OrderShipped')!;
      expect(handlings(shipped.eventId, shipped.consumers[0]!.consumer)[0]).toBeDefined();

      // From four processes at least: the HTTP process, inventory, payments and shipments.
      const processes = new Set(trace.map((s) => Number(s.resource['process.pid'])));
      expect([...processes].filter((pid) => pids.includes(pid)).length).toBeGreaterThanOrEqual(4);

      // Payments failed first: error spans, then the retry that succeeded, all in this trace.
      const confirmed = flow.events.find((e) => e.eventType === 'OrderConfirmed')!;
      const payments = handlings(confirmed.eventId, 'payments');
      const failed = payments.filter((s) => s.status === ERROR);
      const succeeded = payments.filter((s) => s.status !== ERROR);
      expect(failed.length).toBeGreaterThanOrEqual(1);
      expect(failed[0]!.statusMessage).toMatch(/injected fault/);
      expect(failed[0]!.events.some((e) => e.name === 'exception')).toBe(true);
      expect(succeeded.length).toBeGreaterThanOrEqual(1);
      for (const span of succeeded) expect(Number(span.attributes['orderflow.attempt'])).toBeGreaterThanOrEqual(2);
      expect(new Set(payments.map((s) => s.parentSpanId)).size).toBe(1);
      expect(confirmed.consumers.find((c) => c.consumer === 'payments')!.attempts).toBeGreaterThanOrEqual(2);

      report('one order traced across the split deployment', {
        spansInTrace: trace.length,
        processes: processes.size,
        handlings: handled.length,
        paymentsSpansOfOrderConfirmed: { failed: failed.length, succeeded: succeeded.length },
        producerSpans: trace.filter((s) => s.kind === PRODUCER).length,
      });

      // The relay's publication to JetStream is a producer span of the event's trace.
      expect(trace.some((s) => s.kind === PRODUCER && s.attributes['messaging.system'] === 'nats' && s.attributes['orderflow.event_type'] === 'OrderPlaced')).toBe(true);
    }), 240_000);
});
