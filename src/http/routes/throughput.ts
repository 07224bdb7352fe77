import { Type, type Static } from '@sinclair/typebox';
import type { Kysely } from 'kysely';
import type { FastifyPluginAsync } from 'fastify';
import type { EventLogTables } from '../../platform/log/event-log.js';
import type { Engine } from '../../platform/engine.js';
import type { HttpContext } from '../context.js';
import { Timestamp, withProblems } from '../schemas/common.js';

/** How the throughput sampler runs. */
export interface ThroughputOptions {
  /** Time between samples (default 2 s). */
  intervalMs?: number;
  /** How much history is kept (default 10 minutes). */
  windowMs?: number;
  /** The sampler stops when nobody has asked for this long (default 10 minutes). */
  idleMs?: number;
}

const Sample = Type.Object({
  at: Timestamp,
  head: Type.Integer({ description: 'the log head (highest sequence) at the sample' }),
  events: Type.Integer({ description: 'events appended since the previous sample' }),
  orders: Type.Integer({ description: 'OrderPlaced events since the previous sample' }),
  eventsPerSecond: Type.Number(),
  ordersPerSecond: Type.Number(),
  consumerLag: Type.Record(Type.String(), Type.Integer(), { description: 'events not yet read, per consumer of this process' }),
  deadLetters: Type.Integer({ description: 'open dead letters (status dead)' }),
  retrying: Type.Integer({ description: 'failed deliveries waiting for their next attempt' }),
});
export type ThroughputSample = Static<typeof Sample>;

export const ThroughputResponse = Type.Object({
  intervalMs: Type.Integer(),
  windowMs: Type.Integer(),
  samples: Type.Array(Sample, { description: 'oldest first; the sampler starts on the first request and stops when nobody asks' }),
});

/**
 * GET /api/throughput (admin): orders/s, events/s, consumer lag and dead letters over the
 * last minutes, for the console's charts. A sampler reads a few counters every interval
 * while someone looks (the range count reads the log by sequence, never a full scan).
 */
export function throughputRoutes({ engine }: HttpContext, options: ThroughputOptions = {}): FastifyPluginAsync {
  return async (app) => {
    const sampler = createSampler(engine, { intervalMs: options.intervalMs ?? 2000, windowMs: options.windowMs ?? 600_000, idleMs: options.idleMs ?? 600_000 });
    app.addHook('onClose', async () => sampler.stop());
    app.get(
      '/api/throughput',
      {
        config: { access: 'admin' },
        schema: {
          tags: ['operations'],
          summary: 'Orders/s, events/s, consumer lag and dead letters over the last minutes (samples for charts)',
          response: withProblems({ 200: ThroughputResponse }, 401, 403),
        },
      },
      async () => sampler.read(),
    );
  };
}

function createSampler(engine: Engine, settings: Required<ThroughputOptions>) {
  const db = engine.storage.db as Kysely<EventLogTables>;
  const samples: ThroughputSample[] = [];
  let timer: NodeJS.Timeout | undefined;
  let lastAsked = 0;
  let running: Promise<void> | undefined;

  async function take(): Promise<void> {
    const previous = samples.at(-1);
    const head = await engine.log.head();
    const from = previous?.head ?? head;
    const [counts, deadLetters, retrying, lag] = await Promise.all([
      from < head
        ? db
            .selectFrom('events')
            .select((eb) => [eb.fn.countAll<number>().as('events'), eb.fn.sum<number>(eb.case().when('event_type', '=', 'OrderPlaced').then(1).else(0).end()).as('orders')])
            .where('sequence', '>', from)
            .where('sequence', '<=', head)
            .executeTakeFirst()
        : undefined,
      engine.deadLetters.countOpen(),
      engine.deadLetters.list({ status: 'retrying', limit: 1000 }).then((l) => l.length),
      consumerLag(engine),
    ]);
    const now = Date.now();
    const seconds = previous ? Math.max(0.001, (now - Date.parse(previous.at)) / 1000) : 1;
    const events = Number(counts?.events ?? 0);
    const orders = Number(counts?.orders ?? 0);
    samples.push({
      at: new Date(now).toISOString(),
      head,
      events,
      orders,
      eventsPerSecond: round(events / seconds),
      ordersPerSecond: round(orders / seconds),
      consumerLag: lag,
      deadLetters,
      retrying,
    });
    while (samples.length > 0 && now - Date.parse(samples[0]!.at) > settings.windowMs) samples.shift();
  }

  /** Takes a sample unless one is being taken: a slow database never stacks samples up. */
  function sample(): Promise<void> {
    running ??= take().finally(() => (running = undefined));
    return running;
  }

  function tick(): void {
    if (Date.now() - lastAsked > settings.idleMs) return stop();
    sample().catch((error: unknown) => engine.logger.debug({ err: error }, 'throughput: sample failed'));
  }

  function stop(): void {
    clearInterval(timer);
    timer = undefined;
  }

  return {
    async read() {
      lastAsked = Date.now();
      if (!timer) {
        timer = setInterval(tick, settings.intervalMs);
        timer.unref();
        // Through the same guard as the ticks, which start meanwhile: the first answer has one sample.
        if (samples.length === 0) await sample();
      }
      return { intervalMs: settings.intervalMs, windowMs: settings.windowMs, samples };
    },
    async stop() {
      stop();
      await running?.catch(() => undefined);
    },
  };
}

function round(n: number): number {
  return Math.round(n * 100) / 100;
}

/** Each consumer's lag, wherever its delivery runs (this thread or the delivery thread). */
async function consumerLag(engine: Engine): Promise<Record<string, number>> {
  const gathered = await engine.metrics.gather();
  const lag = gathered.getSingleMetric('orderflow_consumer_lag_events');
  const values = lag ? (await lag.get()).values : [];
  return Object.fromEntries(values.map((v) => [String(v.labels.consumer), v.value]));
}
