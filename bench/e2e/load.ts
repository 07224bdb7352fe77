/**
 * The two load shapes, each placing orders through POST /orders and waiting, through the log
 * follower, until each order is SHIPPED.
 *
 * - Closed loop: C clients, each placing an order and waiting until it is SHIPPED before it
 *   places the next. The completion rate it reaches is the peak throughput at that concurrency.
 *   Latency is measured from the moment the POST is sent.
 * - Open loop: orders are due at a fixed rate (order i at t0 + i/rate) whatever the state of
 *   earlier ones; each is sent at its due time (the HTTP agent queues it if every socket is
 *   busy) and its latency is measured from its *due* time, not from when it was actually sent,
 *   so a stalled server cannot hide its stall by slowing the load down (no coordinated
 *   omission). The latency from the actual send is kept too, to show the difference.
 */
import * as hdr from 'hdr-histogram-js';
import { nowMs, type Follower } from './follower.js';
import type { Client, OrderSource } from './workload.js';

export type Histogram = hdr.Histogram;

/** A histogram of milliseconds, kept as integer microseconds (3 significant digits). */
export function histogram(): Histogram {
  return hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 3_600_000_000, numberOfSignificantValueDigits: 3 });
}

const record = (h: Histogram, ms: number) => h.recordValue(Math.max(1, Math.round(ms * 1000)));

export interface LatencySummary {
  count: number;
  p50: number;
  p95: number;
  p99: number;
  p999: number;
  max: number;
  mean: number;
}

export function summarize(h: Histogram): LatencySummary {
  const ms = (us: number) => Number((us / 1000).toFixed(2));
  return {
    count: h.totalCount,
    p50: ms(h.getValueAtPercentile(50)),
    p95: ms(h.getValueAtPercentile(95)),
    p99: ms(h.getValueAtPercentile(99)),
    p999: ms(h.getValueAtPercentile(99.9)),
    max: ms(h.maxValue),
    mean: ms(h.mean),
  };
}

export interface LoadOutcome {
  /** Orders the API accepted (201). */
  placed: number;
  shipped: number;
  /** Orders that did not reach SHIPPED, by why: `http <status>`, `network`, an event type, `timeout`. */
  failures: Record<string, number>;
  /** First send (closed) or first due time (open) → last SHIPPED seen, in ms. */
  startMs: number;
  endMs: number;
  /** Due/sent → SHIPPED seen by the follower. */
  latency: Histogram;
  /** Due/sent → the OrderShipped event's occurredAt (lower bound). */
  latencyToOccurredAt: Histogram;
  /** Open loop only: actual send → SHIPPED seen (what a coordinated-omission bench would report). */
  serviceLatency: Histogram | undefined;
  /** POST sent → 201 received. */
  postLatency: Histogram;
  /** Set when no order ended for `stallMs` while some were outstanding: the phase was cut short. */
  stalled: { afterMs: number; outstanding: number } | undefined;
}

interface Context {
  client: Client;
  follower: Follower;
  source: OrderSource;
}

function newOutcome(open: boolean): LoadOutcome {
  return {
    placed: 0,
    shipped: 0,
    failures: {},
    startMs: nowMs(),
    endMs: nowMs(),
    latency: histogram(),
    latencyToOccurredAt: histogram(),
    serviceLatency: open ? histogram() : undefined,
    postLatency: histogram(),
    stalled: undefined,
  };
}

/**
 * Cuts a phase short when the system stops making progress: no order ended (shipped or
 * failed) for `stallMs` while some were waiting. `abort` then resolves, every waiting order
 * counts as failed (`timeout`), and no new order is placed.
 */
class Watchdog {
  outstanding = 0;
  private lastProgress = nowMs();
  private readonly timer: NodeJS.Timeout;
  private fire!: (value: 'timeout') => void;
  readonly abort = new Promise<'timeout'>((resolve) => (this.fire = resolve));
  aborted = false;

  constructor(
    private readonly outcome: LoadOutcome,
    stallMs: number,
  ) {
    this.timer = setInterval(() => {
      if (this.outstanding > 0 && nowMs() - this.lastProgress > stallMs && !this.aborted) {
        this.aborted = true;
        this.outcome.stalled = { afterMs: Math.round(nowMs() - this.outcome.startMs), outstanding: this.outstanding };
        this.fire('timeout');
      }
    }, 250);
  }

  started(): void {
    if (this.outstanding++ === 0) this.lastProgress = nowMs();
  }

  ended(): void {
    this.outstanding--;
    this.lastProgress = nowMs();
  }

  stop(): void {
    clearInterval(this.timer);
  }
}

const fail = (outcome: LoadOutcome, why: string) => (outcome.failures[why] = (outcome.failures[why] ?? 0) + 1);

/**
 * Places one order and waits for the end of its flow, or until `giveUpAtMs`. `dueMs` is the
 * time latency is measured from.
 */
async function placeAndFollow(ctx: Context, outcome: LoadOutcome, dueMs: number, giveUp: () => Promise<'timeout'>, watchdog: Watchdog): Promise<void> {
  watchdog.started();
  try {
    await placeAndFollowOnce(ctx, outcome, dueMs, () => Promise.race([giveUp(), watchdog.abort]));
  } finally {
    watchdog.ended();
  }
}

async function placeAndFollowOnce(ctx: Context, outcome: LoadOutcome, dueMs: number, giveUp: () => Promise<'timeout'>): Promise<void> {
  const { token, body } = ctx.source.order();
  const sentMs = nowMs();
  let response;
  try {
    response = await ctx.client.send('POST', '/orders', token, body);
  } catch (error) {
    fail(outcome, `network: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
    return;
  }
  record(outcome.postLatency, nowMs() - sentMs);
  if (response.status !== 201) {
    fail(outcome, `http ${response.status}`);
    return;
  }
  outcome.placed++;
  const orderId = (JSON.parse(response.body) as { orderId: string }).orderId;
  const ended = await Promise.race([ctx.follower.outcome(orderId), giveUp()]);
  if (ended === 'timeout') {
    ctx.follower.forget(orderId);
    fail(outcome, 'timeout');
    // Counted at the time the bench gave up: a lower bound of its real latency.
    record(outcome.latency, nowMs() - dueMs);
    return;
  }
  if (ended.eventType !== 'OrderShipped') {
    fail(outcome, ended.eventType);
    return;
  }
  outcome.shipped++;
  record(outcome.latency, ended.seenAtMs - dueMs);
  record(outcome.latencyToOccurredAt, Math.max(0, ended.occurredAtMs - dueMs));
  if (outcome.serviceLatency) record(outcome.serviceLatency, ended.seenAtMs - sentMs);
  if (ended.seenAtMs > outcome.endMs) outcome.endMs = ended.seenAtMs;
}

/** C clients back to back until `orders` were placed or `maxMs` passed. */
export async function closedLoop(ctx: Context, options: { concurrency: number; orders: number; maxMs: number; orderTimeoutMs: number; stallMs: number }): Promise<LoadOutcome> {
  const outcome = newOutcome(false);
  const watchdog = new Watchdog(outcome, options.stallMs);
  const stopAt = outcome.startMs + options.maxMs;
  let issued = 0;
  const client = async () => {
    while (issued < options.orders && nowMs() < stopAt && !watchdog.aborted) {
      issued++;
      let timer: NodeJS.Timeout | undefined;
      const giveUp = () => new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), options.orderTimeoutMs)));
      await placeAndFollow(ctx, outcome, nowMs(), giveUp, watchdog);
      clearTimeout(timer);
    }
  };
  try {
    await Promise.all(Array.from({ length: options.concurrency }, client));
  } finally {
    watchdog.stop();
  }
  return outcome;
}

/** `rate` orders per second for `durationMs`, then up to `drainMs` for the last ones to ship. */
export async function openLoop(ctx: Context, options: { rate: number; durationMs: number; drainMs: number; stallMs: number }): Promise<LoadOutcome> {
  const outcome = newOutcome(true);
  const watchdog = new Watchdog(outcome, options.stallMs);
  const count = Math.max(1, Math.round((options.rate * options.durationMs) / 1000));
  const interval = 1000 / options.rate;
  const t0 = nowMs() + 10;
  outcome.startMs = t0;
  outcome.endMs = t0;
  const giveUpAt = t0 + options.durationMs + options.drainMs;
  const giveUpPromise = new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), giveUpAt - nowMs()).unref());
  const giveUp = () => giveUpPromise;
  const inFlight: Promise<void>[] = [];
  let i = 0;
  while (i < count && !watchdog.aborted) {
    const now = nowMs();
    while (i < count && t0 + i * interval <= now) {
      inFlight.push(placeAndFollow(ctx, outcome, t0 + i * interval, giveUp, watchdog));
      i++;
    }
    if (i < count) await new Promise((resolve) => setTimeout(resolve, Math.max(0, Math.min(t0 + i * interval - nowMs(), 5))));
  }
  try {
    await Promise.all(inFlight);
  } finally {
    watchdog.stop();
  }
  return outcome;
}
