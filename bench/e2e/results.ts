/** The JSON a bench run writes per mode (bench/results/e2e-<time>-<mode>[-quick].json), and the targets. */
import type { LatencySummary } from './load.js';
import type { Machine } from './machine.js';
import type { BacklogResult } from './backlog.js';
import type { ProfileSummary } from './profile.js';
import type { Rate } from './raw-commits.js';

export type Mode = 'embedded' | 'distributed';

export interface ProcessUsage {
  name: string;
  cpuSeconds: number;
  /** 100 = one core busy for the whole phase. */
  cpuPercent: number;
}

export interface PhaseResult {
  name: string;
  shape: 'closed' | 'open';
  concurrency?: number;
  offeredPerSecond?: number;
  fractionOfPeak?: number;
  orders: { placed: number; shipped: number; failures: Record<string, number> };
  /** The phase was cut short: no order ended for the stall time while `outstanding` were waiting. */
  stalled?: { afterMs: number; outstanding: number };
  /** First send (or due time) → last SHIPPED seen. */
  seconds: number;
  /** Completed (SHIPPED) orders per second. */
  ordersPerSecond: number;
  eventsPerSecond: number;
  eventsPerOrder: number;
  /** POST sent (closed) or due (open) → SHIPPED seen by the log follower. */
  latencyMs: LatencySummary;
  /** POST sent or due → the OrderShipped event's occurredAt (a lower bound). */
  latencyToOccurredAtMs: LatencySummary;
  /** Open loop: actual send → SHIPPED seen (what a bench with coordinated omission would report). */
  serviceLatencyMs?: LatencySummary;
  /** POST → 201. */
  postLatencyMs: LatencySummary;
  /**
   * Storage writes of orderflow's own processes (/proc/<pid>/io): bytes that reached the block
   * layer (SQLite WAL and checkpoints; in the distributed mode PostgreSQL writes in its own
   * processes, so this is near 0) and write system calls, per order placed.
   */
  io: { writtenKBPerOrder: number; writeCallsPerOrder: number; writtenMBPerSecond: number };
  cpu: {
    /** orderflow's processes, then the database backends and the broker when they are separate. */
    processes: ProcessUsage[];
    /** Sum over orderflow's processes. */
    orderflowPercent: number;
    /** The bench itself (HTTP client and log follower), on the same cores. */
    benchPercent: number;
    /** The whole machine, 100 = every core; includes other users of the machine. */
    machineBusyPercent: number;
    machineIowaitPercent: number;
  };
  /** VmHWM of each orderflow process at the end of the phase (its peak so far), MiB. */
  peakRssMB: Record<string, number>;
}

export interface ModeResult {
  kind: 'orderflow-e2e-bench';
  schema: 1;
  at: string;
  quick: boolean;
  mode: Mode;
  machine: Machine;
  /** Database and broker versions, and the process layout. */
  deployment: { database: string; broker: string | undefined; processes: string[] };
  settings: Record<string, unknown>;
  /** Single-row durable commits/s on the same database configuration, before and after the load. */
  rawCommits: Rate & { beforePerSecond: number; afterPerSecond: number };
  phases: PhaseResult[];
  peak: { ordersPerSecond: number; concurrency: number; eventsPerOrder: number; eventsPerSecond: number };
  /** peak orders/s × events per order ÷ raw commits/s. */
  ratioToRawCommits: number;
  /** Orders the deployment handled over the run (warm-up included), and the peak RSS that took. */
  ordersProcessed: number;
  /** The warm-up closed loop (not measured, but its failures count). */
  warmup: { placed: number; shipped: number; failures: Record<string, number> };
  peakRssMB: { total: number; byProcess: Record<string, number> };
  profile?: ProfileSummary & { ordersPerSecond: number; orders: number; processCpuPercent: number; deliveryThread?: ProfileSummary };
  /** Distributed mode: a profile of each process of the split deployment (main thread), under the peak closed loop. */
  processProfiles?: { ordersPerSecond: number; orders: number; processes: (ProfileSummary & { name: string; processCpuPercent: number; cpuMsPerOrder: number })[] };
  /** Embedded: a backlog drained by a freshly started server, with request latency meanwhile (backlog.ts). */
  backlog?: BacklogResult;
  /** Warnings and errors the servers logged, by process and message (empty when all went well). */
  serverProblems: Record<string, Record<string, number>>;
  /** Set when the deployment stopped making progress and the remaining phases were skipped. */
  stalled?: string;
  targets: TargetResult[];
}

export interface TargetResult {
  name: string;
  target: string;
  value: number | null;
  unit: string;
  /** null: not measured in this run (say why in `note`). */
  met: boolean | null;
  note?: string;
}

const atFraction = (result: Pick<ModeResult, 'phases'>, fraction: number) => result.phases.find((p) => p.shape === 'open' && p.fractionOfPeak === fraction);

export function evaluateTargets(result: Omit<ModeResult, 'targets'>): TargetResult[] {
  const half = atFraction(result, 0.5);
  const p99 = half ? half.latencyMs.p99 : null;
  const count = (failures: Record<string, number>) => Object.values(failures).reduce((a, b) => a + b, 0);
  const failed = result.phases.reduce((n, p) => n + count(p.orders.failures), count(result.warmup?.failures ?? {}));
  const targets: TargetResult[] = [];
  const atLeast = (name: string, value: number, min: number, unit: string) => targets.push({ name, target: `≥ ${min.toLocaleString('en-US')}${unit ? ` ${unit}` : ''}`, value, unit, met: value >= min });
  const atMost = (name: string, value: number | null, max: number, unit: string, note?: string) =>
    targets.push({ name, target: `≤ ${max} ${unit}`, value, unit, met: value === null ? null : value <= max, ...(note ? { note } : {}) });
  if (result.mode === 'embedded') {
    // The targets of the embedded-throughput issue (#11).
    atLeast('end-to-end throughput (closed-loop peak)', result.peak.ordersPerSecond, 1000, 'orders/s');
    atMost('p99 POST→SHIPPED at 50% of peak (open loop)', p99, 100, 'ms', half ? undefined : 'no 50% phase in this run');
    atMost('POST→201 p99 at 50% of peak (open loop)', half ? half.postLatencyMs.p99 : null, 20, 'ms', half ? undefined : 'no 50% phase in this run');
    const enough = result.ordersProcessed >= 20_000;
    atMost('peak RSS over 20,000 orders', result.peakRssMB.total, 200, 'MB', enough ? undefined : `only ${result.ordersProcessed} orders in this run: indicative`);
    if (!enough) targets[targets.length - 1]!.met = null;
    const peakPhase = result.phases.find((p) => p.shape === 'closed' && p.concurrency === result.peak.concurrency);
    atMost('written to disk per order (closed-loop peak)', peakPhase ? peakPhase.io.writtenKBPerOrder : null, 150, 'KB');
    atLeast('ratio to the raw commit limit', result.ratioToRawCommits, 2, '');
    if (result.backlog) atMost('GET /health p99 while a backlog drains', result.backlog.health.p99, 20, 'ms');
  } else {
    atLeast('end-to-end throughput (closed-loop peak)', result.peak.ordersPerSecond, 300, 'orders/s');
    atMost('p99 POST→SHIPPED at 50% of peak (open loop)', p99, 250, 'ms', half ? undefined : 'no 50% phase in this run');
  }
  targets.push({ name: 'orders that did not reach SHIPPED (warm-up included)', target: '0', value: failed, unit: 'orders', met: failed === 0 && !result.stalled });
  if (result.stalled) for (const t of targets) t.note = t.note ?? 'the run stalled';
  return targets;
}
