import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { descendsFrom, startOtlpReceiver, type OtlpReceiver } from '../support/otlp-receiver.js';
import { spawnCli, type RunningCli } from './cli.js';

const recorder = fileURLToPath(new URL('../fixtures/record-imports.mjs', import.meta.url));

interface Run {
  server: RunningCli;
  url: string;
  adminToken: string;
  customerToken: string;
  orderBody: unknown;
  /** "<thread> <url>" of every module the process resolved, main thread and delivery thread. */
  imports(): string[];
}

/** `orderflow start` in the embedded mode, as a user runs it, with every import it resolves recorded. */
async function start(dir: string, env: Record<string, string>): Promise<Run> {
  const importsFile = join(dir, 'imports.txt');
  const server = spawnCli(['start'], {
    DATABASE_URL: `sqlite:${join(dir, 'orderflow.db')}`,
    PORT: '0',
    LOG_LEVEL: 'info',
    NODE_OPTIONS: `--import ${recorder}`,
    RECORD_IMPORTS: importsFile,
    ...env,
  });
  await server.waitFor(/curl -s http:\/\/localhost:\d+\/orders\/\$ORDER_ID/);
  const out = server.stdout();
  return {
    server,
    url: out.match(/orderflow is running at (http:\/\/localhost:\d+)/)![1]!,
    adminToken: out.match(/export ADMIN_TOKEN=(\S+)/)![1]!,
    customerToken: out.match(/export CUSTOMER_TOKEN=(\S+)/)![1]!,
    orderBody: JSON.parse(out.match(/-d '(\{.*\})'/)![1]!),
    imports: () => readFileSync(importsFile, 'utf8').split('\n').filter(Boolean),
  };
}

async function json(url: string, token: string, init: RequestInit = {}): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(url, { ...init, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', ...init.headers } });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

/** Places the banner's order and waits until it is SHIPPED; returns its id. */
async function placeAndShip(run: Run): Promise<string> {
  const placed = await json(`${run.url}/orders`, run.customerToken, { method: 'POST', body: JSON.stringify(run.orderBody) });
  expect(placed.status).toBe(201);
  const orderId = placed.body.orderId as string;
  for (let i = 0; i < 200; i++) {
    if ((await json(`${run.url}/orders/${orderId}`, run.adminToken)).body.status === 'SHIPPED') return orderId;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`order ${orderId} was not SHIPPED within 20 s`);
}

describe('tracing in the embedded mode (issue 13)', () => {
  let dir: string;
  let receiver: OtlpReceiver | undefined;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'orderflow-tracing-'));
  });
  afterEach(async () => {
    await receiver?.close();
    receiver = undefined;
    rmSync(dir, { recursive: true, force: true });
  });

  it('off by default: neither the request thread nor the delivery thread loads any OpenTelemetry module, and events carry no trace context (acceptance 2)', async () => {
    const run = await start(dir, {});
    const orderId = await placeAndShip(run);
    const events = await json(`${run.url}/api/events?aggregateId=${orderId}`, run.adminToken);
    const timeline = await json(`${run.url}/orders/${orderId}/timeline`, run.adminToken);
    expect(await run.server.stop('SIGTERM')).toBe(0);

    const imports = run.imports();
    // The recorder saw both threads load orderflow: what it did not see was not loaded.
    expect(imports.some((line) => line.startsWith('main ') && line.includes('/dist/main.js'))).toBe(true);
    expect(imports.some((line) => line.startsWith('worker-') && line.includes('/dist/embedded/delivery-worker.js'))).toBe(true);
    expect(imports.filter((line) => line.includes('@opentelemetry'))).toEqual([]);
    // No trace context in any event; the placement records its actor (the audit trail), nothing else does.
    const metadata = (events.body.events as { eventType: string; metadata?: Record<string, unknown> }[]).filter((e) => e.metadata !== undefined);
    expect(metadata.map((e) => [e.eventType, Object.keys(e.metadata!)])).toEqual([['OrderPlaced', ['actor']]]);
    expect(timeline.body.trace).toBeNull();
    expect(run.server.stdout()).not.toMatch(/"traceId"/);
  }, 60_000);

  it('on with OTEL_EXPORTER_OTLP_ENDPOINT: one trace from the request through every handling in the delivery thread, trace ids in the log lines, the event API and the timeline (linked by OTEL_TRACE_URL)', async () => {
    receiver = await startOtlpReceiver();
    const run = await start(dir, {
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
      OTEL_SERVICE_NAME: 'shop-orders',
      OTEL_BSP_SCHEDULE_DELAY: '100',
      OTEL_TRACE_URL: 'http://localhost:16686/trace/{traceId}',
    });
    const orderId = await placeAndShip(run);
    const events = (await json(`${run.url}/api/events?correlationId=${(await json(`${run.url}/orders/${orderId}`, run.adminToken)).body.correlationId as string}`, run.adminToken)).body
      .events as { eventType: string; metadata?: { traceparent?: string } }[];
    const timeline = (await json(`${run.url}/orders/${orderId}/timeline`, run.adminToken)).body as {
      trace: { traceId: string; url: string } | null;
      events: { eventId: string; eventType: string; consumers: { consumer: string; outcome: string }[] }[];
    };
    expect(await run.server.stop('SIGTERM')).toBe(0);

    expect(run.imports().some((line) => line.startsWith('worker-') && line.includes('@opentelemetry/sdk-trace-node'))).toBe(true);
    const spans = receiver.spans();
    const request = spans.find((s) => s.name === 'POST /orders' && s.attributes['orderflow.order_id'] === orderId)!;
    expect(request).toBeDefined();
    expect(request.resource['service.name']).toBe('shop-orders');
    expect(timeline.trace).toEqual({ traceId: request.traceId, url: `http://localhost:16686/trace/${request.traceId}` });

    // Every event of the flow carries the trace's context; every handling of it is in the trace.
    expect(events.map((e) => e.eventType)).toEqual(expect.arrayContaining(['OrderPlaced', 'OrderShipped']));
    for (const event of events) expect(event.metadata?.traceparent).toMatch(new RegExp(`^00-${request.traceId}-[\\da-f]{16}-01$`));
    const trace = spans.filter((s) => s.traceId === request.traceId);
    const handled = trace.filter((s) => s.name.startsWith('handle '));
    const handlings = timeline.events.flatMap((e) => e.consumers.filter((c) => c.outcome === 'handled').map((c) => ({ event: e, consumer: c.consumer })));
    expect(handlings.length).toBeGreaterThanOrEqual(7);
    for (const { event, consumer } of handlings) {
      expect(handled.some((s) => s.attributes['messaging.message.id'] === event.eventId && s.attributes['orderflow.consumer'] === consumer), `${consumer} handling ${event.eventType}`).toBe(true);
    }
    for (const span of trace) expect(span === request || descendsFrom(span, request, trace), span.name).toBe(true);
    // The handlings ran in the delivery thread, which exported them itself.
    expect(handled.every((s) => s.resource['thread.name'] === 'delivery')).toBe(true);

    // The request's log line names its trace and span.
    const line = run.server.stdout().split('\n').find((l) => l.includes('"msg":"request completed"') && l.includes(orderId) && l.includes('"method":"POST"'));
    expect(line).toContain(`"traceId":"${request.traceId}"`);
    expect(line).toContain(`"spanId":"${request.spanId}"`);
  }, 60_000);
});
