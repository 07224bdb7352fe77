/**
 * End-to-end bench: orders placed through the HTTP API of real orderflow processes, each
 * followed until it is SHIPPED. Run with `npm run bench` (about 6–8 minutes) or
 * `npm run bench -- --quick` (under a minute). Method: docs/benchmarks.md.
 *
 * Options:
 *   --quick                      short phases, no profile, docs/benchmarks.md left alone
 *   --mode=embedded|distributed|both   (default: DEFAULT_MODES below)
 *   --concurrency=N[,M…]         closed-loop clients (a list sweeps; the best is the peak)
 *   --orders=N                   closed-loop orders per concurrency level
 *   --profile / --no-profile     CPU profile of the embedded peak run (default: on in full runs)
 *   --no-report                  do not regenerate docs/benchmarks.md after a full run
 *
 * Per mode: start the deployment, create 50 products with plenty of stock, measure the raw
 * commit rate (half before the load, half after), warm up, run the closed loop (peak), then
 * the open loop at fractions of that peak, stop the servers with SIGTERM (they must exit 0).
 * Results go to bench/results/e2e-<time>-<mode>[-quick].json.
 */
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startDistributed, startEmbedded, type Deployment } from './e2e/deployments.js';
import { Follower, openLogReader, type LogReader } from './e2e/follower.js';
import { closedLoop, openLoop, summarize, type LoadOutcome } from './e2e/load.js';
import { describeMachine } from './e2e/machine.js';
import { cpuSecondsOf, ioOf, machineTicks, machineUsage, memoryOf } from './e2e/proc.js';
import { runBacklog } from './e2e/backlog.js';
import { formatBacklog } from './backlog.bench.js';
import { summariseProfile } from './e2e/profile.js';
import { measureRawCommits, pooled, type Rate } from './e2e/raw-commits.js';
import { evaluateTargets, type ModeResult, type Mode, type PhaseResult, type ProcessUsage } from './e2e/results.js';
import { Client, OrderSource, adminToken, seedCatalog } from './e2e/workload.js';
import { writeReport } from './report.js';

const args = process.argv.slice(2);
const flag = (name: string) => args.includes(`--${name}`);
const option = (name: string) => args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
for (const arg of args) {
  if (!/^--(quick|profile|no-profile|no-report|mode=(embedded|distributed|both)|concurrency=\d+(,\d+)*|orders=\d+)$/.test(arg)) {
    console.error(`unknown argument ${arg}; see the header of bench/e2e.bench.ts`);
    process.exit(2);
  }
}

/** What runs without --mode: both modes. */
const DEFAULT_MODES: Mode[] = ['embedded', 'distributed'];

const quick = flag('quick');
const modeOption = option('mode');
const modes: Mode[] = modeOption === 'embedded' ? ['embedded'] : modeOption === 'distributed' ? ['distributed'] : modeOption === 'both' ? ['embedded', 'distributed'] : DEFAULT_MODES;
const concurrencyOverride = option('concurrency')?.split(',').map(Number);
const settings = {
  /** Raw commit measurement, split in two halves around the load. */
  rawMs: quick ? 1_000 : 4_000,
  warmupOrders: quick ? 200 : 1_000,
  warmupMaxMs: quick ? 3_000 : 15_000,
  concurrency: {
    embedded: concurrencyOverride ?? (quick ? [64] : [32, 128]),
    distributed: concurrencyOverride ?? (quick ? [32] : [32, 128]),
  } as Record<Mode, number[]>,
  closedOrders: Number(option('orders') ?? 0) || { embedded: quick ? 2_000 : 10_000, distributed: quick ? 1_500 : 5_000 },
  closedMaxMs: quick ? 6_000 : 80_000,
  orderTimeoutMs: quick ? 20_000 : 60_000,
  openFractions: quick ? [0.5, 0.8] : [0.25, 0.5, 0.8, 0.95],
  openMs: quick ? 3_000 : 15_000,
  drainMs: quick ? 8_000 : 20_000,
  /** A phase is cut short when no order ends for this long while some are waiting. */
  stallMs: quick ? 5_000 : 15_000,
  profile: flag('profile') || (!quick && !flag('no-profile')),
  profileOrders: quick ? 2_000 : 8_000,
  profileMaxMs: quick ? 6_000 : 30_000,
  /** How often the bench looks at the log for shipped orders (PostgreSQL: a query each time). */
  followerPollMs: { embedded: 3, distributed: 10 } as Record<Mode, number>,
  products: 50,
  /** Orders queued for the backlog phase of the embedded mode (bench/e2e/backlog.ts). */
  backlogOrders: quick ? 1_000 : 5_000,
};
const closedOrdersFor = (mode: Mode) => (typeof settings.closedOrders === 'number' ? settings.closedOrders : settings.closedOrders[mode]);

/** Cleanups still owed, so that Ctrl-C removes scratch databases, streams and files too. */
const pendingCleanups = new Set<() => Promise<void>>();

const round = (value: number, digits = 1) => Number(value.toFixed(digits));

interface Snapshot {
  at: number;
  cpu: Map<string, number>;
  /** Bytes written to storage and write calls, summed over orderflow's processes. */
  io: { writeBytes: number; writeCalls: number };
  bench: NodeJS.CpuUsage;
  ticks: ReturnType<typeof machineTicks>;
  head: number;
}

async function snapshot(deployment: Deployment, reader: LogReader): Promise<Snapshot> {
  const cpu = new Map<string, number>();
  for (const server of deployment.servers) cpu.set(server.name, cpuSecondsOf(server.pid) ?? 0);
  for (const helper of deployment.helpers()) for (const pid of helper.pids.filter((p) => !benchBackends.has(p))) cpu.set(`${helper.name}\u0000${pid}`, cpuSecondsOf(pid) ?? 0);
  const io = { writeBytes: 0, writeCalls: 0 };
  for (const server of deployment.servers) {
    const used = ioOf(server.pid);
    io.writeBytes += used?.writeBytes ?? 0;
    io.writeCalls += used?.writeCalls ?? 0;
  }
  return { at: performance.now(), cpu, io, bench: process.cpuUsage(), ticks: machineTicks(), head: await reader.head() };
}

function phaseResult(deployment: Deployment, base: Pick<PhaseResult, 'name' | 'shape' | 'concurrency' | 'offeredPerSecond' | 'fractionOfPeak'>, outcome: LoadOutcome, before: Snapshot, after: Snapshot): PhaseResult {
  const wall = (after.at - before.at) / 1000;
  const processes: ProcessUsage[] = [];
  const helpers = new Map<string, number>();
  for (const [key, seconds] of after.cpu) {
    const used = seconds - (before.cpu.get(key) ?? 0);
    if (key.includes('\u0000')) {
      const name = key.split('\u0000')[0]!;
      helpers.set(name, (helpers.get(name) ?? 0) + used);
    } else processes.push({ name: key, cpuSeconds: round(used, 2), cpuPercent: round((100 * used) / wall) });
  }
  const orderflowPercent = round(processes.reduce((a, p) => a + p.cpuPercent, 0));
  for (const [name, used] of helpers) processes.push({ name, cpuSeconds: round(used, 2), cpuPercent: round((100 * used) / wall) });
  const benchUsed = (after.bench.user - before.bench.user + after.bench.system - before.bench.system) / 1e6;
  const machine = machineUsage(before.ticks, after.ticks);
  // Nothing shipped: the phase lasted as long as the bench waited.
  const seconds = outcome.shipped > 0 ? Math.max(0.001, (outcome.endMs - outcome.startMs) / 1000) : wall;
  const events = after.head - before.head;
  const peakRssMB: Record<string, number> = {};
  for (const server of deployment.servers) peakRssMB[server.name] = memoryOf(server.pid)?.peakRssMB ?? NaN;
  return {
    ...base,
    orders: { placed: outcome.placed, shipped: outcome.shipped, failures: outcome.failures },
    ...(outcome.stalled ? { stalled: outcome.stalled } : {}),
    seconds: round(seconds, 2),
    ordersPerSecond: round(outcome.shipped / seconds),
    eventsPerSecond: round(events / seconds),
    eventsPerOrder: round(events / Math.max(1, outcome.placed), 2),
    latencyMs: summarize(outcome.latency),
    latencyToOccurredAtMs: summarize(outcome.latencyToOccurredAt),
    ...(outcome.serviceLatency ? { serviceLatencyMs: summarize(outcome.serviceLatency) } : {}),
    postLatencyMs: summarize(outcome.postLatency),
    io: {
      writtenKBPerOrder: round((after.io.writeBytes - before.io.writeBytes) / 1024 / Math.max(1, outcome.placed)),
      writeCallsPerOrder: round((after.io.writeCalls - before.io.writeCalls) / Math.max(1, outcome.placed)),
      writtenMBPerSecond: round((after.io.writeBytes - before.io.writeBytes) / 2 ** 20 / wall),
    },
    cpu: { processes, orderflowPercent, benchPercent: round((100 * benchUsed) / wall), machineBusyPercent: machine.busyPercent, machineIowaitPercent: machine.iowaitPercent },
    peakRssMB,
  };
}

function printPhaseHeader(): void {
  console.log(
    `  ${'phase'.padEnd(16)}${'offered/s'.padStart(10)}${'orders/s'.padStart(10)}${'events/s'.padStart(10)}${'p50 ms'.padStart(9)}${'p95 ms'.padStart(9)}${'p99 ms'.padStart(9)}${'max ms'.padStart(9)}${'CPU of'.padStart(8)}${'bench'.padStart(7)}${'machine'.padStart(9)}${'peak RSS'.padStart(10)}${'written'.padStart(9)}${'failed'.padStart(8)}`,
  );
  console.log(`  ${''.padEnd(16)}${''.padStart(10)}${''.padStart(10)}${''.padStart(10)}${''.padStart(9)}${''.padStart(9)}${''.padStart(9)}${''.padStart(9)}${'servers'.padStart(8)}${'CPU'.padStart(7)}${'busy'.padStart(9)}${'MB'.padStart(10)}${'KB/order'.padStart(9)}${''.padStart(8)}`);
}

function printPhase(phase: PhaseResult): void {
  const failed = Object.values(phase.orders.failures).reduce((a, b) => a + b, 0);
  const rss = Object.values(phase.peakRssMB).reduce((a, b) => a + b, 0);
  console.log(
    `  ${phase.name.padEnd(16)}${(phase.offeredPerSecond?.toFixed(0) ?? '—').padStart(10)}${phase.ordersPerSecond.toFixed(0).padStart(10)}${phase.eventsPerSecond.toFixed(0).padStart(10)}` +
      `${phase.latencyMs.p50.toFixed(1).padStart(9)}${phase.latencyMs.p95.toFixed(1).padStart(9)}${phase.latencyMs.p99.toFixed(1).padStart(9)}${phase.latencyMs.max.toFixed(1).padStart(9)}` +
      `${`${phase.cpu.orderflowPercent.toFixed(0)}%`.padStart(8)}${`${phase.cpu.benchPercent.toFixed(0)}%`.padStart(7)}${`${phase.cpu.machineBusyPercent.toFixed(0)}%`.padStart(9)}${rss.toFixed(0).padStart(10)}${phase.io.writtenKBPerOrder.toFixed(0).padStart(9)}${String(failed).padStart(8)}`,
  );
  if (failed > 0) console.log(`    failures: ${JSON.stringify(phase.orders.failures)}`);
}

/** Starts the log follower on the deployment's database. */
async function follow(deployment: Deployment): Promise<{ reader: LogReader; follower: Follower }> {
  const reader = openLogReader(deployment.databaseUrl);
  const follower = new Follower(reader, settings.followerPollMs[deployment.mode]);
  await follower.start();
  benchBackends.add((await reader.backendPid()) ?? -1);
  return { reader, follower };
}

/** PostgreSQL backends serving the bench itself (its log follower), left out of the servers' CPU. */
const benchBackends = new Set<number>();

async function runMode(mode: Mode): Promise<ModeResult> {
  const startedAt = new Date().toISOString();
  console.log(`\n== ${mode} ==`);
  const deployment = mode === 'embedded' ? await startEmbedded() : await startDistributed();
  pendingCleanups.add(deployment.cleanup);
  const { reader, follower } = await follow(deployment);
  const client = new Client(deployment.url, 1024);
  try {
    console.log(`  ${deployment.describe.database}${deployment.describe.broker ? `, ${deployment.describe.broker}` : ''}; processes: ${deployment.describe.processes.join(' | ')}`);
    await seedCatalog(client, adminToken());
    const source = new OrderSource();
    const ctx = { client, follower, source };
    const rawBefore = await measureRawCommits(deployment.rawCommitsUrl, settings.rawMs / 2);

    let ordersProcessed = 0;
    const concurrencies = settings.concurrency[mode];
    let stalled: string | undefined;
    const noteStall = (what: string, outcome: LoadOutcome) => {
      if (!outcome.stalled) return;
      stalled = `${what}: no order ended for ${settings.stallMs / 1000} s while ${outcome.stalled.outstanding} were waiting (${outcome.shipped} shipped before); the remaining phases were skipped`;
      console.log(`  STALLED — ${stalled}`);
    };
    const warm = await closedLoop(ctx, { concurrency: concurrencies[0]!, orders: settings.warmupOrders, maxMs: settings.warmupMaxMs, orderTimeoutMs: settings.orderTimeoutMs, stallMs: settings.stallMs });
    ordersProcessed += warm.placed;
    const warmup = { placed: warm.placed, shipped: warm.shipped, failures: warm.failures };
    console.log(`  warm-up: ${warm.shipped} orders shipped in ${((warm.endMs - warm.startMs) / 1000).toFixed(1)} s; raw commits before the load: ${rawBefore.perSecond.toFixed(0)}/s`);
    noteStall('warm-up', warm);

    const phases: PhaseResult[] = [];
    printPhaseHeader();
    for (const concurrency of concurrencies) {
      if (stalled) break;
      const before = await snapshot(deployment, reader);
      const outcome = await closedLoop(ctx, { concurrency, orders: closedOrdersFor(mode), maxMs: settings.closedMaxMs, orderTimeoutMs: settings.orderTimeoutMs, stallMs: settings.stallMs });
      const phase = phaseResult(deployment, { name: `closed C=${concurrency}`, shape: 'closed', concurrency }, outcome, before, await snapshot(deployment, reader));
      ordersProcessed += outcome.placed;
      phases.push(phase);
      printPhase(phase);
      noteStall(phase.name, outcome);
    }
    const closed = phases.filter((p) => p.shape === 'closed');
    const best = closed.length > 0 ? closed.reduce((a, b) => (b.ordersPerSecond > a.ordersPerSecond ? b : a)) : undefined;
    for (const fraction of settings.openFractions) {
      if (stalled || !best) break;
      const rate = Math.max(1, best.ordersPerSecond * fraction);
      const before = await snapshot(deployment, reader);
      const outcome = await openLoop(ctx, { rate, durationMs: settings.openMs, drainMs: settings.drainMs, stallMs: settings.stallMs });
      const phase = phaseResult(
        deployment,
        { name: `open ${Math.round(fraction * 100)}% of peak`, shape: 'open', offeredPerSecond: round(rate), fractionOfPeak: fraction },
        outcome,
        before,
        await snapshot(deployment, reader),
      );
      ordersProcessed += outcome.placed;
      phases.push(phase);
      printPhase(phase);
      noteStall(phase.name, outcome);
    }
    const rawAfter = await measureRawCommits(deployment.rawCommitsUrl, settings.rawMs / 2);
    const rawCommits = pooled(rawBefore, rawAfter);
    const byProcess: Record<string, number> = {};
    for (const server of deployment.servers) byProcess[server.name] = memoryOf(server.pid)?.peakRssMB ?? NaN;

    await follower.stop();
    await reader.close();
    const codes = await deployment.stop();
    if (codes.some((code) => code !== 0)) console.error(`  warning: server exit codes after SIGTERM: ${codes.join(', ')}`);
    const serverProblems: Record<string, Record<string, number>> = {};
    for (const server of deployment.servers) {
      const problems = server.problems();
      if (Object.keys(problems).length > 0) serverProblems[server.name] = problems;
    }

    const peak = best
      ? { ordersPerSecond: best.ordersPerSecond, concurrency: best.concurrency!, eventsPerOrder: best.eventsPerOrder, eventsPerSecond: best.eventsPerSecond }
      : { ordersPerSecond: 0, concurrency: concurrencies[0]!, eventsPerOrder: 0, eventsPerSecond: 0 };
    const partial: Omit<ModeResult, 'targets'> = {
      kind: 'orderflow-e2e-bench',
      schema: 1,
      at: startedAt,
      quick,
      mode,
      machine: describeMachine(deployment.dataDir),
      deployment: deployment.describe,
      settings: { ...settings, concurrency: concurrencies, closedOrders: closedOrdersFor(mode), concurrencyOverride: undefined },
      rawCommits,
      phases,
      peak,
      ratioToRawCommits: round((peak.ordersPerSecond * peak.eventsPerOrder) / rawCommits.perSecond, 2),
      ordersProcessed,
      warmup,
      peakRssMB: { total: round(Object.values(byProcess).reduce((a, b) => a + b, 0)), byProcess },
      serverProblems,
      ...(stalled ? { stalled } : {}),
    };
    if (mode === 'embedded' && settings.profile && !stalled) partial.profile = await profileEmbedded(peak.concurrency);
    if (mode === 'distributed' && settings.profile && !stalled) partial.processProfiles = await profileDistributed(peak.concurrency);
    if (mode === 'embedded' && !stalled) {
      partial.backlog = await runBacklog({ orders: settings.backlogOrders, postRatePerSecond: 20, timeoutMs: 300_000 });
      console.log(`\n  ${formatBacklog(partial.backlog).replace(/\n/g, '\n  ')}`);
    }
    return { ...partial, targets: evaluateTargets(partial) };
  } finally {
    client.close();
    await follower.stop().catch(() => undefined);
    await reader.close().catch(() => undefined);
    await deployment.cleanup();
    pendingCleanups.delete(deployment.cleanup);
  }
}

/** A closed loop run on a deployment whose servers wrote CPU profiles, once they exited. */
interface ProfiledRun {
  outcome: LoadOutcome;
  ordersPerSecond: number;
  /** The load window, µs on the bench's clock (the profiles' clock). */
  window: { fromUs: number; toUs: number };
  /** Each server's pid and CPU seconds in the window, in `deployment.servers` order. */
  servers: { name: string; pid: number; cpuSeconds: number }[];
  /** The `.cpuprofile` files written: CPU.<date>.<time>.<pid>.<thread id>.<n>.cpuprofile. */
  files: string[];
  dir: string;
}

/**
 * The peak closed loop again on a deployment started with `node --cpu-prof` (after a warm-up):
 * the measured figures come from the unprofiled run, this one only says where the time goes.
 * The servers are stopped (the profiles are written as they exit) before `summarise` reads them.
 */
async function profiledRun<T>(start: (cpuProfileDir: string) => Promise<Deployment>, options: { concurrency: number; orders: number }, summarise: (run: ProfiledRun) => T): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), 'orderflow-bench-profile-'));
  const deployment = await start(dir);
  pendingCleanups.add(deployment.cleanup);
  const { reader, follower } = await follow(deployment);
  const client = new Client(deployment.url, 1024);
  try {
    await seedCatalog(client, adminToken());
    const ctx = { client, follower, source: new OrderSource() };
    const { concurrency } = options;
    await closedLoop(ctx, { concurrency, orders: settings.warmupOrders, maxMs: settings.warmupMaxMs, orderTimeoutMs: settings.orderTimeoutMs, stallMs: settings.stallMs });
    const fromUs = Number(process.hrtime.bigint() / 1000n);
    const cpuBefore = deployment.servers.map((s) => cpuSecondsOf(s.pid) ?? 0);
    const outcome = await closedLoop(ctx, { concurrency, orders: options.orders, maxMs: settings.profileMaxMs, orderTimeoutMs: settings.orderTimeoutMs, stallMs: settings.stallMs });
    const toUs = Number(process.hrtime.bigint() / 1000n);
    const servers = deployment.servers.map((s, i) => ({ name: s.name, pid: s.pid, cpuSeconds: (cpuSecondsOf(s.pid) ?? 0) - cpuBefore[i]! }));
    await follower.stop();
    await reader.close();
    await deployment.stop(); // the profiles are written as the processes exit
    const files = readdirSync(dir).filter((f) => f.endsWith('.cpuprofile'));
    const ordersPerSecond = round(outcome.shipped / ((outcome.endMs - outcome.startMs) / 1000));
    return summarise({ outcome, ordersPerSecond, window: { fromUs, toUs }, servers, files, dir });
  } finally {
    client.close();
    await follower.stop().catch(() => undefined);
    await reader.close().catch(() => undefined);
    await deployment.cleanup();
    pendingCleanups.delete(deployment.cleanup);
    rmSync(dir, { recursive: true, force: true });
  }
}

const threadOf = (file: string) => Number(file.split('.')[4]);
const pidOf = (file: string) => Number(file.split('.')[3]);

/** The embedded peak run under the profiler: its main (request) thread and its delivery thread. */
function profileEmbedded(concurrency: number): Promise<NonNullable<ModeResult['profile']>> {
  return profiledRun((cpuProfileDir) => startEmbedded({ cpuProfileDir }), { concurrency, orders: settings.profileOrders }, ({ outcome, ordersPerSecond, window, servers, files, dir }) => {
    const processCpuPercent = round((100 * servers[0]!.cpuSeconds) / ((window.toUs - window.fromUs) / 1e6));
    const mainFile = files.find((f) => threadOf(f) === 0);
    if (!mainFile) throw new Error(`no .cpuprofile of the main thread written in ${dir}`);
    const summary = summariseProfile(join(dir, mainFile), window);
    // The delivery thread: the busiest of the others (the WAL checkpointer's is nearly idle).
    const others = files.filter((f) => f !== mainFile).map((f) => summariseProfile(join(dir, f), window));
    const delivery = others.sort((a, b) => a.idlePercent - b.idlePercent)[0];
    console.log(
      `\n  CPU profile of the embedded peak run (C=${concurrency}, ${outcome.shipped} orders at ${ordersPerSecond.toFixed(0)} orders/s under the profiler; ` +
        `${summary.windowed ? 'load window only' : 'whole process life'}; process CPU ${processCpuPercent.toFixed(0)}% of one core, main thread idle ${summary.idlePercent.toFixed(0)}%` +
        `${delivery ? `, delivery thread idle ${delivery.idlePercent.toFixed(0)}%` : ''}), self time:`,
    );
    for (const [name, profile] of [['main (request) thread', summary], ['delivery thread', delivery]] as const) {
      if (!profile) continue;
      console.log(`  ${name}:`);
      for (const f of profile.topFunctions.slice(0, 8)) console.log(`    ${`${f.percent.toFixed(1)}%`.padStart(6)}  ${f.name} — ${f.where} [${f.area}]`);
      console.log('   by area:');
      for (const a of profile.areas.slice(0, 6)) console.log(`    ${`${a.percent.toFixed(1)}%`.padStart(6)}  ${a.name}`);
    }
    if (delivery) return { ...summary, ordersPerSecond, orders: outcome.shipped, processCpuPercent, deliveryThread: delivery };
    return { ...summary, ordersPerSecond, orders: outcome.shipped, processCpuPercent };
  });
}

/** The distributed peak run under the profiler: each process's main thread, and its CPU per order. */
function profileDistributed(concurrency: number): Promise<NonNullable<ModeResult['processProfiles']>> {
  return profiledRun((cpuProfileDir) => startDistributed({ cpuProfileDir }), { concurrency, orders: Math.round(settings.profileOrders / 4) }, ({ outcome, ordersPerSecond, window, servers, files, dir }) => {
    const wallS = (window.toUs - window.fromUs) / 1e6;
    const processes = servers.flatMap((server) => {
      const file = files.find((f) => pidOf(f) === server.pid && threadOf(f) === 0);
      if (!file) return [];
      const summary = summariseProfile(join(dir, file), window);
      return [{ ...summary, name: server.name, processCpuPercent: round((100 * server.cpuSeconds) / wallS), cpuMsPerOrder: round((1000 * server.cpuSeconds) / Math.max(1, outcome.shipped), 2) }];
    });
    console.log(`\n  CPU profiles of the distributed peak run (C=${concurrency}, ${outcome.shipped} orders at ${ordersPerSecond.toFixed(0)} orders/s under the profiler; load window only), per process:`);
    for (const p of processes) {
      console.log(`  ${p.name}: ${p.processCpuPercent.toFixed(0)}% of one core, ${p.cpuMsPerOrder.toFixed(1)} ms CPU per order, idle ${p.idlePercent.toFixed(0)}%`);
      for (const f of p.topFunctions.slice(0, 6)) console.log(`    ${`${f.percent.toFixed(1)}%`.padStart(6)}  ${f.name} — ${f.where} [${f.area}]`);
      console.log('   by area:');
      for (const a of p.areas.slice(0, 5)) console.log(`    ${`${a.percent.toFixed(1)}%`.padStart(6)}  ${a.name}`);
      console.log('   under orderflow function:');
      for (const a of p.underOrderflowFunction.slice(0, 6)) console.log(`    ${`${a.percent.toFixed(1)}%`.padStart(6)}  ${a.name}`);
    }
    return { ordersPerSecond, orders: outcome.shipped, processes };
  });
}

function printSummary(result: ModeResult): void {
  const raw: Rate & { beforePerSecond: number; afterPerSecond: number } = result.rawCommits;
  console.log(`\n  ${result.mode}: raw single-row durable commits ${raw.perSecond.toFixed(0)}/s (before ${raw.beforePerSecond.toFixed(0)}, after ${raw.afterPerSecond.toFixed(0)})`);
  console.log(
    `  ratio = ${result.peak.ordersPerSecond.toFixed(0)} orders/s × ${result.peak.eventsPerOrder.toFixed(2)} events/order ÷ ${raw.perSecond.toFixed(0)} commits/s = ${result.ratioToRawCommits.toFixed(2)}`,
  );
  console.log(`  peak RSS: ${Object.entries(result.peakRssMB.byProcess).map(([n, mb]) => `${n} ${mb.toFixed(0)} MB`).join(', ')} over ${result.ordersProcessed} orders`);
  for (const [server, problems] of Object.entries(result.serverProblems)) {
    const top = Object.entries(problems).sort((a, b) => b[1] - a[1]).slice(0, 6);
    console.log(`  ${server} logged: ${top.map(([what, n]) => `${n}× ${what}`).join('; ')}`);
  }
  if (result.stalled) console.log(`  STALLED: ${result.stalled}`);
  console.log('  targets:');
  for (const t of result.targets) {
    const verdict = t.met === null ? 'n/a ' : t.met ? 'met ' : 'MISSED';
    console.log(`    ${verdict.padEnd(7)}${t.name}: ${t.value ?? '—'} ${t.unit} (target ${t.target})${t.note ? ` — ${t.note}` : ''}`);
  }
}

function writeResult(result: ModeResult): string {
  const folder = new URL('./results/', import.meta.url);
  mkdirSync(folder, { recursive: true });
  const file = new URL(`e2e-${result.at.replace(/[:.]/g, '-')}-${result.mode}${result.quick ? '-quick' : ''}.json`, folder);
  writeFileSync(file, `${JSON.stringify(result, null, 1)}\n`);
  return fileURLToPath(file);
}

async function main(): Promise<void> {
  const started = performance.now();
  console.log(
    `orderflow end-to-end bench${quick ? ' (quick)' : ''}: ${modes.join(' + ')}; closed loop C=${modes.map((m) => settings.concurrency[m].join(',')).join(' / ')}, ` +
      `open loop at ${settings.openFractions.map((f) => `${f * 100}%`).join(', ')} of peak for ${settings.openMs / 1000} s each`,
  );
  console.log('  latency = POST sent (closed) or due (open) → committed OrderShipped seen in the log; figures are noisy on a shared machine');
  if (!modes.includes('distributed')) console.log('  distributed mode not run (--mode=both or --mode=distributed runs it)');
  const results: ModeResult[] = [];
  let failed = false;
  for (const mode of modes) {
    try {
      const result = await runMode(mode);
      printSummary(result);
      console.log(`  results: ${writeResult(result)}`);
      results.push(result);
    } catch (error) {
      failed = true;
      console.error(`\n${mode} run failed:`, error);
    }
  }
  if (!quick && !flag('no-report') && results.length > 0) {
    const written = writeReport({ quick: false });
    console.log(`\nreport regenerated: ${written.join(', ')}`);
  }
  console.log(`\ndone in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  if (failed) process.exitCode = 1;
}

process.once('SIGINT', () => {
  console.error('\ninterrupted: stopping servers, dropping scratch databases and streams');
  void Promise.allSettled([...pendingCleanups].map((cleanup) => cleanup())).finally(() => process.exit(130));
});

main().catch((error: unknown) => {
  console.error('bench failed:', error);
  process.exitCode = 1;
});
