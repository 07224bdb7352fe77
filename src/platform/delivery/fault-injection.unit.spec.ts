import { describe, expect, it } from 'vitest';
import type { EventEnvelope } from '../../kernel/envelope.js';
import type { EngineModule } from '../engine.js';
import type { HandlerContext } from './consumer.js';
import { faultOf, injectHandlerFaults } from './fault-injection.js';

const event = (eventId: string) => ({ eventId, eventType: 'Thing' }) as EventEnvelope;
const context = (attempt: number) => ({ attempt }) as HandlerContext;

function moduleWith(handled: string[]): EngineModule {
  return { name: 'm', migrations: [], consumers: [{ name: 'm.c', source: 'm', handlers: { Thing: async (e: EventEnvelope) => void handled.push(e.eventId) } }] };
}

describe('injected handler faults (test only)', () => {
  it('leave the modules untouched when ORDERFLOW_FAULTS is unset or its rate is 0', () => {
    const modules = [moduleWith([])];
    expect(injectHandlerFaults(modules, undefined)).toBe(modules);
    expect(injectHandlerFaults(modules, { seed: 1, rate: 0 })).toBe(modules);
  });

  it('fail about `rate` of the events, the same ones for the same seed, each on its first 1..5 attempts', () => {
    const ids = Array.from({ length: 10_000 }, (_, i) => `event-${i}`);
    const fates = ids.map((id) => faultOf({ seed: 3, rate: 0.1 }, 'm.c', id));
    const failing = fates.filter(Boolean).length;
    expect(failing).toBeGreaterThan(800);
    expect(failing).toBeLessThan(1200);
    expect(ids.map((id) => faultOf({ seed: 3, rate: 0.1 }, 'm.c', id))).toEqual(fates);
    expect(new Set(fates.flatMap((f) => (f ? [f.failures] : [])))).toEqual(new Set([1, 2, 3, 4, 5]));
  });

  it('throw on the failing attempts, before or after the handler ran, and stop at the deadline', async () => {
    const handled: string[] = [];
    const faults = { seed: 9, rate: 0.5 };
    const handler = injectHandlerFaults([moduleWith(handled)], faults)[0]!.consumers[0]!.handlers.Thing!;
    const id = Array.from({ length: 100 }, (_, i) => `e-${i}`).find((i) => faultOf(faults, 'm.c', i)?.failures === 2)!;
    await expect(handler(event(id), context(1))).rejects.toThrow(/injected fault/);
    await expect(handler(event(id), context(2))).rejects.toThrow(/injected fault/);
    await handler(event(id), context(3));
    expect(handled.filter((h) => h === id).length).toBe(faultOf(faults, 'm.c', id)!.afterWrites ? 3 : 1);
    const past = injectHandlerFaults([moduleWith(handled)], { ...faults, untilMs: Date.now() - 1 })[0]!.consumers[0]!.handlers.Thing!;
    await past(event(id), context(1));
  });
});
