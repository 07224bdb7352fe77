import type { Logger } from 'pino';

/**
 * Tracing, as the engine sees it: spans it starts and ends, and the W3C trace context it
 * writes into an event's metadata so that the span handling the event is a child of the span
 * that appended it — in this process or another. Off by default: `tracingOff` does nothing
 * and nothing of OpenTelemetry is loaded. With `OTEL_EXPORTER_OTLP_ENDPOINT` (or
 * `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`) set, `startTracing` loads the OpenTelemetry SDK
 * (./opentelemetry.ts) and exports spans with the official OTLP/HTTP exporter.
 */

export type SpanKindName = 'server' | 'client' | 'producer' | 'consumer' | 'internal';
export type SpanAttributes = Record<string, string | number | boolean | undefined>;

/** A span in progress. */
export interface TraceSpan {
  /** The W3C `traceparent` of this span (what an event it causes carries in its metadata). */
  readonly traceparent: string | undefined;
  setAttributes(attributes: SpanAttributes): void;
  updateName(name: string): void;
  /** Marks the span failed (status ERROR) and records the error. */
  fail(error: unknown): void;
  end(): void;
}

export interface SpanOptions {
  kind?: SpanKindName;
  /**
   * The parent: a `traceparent` (an event's metadata, a message header); `null` for a new
   * trace; undefined for the span active where the call is made.
   */
  parent?: string | null | undefined;
  attributes?: SpanAttributes;
  /** Spans this one relates to without being their child (a batch and the events in it). */
  links?: readonly (string | undefined)[];
}

export interface Tracing {
  /** False when tracing is off: callers skip the work of naming spans. */
  readonly enabled: boolean;
  startSpan(name: string, options?: SpanOptions): TraceSpan;
  /** Runs `body` with `span` active: spans started and lines logged inside are its children. */
  withSpan<T>(span: TraceSpan, body: () => T): T;
  /**
   * Runs `body` as if the span of `traceparent` (made in another thread or process) were active
   * here: spans started inside are its children. Undefined: `body` as it is.
   */
  withParent<T>(traceparent: string | undefined, body: () => T): T;
  /** The `traceparent` of the span active here, if any. */
  activeTraceparent(): string | undefined;
  /** `traceId` and `spanId` of the span active here, for log lines (pino's mixin). */
  logFields(): { traceId?: string; spanId?: string };
  /** Exports what is buffered and stops; never fails (a failed export is logged). */
  shutdown(): Promise<void>;
}

const NO_SPAN: TraceSpan = Object.freeze({
  traceparent: undefined,
  setAttributes() {},
  updateName() {},
  fail() {},
  end() {},
});

/** Tracing off: every call does nothing. */
export const tracingOff: Tracing = Object.freeze({
  enabled: false,
  startSpan: () => NO_SPAN,
  withSpan: <T>(_span: TraceSpan, body: () => T) => body(),
  withParent: <T>(_traceparent: string | undefined, body: () => T) => body(),
  activeTraceparent: () => undefined,
  logFields: () => ({}),
  shutdown: () => Promise.resolve(),
});

/** Whether the standard variables ask for traces: an OTLP endpoint, and neither the SDK nor the exporter disabled. */
export function tracingRequested(env: Readonly<Record<string, string | undefined>>): boolean {
  const endpoint = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT || env.OTEL_EXPORTER_OTLP_ENDPOINT;
  if (!endpoint) return false;
  if ((env.OTEL_SDK_DISABLED ?? '').trim().toLowerCase() === 'true') return false;
  const exporters = (env.OTEL_TRACES_EXPORTER ?? 'otlp').split(',').map((e) => e.trim().toLowerCase());
  return !exporters.includes('none');
}

export interface TracingOptions {
  /** `service.name` when OTEL_SERVICE_NAME does not say (default `orderflow`). */
  serviceName?: string;
  /** More resource attributes (the modules this process runs). */
  attributes?: Record<string, string>;
  /** Where the SDK's warnings and errors go (an unreachable collector, spans dropped). */
  logger?: Logger;
}

/**
 * Tracing as the configuration asks for it (`config.tracing`, from the standard variables):
 * off, with nothing of OpenTelemetry loaded, or the OpenTelemetry SDK with the OTLP/HTTP exporter.
 */
export async function startTracing(enabled: boolean, options: TracingOptions = {}): Promise<Tracing> {
  if (!enabled) return tracingOff;
  const { createOpenTelemetryTracing } = await import('./opentelemetry.js');
  return createOpenTelemetryTracing(options);
}

/** The trace id of a W3C `traceparent` (`00-<trace id>-<span id>-<flags>`), if it is one. */
export function traceIdOf(traceparent: string | undefined): string | undefined {
  const match = traceparent ? /^[\da-f]{2}-([\da-f]{32})-[\da-f]{16}-[\da-f]{2}$/.exec(traceparent) : null;
  return match ? match[1] : undefined;
}

/**
 * pino options that put the active span's `traceId` and `spanId` on every line, when tracing
 * is on (`enabled`); `tracing` is read at each line, so the logger can be made before the
 * tracing it reports (which logs through it).
 */
export function traceLogOptions(enabled: boolean, tracing: () => Tracing): { mixin?: () => object } {
  return enabled ? { mixin: () => tracing().logFields() } : {};
}
