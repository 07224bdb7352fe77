/**
 * The OpenTelemetry side of `Tracing` (see tracing.ts), loaded only when tracing is on. The
 * SDK reads the standard variables itself: the exporter OTEL_EXPORTER_OTLP_*, the sampler
 * OTEL_TRACES_SAMPLER(_ARG), the batch processor OTEL_BSP_*, the resource OTEL_SERVICE_NAME
 * and OTEL_RESOURCE_ATTRIBUTES.
 */
import { hostname } from 'node:os';
import { context, diag, DiagLogLevel, propagation, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Context, type Link, type Span } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { defaultResource, detectResources, envDetector, resourceFromAttributes } from '@opentelemetry/resources';
import { BatchSpanProcessor, NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import type { SpanAttributes, SpanKindName, SpanOptions, TraceSpan, Tracing, TracingOptions } from './tracing.js';

const KINDS: Record<SpanKindName, SpanKind> = {
  server: SpanKind.SERVER,
  client: SpanKind.CLIENT,
  producer: SpanKind.PRODUCER,
  consumer: SpanKind.CONSUMER,
  internal: SpanKind.INTERNAL,
};

class OtelSpan implements TraceSpan {
  private carrier: string | undefined;
  constructor(readonly span: Span) {}
  get traceparent(): string | undefined {
    if (this.carrier === undefined) {
      const { traceId, spanId, traceFlags } = this.span.spanContext();
      this.carrier = `00-${traceId}-${spanId}-${traceFlags.toString(16).padStart(2, '0')}`;
    }
    return this.carrier;
  }
  setAttributes(attributes: SpanAttributes): void {
    this.span.setAttributes(defined(attributes));
  }
  updateName(name: string): void {
    this.span.updateName(name);
  }
  fail(error: unknown): void {
    const message = error instanceof Error ? error.message : String(error);
    this.span.recordException(error instanceof Error ? error : message);
    this.span.setStatus({ code: SpanStatusCode.ERROR, message });
  }
  end(): void {
    this.span.end();
  }
}

function defined(attributes: SpanAttributes | undefined): Record<string, string | number | boolean> {
  const out: Record<string, string | number | boolean> = {};
  for (const [key, value] of Object.entries(attributes ?? {})) if (value !== undefined) out[key] = value;
  return out;
}

/** The context a `traceparent` names (ROOT_CONTEXT when it names none). */
function contextOf(traceparent: string | undefined): Context {
  return traceparent ? propagation.extract(ROOT_CONTEXT, { traceparent }) : ROOT_CONTEXT;
}

export function createOpenTelemetryTracing(options: TracingOptions): Tracing {
  const logger = options.logger?.child({ component: 'tracing' });
  if (logger) {
    // The SDK's own complaints (a collector that does not answer, a full queue) as warnings.
    const warn = (message: string, ...args: unknown[]) => logger.warn({ detail: args.map((a) => (a instanceof Error ? a.message : a)) }, `OpenTelemetry: ${message}`);
    diag.setLogger({ error: warn, warn, info: () => {}, debug: () => {}, verbose: () => {} }, { logLevel: DiagLogLevel.WARN, suppressOverrideMessage: true });
  }
  const resource = defaultResource()
    .merge(
      resourceFromAttributes({
        'service.name': options.serviceName ?? 'orderflow',
        'service.instance.id': `${hostname()}:${process.pid}`,
        'process.pid': process.pid,
        ...options.attributes,
      }),
    )
    // OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES win.
    .merge(detectResources({ detectors: [envDetector] }));
  const provider = new NodeTracerProvider({ resource, spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter())] });
  // The AsyncLocalStorage context manager and the W3C trace-context propagator.
  provider.register();
  const tracer = provider.getTracer('orderflow');

  return {
    enabled: true,

    startSpan(name: string, options: SpanOptions = {}): TraceSpan {
      const parent = options.parent === undefined ? context.active() : contextOf(options.parent ?? undefined);
      const links: Link[] = [];
      for (const link of options.links ?? []) {
        const linked = link ? trace.getSpanContext(contextOf(link)) : undefined;
        if (linked) links.push({ context: linked });
      }
      const span = tracer.startSpan(name, { kind: KINDS[options.kind ?? 'internal'], attributes: defined(options.attributes), links }, parent);
      return new OtelSpan(span);
    },

    withSpan<T>(span: TraceSpan, body: () => T): T {
      if (!(span instanceof OtelSpan)) return body();
      return context.with(trace.setSpan(context.active(), span.span), body);
    },

    withParent<T>(traceparent: string | undefined, body: () => T): T {
      return traceparent === undefined ? body() : context.with(contextOf(traceparent), body);
    },

    activeTraceparent() {
      const span = trace.getActiveSpan();
      return span ? new OtelSpan(span).traceparent : undefined;
    },

    logFields() {
      const span = trace.getActiveSpan();
      if (!span) return {};
      const { traceId, spanId } = span.spanContext();
      return { traceId, spanId };
    },

    shutdown: () =>
      provider.shutdown().catch((error: unknown) => {
        logger?.warn({ err: error }, 'exporting the last spans failed; they are lost');
      }),
  };
}
