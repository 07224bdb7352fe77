import { Type } from '@sinclair/typebox';
import { sql, type Generated } from 'kysely';
import { eventVersions } from '../../src/kernel/catalog.js';
import type { EventDraft } from '../../src/kernel/envelope.js';
import { createEventSchemas } from '../../src/kernel/event-schemas.js';
import { defineConsumer } from '../../src/platform/delivery/consumer.js';
import type { EngineModule } from '../../src/platform/engine.js';

/** Events of the kernel contract suite, beside the product catalog. */
export const testSchemas = createEventSchemas({
  ...eventVersions,
  CounterIncremented: { 1: Type.Object({ amount: Type.Integer() }) },
  ChainStep: { 1: Type.Object({ step: Type.Integer({ minimum: 0 }) }) },
});

export interface TestTables {
  /** `id` numbers effects in the order handlers inserted them (heap order is not that order on PostgreSQL). */
  test_effects: { id: Generated<number>; consumer: string; aggregate_id: string; sequence: number; event_id: string; amount: number };
  test_totals: { aggregate_id: string; total: number; handled: number };
  test_fired: { key: string; fired_at: number };
}

/** Controls a test wants over the handlers while they run. */
export interface TestControls {
  /** Throws inside the handler for these aggregates. */
  failFor: Set<string>;
  /** Emits the next ChainStep until this step (the one-handler chain). */
  chainUntil: number;
}

export function counterEvent(aggregateId: string, amount: number): EventDraft {
  return { eventType: 'CounterIncremented', aggregateType: 'Product', aggregateId, payload: { amount } };
}

/**
 * A module whose consumer keeps a running total per aggregate (not idempotent by itself:
 * a duplicate that got through would count twice) and records every effect in order.
 */
export function createTestModule(controls: TestControls = { failFor: new Set(), chainUntil: 0 }): EngineModule {
  const consumer = defineConsumer<TestTables>({
    name: 'test.counter',
    source: 'test',
    handlers: {
      async CounterIncremented(event, ctx) {
        if (controls.failFor.has(event.aggregateId)) throw new Error(`boom for ${event.aggregateId}`);
        const amount = (event.payload as { amount: number }).amount;
        await ctx.db
          .insertInto('test_effects')
          .values({ consumer: 'test.counter', aggregate_id: event.aggregateId, sequence: event.sequence ?? 0, event_id: event.eventId, amount })
          .execute();
        await ctx.db
          .insertInto('test_totals')
          .values({ aggregate_id: event.aggregateId, total: amount, handled: 1 })
          .onConflict((oc) =>
            oc.column('aggregate_id').doUpdateSet({ total: sql`test_totals.total + ${amount}`, handled: sql`test_totals.handled + 1` }),
          )
          .execute();
      },
      async ChainStep(event, ctx) {
        const step = (event.payload as { step: number }).step;
        if (step < controls.chainUntil) {
          ctx.emit({ eventType: 'ChainStep', aggregateType: 'Product', aggregateId: event.aggregateId, payload: { step: step + 1 } });
        }
      },
    },
  });
  return {
    name: 'test',
    consumers: [consumer],
    migrations: [
      {
        name: 'test/0001-tables',
        async up(db, dialect) {
          await db.schema
            .createTable('test_effects')
            .addColumn('id', dialect === 'sqlite' ? 'integer' : 'bigserial', (c) => (dialect === 'sqlite' ? c.primaryKey().autoIncrement() : c.primaryKey()))
            .addColumn('consumer', 'text', (c) => c.notNull())
            .addColumn('aggregate_id', 'text', (c) => c.notNull())
            .addColumn('sequence', 'bigint', (c) => c.notNull())
            .addColumn('event_id', 'text', (c) => c.notNull())
            .addColumn('amount', 'integer', (c) => c.notNull())
            .execute();
          await db.schema
            .createTable('test_totals')
            .addColumn('aggregate_id', 'text', (c) => c.primaryKey())
            .addColumn('total', 'integer', (c) => c.notNull())
            .addColumn('handled', 'integer', (c) => c.notNull())
            .execute();
          await db.schema
            .createTable('test_fired')
            .addColumn('key', 'text', (c) => c.notNull())
            .addColumn('fired_at', 'bigint', (c) => c.notNull())
            .execute();
        },
      },
    ],
    timers: {
      async 'test.fire'(timer, tx) {
        await tx.db.insertInto('test_fired').values({ key: timer.key, fired_at: tx.now }).execute();
      },
    },
  };
}

/** How long `eventually` polls by default. */
export const EVENTUALLY_TIMEOUT_MS = 30_000;

/**
 * Waits until `probe` returns true, polling; fails with `what` after `timeoutMs`. The default
 * is generous (the machines have 2 cores, shared with other runs): it only turns a hang into
 * a failure, it is never what a test asserts.
 */
export async function eventually(probe: () => Promise<boolean>, what: string, timeoutMs = EVENTUALLY_TIMEOUT_MS): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await probe()) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`timed out waiting for ${what}`);
}
