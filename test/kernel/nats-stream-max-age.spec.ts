import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import type { Kysely } from 'kysely';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createEngine, type Engine } from '../../src/platform/engine.js';
import type { Storage } from '../../src/platform/storage/database.js';
import { createScratchDatabase, type ScratchDatabase } from '../support/databases.js';
import { counterEvent, createTestModule, eventually, testSchemas, type TestTables } from '../support/kernel-test-module.js';
import { createScratchStream, natsAvailable, natsUrl, type ScratchStream } from '../support/transports.js';

const MAX_AGE_MS = 1000;

/** How many messages the stream holds now, how many it ever received, and its configured max age (ms). */
async function streamState(stream: string): Promise<{ messages: number; published: number; maxAgeMs: number }> {
  const nc = await connect({ servers: natsUrl, timeout: 5000 });
  try {
    const info = await (await jetstreamManager(nc)).streams.info(stream);
    return { messages: info.state.messages, published: info.state.last_seq, maxAgeMs: info.config.max_age / 1_000_000 };
  } finally {
    await nc.close();
  }
}

describe.skipIf(!natsAvailable)('NATS_STREAM_MAX_AGE: the stream forgets, the consumers do not', () => {
  let scratch: ScratchDatabase;
  let stream: ScratchStream;
  let storage: Storage;
  const engines: Engine[] = [];
  beforeEach(async () => {
    scratch = await createScratchDatabase('postgres');
    storage = await scratch.open();
    stream = createScratchStream();
  });
  afterEach(async () => {
    for (const engine of engines.splice(0)) await engine.stop();
    await storage.close();
    await scratch.drop();
    await stream.drop();
  });

  /** An engine on the scratch database and stream; without consumers it only relays. */
  function engine(consumers: boolean): Engine {
    const module = createTestModule();
    const built = createEngine({
      storage,
      modules: [consumers ? module : { ...module, consumers: [] }],
      schemas: testSchemas,
      pollMs: 50,
      transport: stream.transport({ streamMaxAgeMs: MAX_AGE_MS }),
    });
    engines.push(built);
    return built;
  }

  it('a stream made without a maximum age gets the one configured at the next start', async () => {
    const unbounded = createEngine({ storage, modules: [createTestModule()], schemas: testSchemas, transport: stream.transport() });
    engines.push(unbounded);
    await unbounded.migrate();
    await unbounded.start();
    expect(await streamState(stream.stream)).toMatchObject({ maxAgeMs: 0 });
    await unbounded.stop();
    await engine(true).start();
    expect(await streamState(stream.stream)).toMatchObject({ maxAgeMs: MAX_AGE_MS });
  });

  it('a consumer started after the events aged out of the stream still receives every event, in order, once', async () => {
    const producer = engine(false);
    await producer.migrate();
    await producer.start();
    const aggregates = ['a', 'b', 'c'];
    for (let round = 1; round <= 10; round++) {
      await producer.unitOfWork.run('test', async (tx) => {
        for (const aggregate of aggregates) tx.emit(counterEvent(aggregate, round));
      });
    }
    const db = storage.db as Kysely<TestTables>;
    await eventually(async () => (await streamState(stream.stream)).published === 30, 'every event to be published to the stream');
    expect(await streamState(stream.stream)).toMatchObject({ maxAgeMs: MAX_AGE_MS });
    // The broker drops them once they are older than the maximum age: no consumer has read one.
    await eventually(async () => (await streamState(stream.stream)).messages === 0, 'the stream to drop the aged messages', 30_000);

    // Now the consumer starts, with the stream empty.
    const consumer = engine(true);
    await consumer.start();
    await eventually(async () => (await db.selectFrom('test_effects').select('id').execute()).length === 30, 'the 30 aged-out events, from the log');
    // And what is published from now on comes through the broker as usual.
    await producer.unitOfWork.run('test', async (tx) => {
      for (const aggregate of aggregates) tx.emit(counterEvent(aggregate, 100));
    });
    await eventually(async () => (await db.selectFrom('test_effects').select('id').execute()).length === 33, 'the live events');

    const effects = await db.selectFrom('test_effects').selectAll().orderBy('id').execute();
    expect(new Set(effects.map((e) => e.event_id)).size).toBe(33);
    for (const aggregate of aggregates) {
      const mine = effects.filter((e) => e.aggregate_id === aggregate);
      expect(mine.map((e) => e.amount)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 100]);
    }
    const totals = await db.selectFrom('test_totals').selectAll().orderBy('aggregate_id').execute();
    expect(totals).toEqual(aggregates.map((aggregate) => ({ aggregate_id: aggregate, total: 155, handled: 11 })));
  });
});
