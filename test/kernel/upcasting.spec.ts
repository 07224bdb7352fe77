import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { EventDraft } from '../../src/kernel/envelope.js';
import { defineConsumer } from '../../src/platform/delivery/consumer.js';
import { createEngine, type Engine, type EngineModule } from '../../src/platform/engine.js';
import type { Storage } from '../../src/platform/storage/database.js';
import { createScratchDatabase, type ScratchDatabase } from '../support/databases.js';
import { eventually } from '../support/kernel-test-module.js';
import { createScratchStream, kernelSetups, type ScratchStream } from '../support/transports.js';

/** What the consumer's handler was given, per attempt. */
interface Seen {
  eventId: string;
  version: number;
  itemCount: unknown;
  attempt: number;
}

const address = { street: '1 Main St', city: 'Springfield', postalCode: '12345', country: 'US' };

/** OrderPlaced as the release before version 2 wrote it: version 1, no `itemCount`. */
function orderPlacedV1(orderId: string, quantities: number[]): EventDraft {
  const items = quantities.map((quantity, i) => ({ productId: `p${i}`, quantity, unitPrice: 100 }));
  return {
    eventType: 'OrderPlaced',
    version: 1,
    aggregateType: 'Order',
    aggregateId: orderId,
    correlationId: `flow-${orderId}`,
    payload: { orderId, orderNumber: `ORD-${orderId}`, customerId: 'c-1', items, totalAmount: 100 * quantities.reduce((a, b) => a + b, 0), currency: 'USD', shippingAddress: address },
  };
}

/** OrderPlaced as today's code writes it: no version given, so the current one, with `itemCount`. */
function orderPlacedNow(orderId: string, quantities: number[]): EventDraft {
  const { version: _old, ...draft } = orderPlacedV1(orderId, quantities);
  return { ...draft, payload: { ...draft.payload, itemCount: quantities.reduce((a, b) => a + b, 0) } };
}

describe.each(kernelSetups)('versioned events on $name: the log keeps what was written, consumers read the current version', (setup) => {
  let scratch: ScratchDatabase;
  let storage: Storage;
  let stream: ScratchStream | undefined;
  let engine: Engine;
  let seen: Seen[];
  let failFirstAttempt: Set<string>;

  beforeEach(async () => {
    seen = [];
    failFirstAttempt = new Set();
    scratch = await createScratchDatabase(setup.dialect);
    storage = await scratch.open();
    stream = setup.transport === 'nats' ? createScratchStream() : undefined;
    const reader = defineConsumer({
      name: 'upcast.reader',
      source: 'upcast',
      handlers: {
        async OrderPlaced(event, ctx) {
          seen.push({ eventId: event.eventId, version: event.version, itemCount: event.payload.itemCount, attempt: ctx.attempt });
          if (failFirstAttempt.has(event.aggregateId) && ctx.attempt === 1) throw new Error('failing the first attempt');
        },
      },
    });
    const module: EngineModule = { name: 'upcast', consumers: [reader], migrations: [] };
    engine = createEngine({ storage, modules: [module], pollMs: 20, retry: { maxRetries: 3, baseDelayMs: 20, maxDelayMs: 200 }, ...(stream ? { transport: stream.transport() } : {}) });
    await engine.migrate();
    await engine.start();
  });
  afterEach(async () => {
    await engine?.stop();
    await storage?.close();
    await scratch?.drop();
    await stream?.drop();
  });

  const append = (draft: EventDraft) => engine.unitOfWork.run('upcast', async (tx) => tx.emit(draft));

  it('a version-1 event reaches the consumer as version 2, its new field made by the upcaster; new events are written as version 2; the log shows each as stored', async () => {
    const old = await append(orderPlacedV1('order-old', [2, 3]));
    const current = await append(orderPlacedNow('order-new', [4]));
    expect(current.version).toBe(2);
    await eventually(async () => seen.length === 2, 'both events handled');

    // Two aggregates: the transport keeps order within each, not between them, so compare as a set.
    const byEventId = (a: Seen, b: Seen) => a.eventId.localeCompare(b.eventId);
    expect([...seen].sort(byEventId)).toEqual(
      [
        { eventId: old.eventId, version: 2, itemCount: 5, attempt: 1 },
        { eventId: current.eventId, version: 2, itemCount: 4, attempt: 1 },
      ].sort(byEventId),
    );
    const stored = (await engine.log.query({ eventType: 'OrderPlaced' })).events;
    expect(stored.map((e) => [e.eventId, e.version, 'itemCount' in e.payload])).toEqual([
      [old.eventId, 1, false],
      [current.eventId, 2, true],
    ]);
  });

  it('a retried delivery of a version-1 event is upcast as well (the path that runs one event under a savepoint)', async () => {
    failFirstAttempt.add('order-retried');
    const old = await append(orderPlacedV1('order-retried', [1, 1, 1]));
    await eventually(async () => seen.some((s) => s.attempt === 2), 'the retry');
    // The first attempt runs in the batch, fails, and runs again alone; the retry comes from its timer.
    const runs = seen.filter((s) => s.eventId === old.eventId);
    expect(runs.map((s) => s.attempt)).toEqual([1, 1, 2]);
    for (const run of runs) expect(run).toMatchObject({ version: 2, itemCount: 3 });
  });
});
