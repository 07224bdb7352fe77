// Waiting for the consumers rather than for a status: an order's status is the orders
// module's view; inventory, payments, shipments and stats reach the same events on their own
// time. A test that reads another module's state waits here first.
import type { Kysely } from 'kysely';
import { createBusinessModules } from '../../src/composition.js';
import { loadConfig, moduleNames } from '../../src/config.js';
import { eventually } from './kernel-test-module.js';

/** A consumer and the event types it handles, as its module declares them. */
export interface ConsumerTypes {
  name: string;
  types: readonly string[];
}

/** How long a settle may take before it fails: long enough for a loaded 2-core machine, short of the test's own timeout. */
export const SETTLE_TIMEOUT_MS = 45_000;

/** The consumers of the business modules (and stats) that `orderflow start` runs, all modules on. */
export function businessConsumers(): ConsumerTypes[] {
  return createBusinessModules(loadConfig({}))
    .engineModules(moduleNames)
    .flatMap((m) => m.consumers)
    .map((c) => ({ name: c.name, types: Object.keys(c.handlers) }));
}

/**
 * Whether every consumer's checkpoint (in-process transport: partition 0) has reached the
 * last event of the types it handles. A consumer that handles nothing of a quiet log's tail
 * does not read that tail, so its checkpoint is compared with its own types only.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function consumersCaughtUp(db: Kysely<any>, consumers: readonly ConsumerTypes[]): Promise<boolean> {
  for (const consumer of consumers) {
    if (consumer.types.length === 0) continue;
    const last = await db.selectFrom('events').select((eb) => eb.fn.max('sequence').as('last')).where('event_type', 'in', consumer.types).executeTakeFirst();
    const checkpoint = await db.selectFrom('consumer_checkpoints').select('position').where('consumer', '=', consumer.name).where('partition', '=', 0).executeTakeFirst();
    if (Number(checkpoint?.position ?? 0) < Number(last?.last ?? 0)) return false;
  }
  return true;
}

/**
 * Waits until the flows have settled: every consumer caught up with the log, no failed
 * delivery waiting for its retry, and the log head unchanged for `quietMs` meanwhile (a
 * handler's commit moves the head before the next consumer has read it).
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function untilSettled(db: Kysely<any>, consumers: readonly ConsumerTypes[], options: { quietMs?: number; timeoutMs?: number } = {}): Promise<void> {
  const quietMs = options.quietMs ?? 150;
  let last = -1;
  let stableSince = Date.now();
  await eventually(
    async () => {
      const head = Number((await db.selectFrom('events').select((eb) => eb.fn.max('sequence').as('head')).executeTakeFirst())?.head ?? 0);
      const retrying = await db.selectFrom('failed_deliveries').select('id').where('status', '=', 'retrying').limit(1).executeTakeFirst();
      if (head !== last || retrying !== undefined || !(await consumersCaughtUp(db, consumers))) {
        last = head;
        stableSince = Date.now();
        return false;
      }
      return Date.now() - stableSince > quietMs;
    },
    'every consumer to catch up with the log',
    options.timeoutMs ?? SETTLE_TIMEOUT_MS,
  );
}
