import type { Kysely } from 'kysely';
import { defineConsumer } from '../../platform/delivery/consumer.js';
import { rebuildConsumer } from '../../platform/delivery/rebuild.js';
import type { EngineModule, ModuleRuntime } from '../../platform/engine.js';
import type { StatsApi } from './api.js';
import { PROJECTED_EVENT_TYPES, type ProjectedEvent } from './domain/order-stats.js';
import { applyToStats, projectOrderEvent } from './handlers/project-order-event.js';
import { getStats } from './queries.js';
import { statsMigrations } from './storage/migrations.js';
import { clearStats } from './storage/stats-repository.js';
import type { StatsTables } from './storage/tables.js';

const NAME = 'stats';
/** How long the distributed reader lets wake-ups gather before a round of the projection (Consumer.lingerMs). */
const STATS_LINGER_MS = 50;

/** The stats engine module; `connect` gives its queries and the replay. */
export interface StatsModule extends EngineModule {
  connect(runtime: ModuleRuntime): StatsApi;
}

/**
 * Order statistics, a read model of the event log. Its consumer `stats` projects the order
 * events and PaymentRefunded into counters; `replay` rebuilds them from the whole log.
 */
export function createStatsModule(): StatsModule {
  const consumer = defineConsumer<StatsTables>({
    name: NAME,
    source: NAME,
    effectsInTransaction: true,
    handlers: Object.fromEntries(PROJECTED_EVENT_TYPES.map((type) => [type, projectOrderEvent])),
    // A batch of order events folds into one write per order and per counter.
    handleBatch: (events, ctx) => applyToStats(ctx.db, events as unknown as readonly ProjectedEvent[]),
    // Every order moves the same counters; they are written in one order (addToCounters), so
    // two processes' rounds never wait for each other's rows in opposite orders.
    // A read model: a round may take what 50 ms of commits appended.
    lingerMs: STATS_LINGER_MS,
  });
  return {
    name: NAME,
    migrations: statsMigrations,
    consumers: [consumer],
    connect(runtime) {
      const db = runtime.db as Kysely<StatsTables>;
      return {
        getStats: () => getStats(db, NAME),
        async replay() {
          const rebuilt = await rebuildConsumer<StatsTables>({
            db: runtime.db,
            dialect: runtime.dialect,
            consumer: NAME,
            types: PROJECTED_EVENT_TYPES,
            now: runtime.clock.now(),
            clear: (trx) => clearStats(trx),
            apply: (trx, events) => applyToStats(trx, events),
          });
          runtime.logger.info({ consumer: NAME, applied: rebuilt.applied, skipped: rebuilt.skipped.length, position: rebuilt.position }, 'stats rebuilt from the log');
          return { eventsApplied: rebuilt.applied, eventsSkipped: rebuilt.skipped, position: rebuilt.position, stats: await getStats(db, NAME) };
        },
      };
    },
  };
}
