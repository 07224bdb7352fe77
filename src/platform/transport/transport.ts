import type { EventEnvelope } from '../../kernel/envelope.js';

/** The health of one dependency, as `/health/ready` reports it. */
export interface DependencyHealth {
  ok: boolean;
  detail?: string;
}

/**
 * Moves committed events from the log to the consumers of this process. The in-process
 * adapter reads the log directly; the NATS adapter relays the log to JetStream and consumes
 * from there. Either way the dispatcher applies each event exactly once.
 */
export interface Transport {
  readonly name: string;
  start(): Promise<void>;
  /** Tells the transport that a transaction just committed these events. */
  notify(appended: readonly EventEnvelope[]): void;
  /** Stops taking new work and waits for in-flight batches to commit. */
  stop(): Promise<void>;
  health(): Promise<DependencyHealth>;
}
