// TEST-ONLY. Injected handler failures for the fault campaign (chaos/, docs/reliability.md).
// Nothing here runs unless ORDERFLOW_FAULTS is set: without it `injectHandlerFaults` returns
// the modules it was given, untouched.
import type { EventEnvelope } from '../../kernel/envelope.js';
import type { EngineModule } from '../engine.js';
import type { Consumer, EventHandler, HandlerContext } from './consumer.js';

/** `ORDERFLOW_FAULTS=<seed>:<rate>[:<untilEpochMs>]`, parsed by config.ts. */
export interface HandlerFaults {
  seed: number;
  /** Share of (consumer, event) pairs whose handler fails, 0..1. */
  rate: number;
  /** Wall-clock time (epoch ms) after which nothing fails any more: the operator's fix is deployed. */
  untilMs?: number;
}

/** FNV-1a over the seed, the consumer and the event: the same pair always gets the same fate. */
function hash(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

/**
 * How an event's handler fails: not at all, or on its first `failures` attempts (1..5; 4 or
 * more outlast the default 3 retries and dead-letter it), before or after the handler's own
 * writes (those must be rolled back with it).
 */
export function faultOf(faults: HandlerFaults, consumer: string, eventId: string): { failures: number; afterWrites: boolean } | undefined {
  const h = hash(`${faults.seed}:${consumer}:${eventId}`);
  if ((h % 1_000_000) / 1_000_000 >= faults.rate) return undefined;
  const h2 = hash(`${h}`);
  return { failures: 1 + (h2 % 5), afterWrites: (h2 >>> 8) % 2 === 1 };
}

function failing(faults: HandlerFaults, consumer: string, event: EventEnvelope, attempt: number) {
  if (faults.untilMs !== undefined && Date.now() >= faults.untilMs) return undefined;
  const fault = faultOf(faults, consumer, event.eventId);
  return fault && attempt <= fault.failures ? fault : undefined;
}

const injected = (consumer: string, event: EventEnvelope, attempt: number) =>
  new Error(`injected fault (ORDERFLOW_FAULTS): ${consumer} ${event.eventType} ${event.eventId} attempt ${attempt}`);

function wrapConsumer(faults: HandlerFaults, consumer: Consumer): Consumer {
  const handlers: Record<string, EventHandler> = {};
  for (const [type, handler] of Object.entries(consumer.handlers)) {
    handlers[type] = async (event, ctx) => {
      const fault = failing(faults, consumer.name, event, ctx.attempt);
      if (fault && !fault.afterWrites) throw injected(consumer.name, event, ctx.attempt);
      await handler(event, ctx);
      if (fault) throw injected(consumer.name, event, ctx.attempt);
    };
  }
  const batch = consumer.handleBatch;
  const handleBatch = batch
    ? async (events: readonly EventEnvelope[], ctx: HandlerContext) => {
        // A failing event sends the batch to the careful path, where `handlers` pin it.
        const fault = events.find((e) => failing(faults, consumer.name, e, 1));
        if (fault) throw injected(consumer.name, fault, 1);
        await batch(events, ctx);
      }
    : undefined;
  return { ...consumer, handlers, ...(handleBatch ? { handleBatch } : {}) };
}

/** The modules with every consumer's handlers wrapped to fail as `faults` says; the modules as given when `faults` is undefined. */
export function injectHandlerFaults(modules: readonly EngineModule[], faults: HandlerFaults | undefined): readonly EngineModule[] {
  if (!faults || faults.rate <= 0) return modules;
  return modules.map((m) => ({ ...m, consumers: m.consumers.map((c) => wrapConsumer(faults, c)) }));
}
