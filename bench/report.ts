/**
 * Regenerates docs/benchmarks.md and its chart (bench/results/latency-vs-load.svg) from the
 * JSON results in bench/results/: `npm run bench:report` (latest full run of each mode), or
 * `npm run bench:report -- --quick` to render the latest run of each mode even if it was quick.
 * A full `npm run bench` calls it at the end.
 *
 * The text between `<!-- analysis:start -->` and `<!-- analysis:end -->` in the existing
 * document is written by people, not by the bench, and is carried over unchanged.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { renderChart } from './chart.js';
import type { LatencySummary } from './e2e/load.js';
import { evaluateTargets, type ModeResult, type PhaseResult } from './e2e/results.js';

const resultsDir = fileURLToPath(new URL('./results/', import.meta.url));
const docFile = fileURLToPath(new URL('../docs/benchmarks.md', import.meta.url));
const chartFile = fileURLToPath(new URL('./results/latency-vs-load.svg', import.meta.url));
const START = '<!-- analysis:start -->';
const END = '<!-- analysis:end -->';

function loadResults(): ModeResult[] {
  if (!existsSync(resultsDir)) return [];
  return readdirSync(resultsDir)
    .filter((f) => /^e2e-.*\.json$/.test(f))
    .map((f) => JSON.parse(readFileSync(`${resultsDir}${f}`, 'utf8')) as ModeResult)
    .filter((r) => r.kind === 'orderflow-e2e-bench')
    .sort((a, b) => a.at.localeCompare(b.at));
}

const fmt = (n: number | undefined, digits = 0) => (n === undefined || Number.isNaN(n) ? '—' : n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits }));
const lat = (l: LatencySummary) => (l.count === 0 ? '—' : `${fmt(l.p50, 1)} / ${fmt(l.p95, 1)} / ${fmt(l.p99, 1)} / ${fmt(l.max, 1)}`);
const p99 = (l: LatencySummary | undefined) => (!l || l.count === 0 ? '—' : fmt(l.p99, 1));
const failedOf = (p: PhaseResult) => Object.values(p.orders.failures).reduce((a, b) => a + b, 0);

function phaseTable(result: ModeResult): string {
  const rows = result.phases.map((p) => {
    const rss = Object.values(p.peakRssMB).reduce((a, b) => a + b, 0);
    const helpers = p.cpu.processes.filter((q) => !(q.name in p.peakRssMB)).map((q) => `${q.name} ${fmt(q.cpuPercent)}%`);
    return (
      `| ${p.name} | ${p.offeredPerSecond === undefined ? '—' : fmt(p.offeredPerSecond)} | ${fmt(p.ordersPerSecond)} | ${fmt(p.eventsPerSecond)} | ${lat(p.latencyMs)} | ` +
      `${p99(p.serviceLatencyMs)} | ${p99(p.latencyToOccurredAtMs)} | ${p99(p.postLatencyMs)} | ` +
      `${fmt(p.cpu.orderflowPercent)}%${helpers.length ? ` (+ ${helpers.join(', ')})` : ''} | ${fmt(p.cpu.benchPercent)}% | ${fmt(p.cpu.machineBusyPercent)}% / ${fmt(p.cpu.machineIowaitPercent)}% | ${fmt(rss)} | ${p.io ? `${fmt(p.io.writtenKBPerOrder)} KB, ${fmt(p.io.writeCallsPerOrder)} calls` : '—'} | ${p.orders.shipped}/${p.orders.placed}${failedOf(p) ? ` (${failedOf(p)} failed)` : ''} |`
    );
  });
  return [
    '| phase | offered orders/s | completed orders/s | events/s | POST→SHIPPED ms p50 / p95 / p99 / max | p99 from actual send (CO view) | p99 to occurredAt | POST→201 p99 ms | CPU of orderflow (100% = 1 core) | CPU of bench | machine busy / iowait (100% = all cores) | peak RSS MB | written to disk per order (orderflow processes) | shipped/placed |',
    '|---|---:|---:|---:|---|---:|---:|---:|---|---:|---|---:|---|---|',
    ...rows,
  ].join('\n');
}

function modeSection(result: ModeResult): string {
  const raw = result.rawCommits;
  const lines = [
    `### ${result.mode}${result.quick ? ' (quick run)' : ''}`,
    '',
    `Run ${result.at} on commit ${result.machine.git ? `${result.machine.git.commit}${result.machine.git.dirty ? ' (with uncommitted changes)' : ''}` : 'unknown'}. ` +
      `${result.deployment.database}${result.deployment.broker ? `; ${result.deployment.broker}` : ''}. Processes: ${result.deployment.processes.map((p) => `\`${p}\``).join(', ')}.`,
    '',
    phaseTable(result),
    '',
    `- **Peak** (closed loop, C=${result.peak.concurrency}): **${fmt(result.peak.ordersPerSecond)} orders/s**, ${fmt(result.peak.eventsPerSecond)} events/s, ${fmt(result.peak.eventsPerOrder, 2)} events per order.`,
    `- **Raw limit**: ${fmt(raw.perSecond)} single-row durable commits/s (before the load ${fmt(raw.beforePerSecond)}, after ${fmt(raw.afterPerSecond)}).`,
    `- **Ratio** = ${fmt(result.peak.ordersPerSecond)} orders/s × ${fmt(result.peak.eventsPerOrder, 2)} events/order ÷ ${fmt(raw.perSecond)} commits/s = **${fmt(result.ratioToRawCommits, 2)}**.`,
    ...(result.stalled ? [`- **Stalled**: ${result.stalled}.`] : []),
    ...Object.entries(result.serverProblems ?? {}).map(
      ([server, problems]) =>
        `- \`${server}\` logged: ${Object.entries(problems)
          .sort((a, b) => b[1] - a[1])
          .slice(0, 6)
          .map(([what, n]) => `${n}× ${what.replace(/\|/g, '\\|')}`)
          .join('; ')}.`,
    ),
    `- **Peak RSS** (VmHWM) over ${fmt(result.ordersProcessed)} orders: ${Object.entries(result.peakRssMB.byProcess)
      .map(([name, mb]) => `${name} ${fmt(mb)} MB`)
      .join(', ')}${Object.keys(result.peakRssMB.byProcess).length > 1 ? ` (total ${fmt(result.peakRssMB.total)} MB)` : ''}.`,
  ];
  return lines.join('\n');
}

function targetsTable(results: readonly ModeResult[]): string {
  // Evaluated afresh, so that the current definition of the targets applies to old results too.
  const rows = results.flatMap((r) =>
    evaluateTargets(r).map((t) => `| ${r.mode} | ${t.name} | ${t.target} | ${t.value === null ? '—' : fmt(t.value, t.unit === '' ? 2 : t.unit === 'ms' ? 1 : 0)} ${t.unit} | ${t.met === null ? 'not measured' : t.met ? '**met**' : '**missed**'}${t.note ? ` (${t.note})` : ''} |`),
  );
  return ['| mode | target | goal | measured | verdict |', '|---|---|---|---|---|', ...rows].join('\n');
}

function backlogSection(result: ModeResult | undefined): string {
  const backlog = result?.backlog;
  if (!backlog) return '_No backlog phase in these results._';
  const row = (name: string, s: { count: number; p50: number; p99: number; max: number }) => `| ${name} | ${fmt(s.count)} | ${fmt(s.p50, 2)} | ${fmt(s.p99, 2)} | ${fmt(s.max, 2)} |`;
  return [
    `${fmt(backlog.orders)} orders were placed on a server running no consumer (\`MODULES=http\`), which was then stopped; a server with every module started on the same file ` +
      `and drained the backlog in ${fmt(backlog.drainSeconds, 1)} s: **${fmt(backlog.drainEventsPerSecond)} events/s** (${fmt(backlog.drainOrdersPerSecond)} orders/s), ` +
      `while one client asked \`GET /health\` back to back and another placed ${fmt(backlog.placedDuringDrain)} orders at 20/s.`,
    '',
    '| request while draining | count | p50 ms | p99 ms | max ms |',
    '|---|---:|---:|---:|---:|',
    row('GET /health', backlog.health),
    row('POST /orders', backlog.post),
  ].join('\n');
}

function profileSection(result: ModeResult | undefined): string {
  const profile = result?.profile;
  if (!profile) return '_No profile in these results (quick runs skip it; `npm run bench` or `--profile` makes one)._';
  const delivery = profile.deliveryThread;
  return [
    `Profile of a second embedded server started with \`node --cpu-prof\` (one profile per thread), running the peak closed loop again (C=${result!.peak.concurrency}, ${fmt(profile.orders)} orders at ${fmt(profile.ordersPerSecond)} orders/s under the profiler), ` +
      `the load window only. The whole process used ${fmt(profile.processCpuPercent)}% of one core (100% = one core; its threads together). ` +
      `The main thread (HTTP, reads) was idle ${fmt(profile.idlePercent, 1)}% of the time` +
      (delivery ? `; the delivery thread (placements, every consumer and the timers) ${fmt(delivery.idlePercent, 1)}%.` : '.') +
      ` V8 charges the time of a synchronous native call (a SQLite statement, a commit and its fsync) to the JavaScript function that made it.`,
    '',
    threadTables('Main thread', profile),
    ...(delivery ? ['', threadTables('Delivery thread', delivery)] : []),
  ].join('\n');
}

function distributedProfileSection(result: ModeResult | undefined): string {
  const profiled = result?.processProfiles;
  if (!profiled) return '_No distributed profile in these results (quick runs skip it; `npm run bench` or `--profile` makes one)._';
  const summary = [
    `A second split deployment whose processes run under \`node --cpu-prof\`, driven by the peak closed loop again (C=${result!.peak.concurrency}, ${fmt(profiled.orders)} orders at ${fmt(profiled.ordersPerSecond)} orders/s under the profiler), the load window only; each process's main thread.`,
    '',
    '| process | CPU % of one core | CPU ms per order | idle % |',
    '|---|---:|---:|---:|',
    ...profiled.processes.map((p) => `| ${p.name} | ${fmt(p.processCpuPercent)} | ${fmt(p.cpuMsPerOrder, 1)} | ${fmt(p.idlePercent, 1)} |`),
  ];
  return [...summary, ...profiled.processes.flatMap((p) => ['', threadTables(`Process ${p.name}`, p)])].join('\n');
}

function threadTables(name: string, profile: NonNullable<ModeResult['profile']> | NonNullable<NonNullable<ModeResult['profile']>['deliveryThread']>): string {
  return [
    `**${name}**, self time:`,
    '',
    '| self % | function | where | area |',
    '|---:|---|---|---|',
    ...profile.topFunctions.map((f) => `| ${fmt(f.percent, 1)} | \`${f.name}\` | ${f.where} | ${f.area} |`),
    '',
    `${name}, by area (self time; native code is named by the JavaScript that called it):`,
    '',
    '| self % | area |',
    '|---:|---|',
    ...profile.areas.map((a) => `| ${fmt(a.percent, 1)} | ${a.name} |`),
    '',
    `${name}, by the nearest orderflow function on the stack (everything below it — libraries, native code — counted to it):`,
    '',
    '| % | orderflow function |',
    '|---:|---|',
    ...profile.underOrderflowFunction.map((a) => `| ${fmt(a.percent, 1)} | \`${a.name}\` |`),
  ].join('\n');
}

function historyTable(all: readonly ModeResult[]): string {
  const rows = all.map((r) => {
    const half = r.phases.find((p) => p.fractionOfPeak === 0.5);
    return `| ${r.at.slice(0, 19).replace('T', ' ')} | ${r.machine.git?.commit ?? '—'}${r.machine.git?.dirty ? '+' : ''} | ${r.mode} | ${r.quick ? 'quick' : 'full'} | ${fmt(r.peak.ordersPerSecond)} | ${half ? fmt(half.latencyMs.p99, 1) : '—'} | ${fmt(r.rawCommits.perSecond)} | ${fmt(r.ratioToRawCommits, 2)} | ${fmt(r.peakRssMB.total)} |`;
  });
  return ['| run (UTC) | commit | mode | kind | peak orders/s | p99 ms at 50% | raw commits/s | ratio | peak RSS MB |', '|---|---|---|---|---:|---:|---:|---:|---:|', ...rows].join('\n');
}

const DEFAULT_ANALYSIS = `_Analysis of the figures and the profile goes here; this block is kept when the report is regenerated._`;

function method(results: readonly ModeResult[]): string {
  const s = results.find((r) => !r.quick)?.settings ?? results[0]?.settings ?? {};
  const get = (key: string) => (key === 'openFractions' ? (s[key] as number[]).map((f) => `${f * 100}%`).join(', ') : JSON.stringify(s[key]));
  return `- **What is measured.** Each order is placed with \`POST /orders\` (1–3 lines of 50 products with ample stock, quantity 1–2, paid with the test card \`tok_visa\`, from 100 customers, \`ORDER_RATE_LIMIT=0\`) against real server processes started with \`orderflow start\` on 127.0.0.1, and followed until it is **SHIPPED**. The order stream is generated from a fixed seed, so every run places the same orders.
- **When an order counts as SHIPPED.** The bench follows the durable event log itself (SQLite: the servers' file opened read-only; PostgreSQL: one connection), polling \`events\` after its cursor (every ${(s.followerPollMs as Record<string, number> | undefined)?.embedded ?? 3} ms on SQLite, ${(s.followerPollMs as Record<string, number> | undefined)?.distributed ?? 10} ms on PostgreSQL, whose backend serving the bench is left out of the CPU figures) for \`OrderShipped\` (and the failure events). The order is SHIPPED at the moment the bench *sees* the committed event: that is what a client could observe, it needs no extra work from the server under test (polling \`GET /orders/:id\` per order would add thousands of requests per second to the very process being measured), and it errs on the slow side by at most one poll plus one query. The event's own \`occurredAt\` is also kept (column "p99 to occurredAt"): it is stamped by the Orders handler before its batch commits, so it is a lower bound, and comparing the two shows how long group commit holds finished work.
- **Closed loop (peak).** C clients, each places an order, waits until it is SHIPPED, then places the next; ${get('closedOrders')} orders (or ${get('closedMaxMs')} ms) after a warm-up of ${get('warmupOrders')} orders. Completed orders/s = orders SHIPPED ÷ (last SHIPPED − first POST). Latency is from the POST.
- **Open loop (latency at a given load).** Orders fall due at a fixed rate — ${get('openFractions')} of the measured peak, each for ${get('openMs')} ms — whatever happened to earlier ones; each is sent at its due time (a request finding every socket busy waits in the client's queue) and its latency runs from its **due** time, so a stall cannot hide by slowing the load (no coordinated omission). The column "p99 from actual send" shows what a bench with coordinated omission would have reported. Orders not SHIPPED ${get('drainMs')} ms after the last one fell due are counted as failed, with the time waited as their latency.
- **Latency statistics** come from HdrHistogram (\`hdr-histogram-js\`, 3 significant digits, microsecond units).
- **Events/s** = growth of the log's highest sequence during the phase ÷ the phase's duration; **events per order** = that growth ÷ orders placed.
- **CPU** = utime + stime from \`/proc/<pid>/stat\` of each server process over the phase (100% = one core busy all the time); in the distributed mode also the PostgreSQL backends of the scratch database and the NATS server. The bench's own CPU (HTTP client and log follower, on the same 2 cores) and the whole machine's busy and iowait shares (\`/proc/stat\`) are shown beside it, so that load from elsewhere on the machine is visible.
- **Disk writes** = growth of \`write_bytes\` and \`syscw\` in \`/proc/<pid>/io\` of orderflow's processes over the phase, per order placed (in the embedded mode that is SQLite's WAL and checkpoints; in the distributed mode PostgreSQL writes in its own processes).
- **Peak RSS** = \`VmHWM\` of \`/proc/<pid>/status\` of each server process at the end of the run, over every order it handled (warm-up included).
- **Raw limit.** In the same run and on the same database configuration: back-to-back transactions that each insert one row, through orderflow's own \`openStorage\` (SQLite: a file beside the servers' database, WAL, \`synchronous=FULL\`; PostgreSQL: the same scratch database, default \`synchronous_commit=on\`), half of the time before the load and half after, pooled. **Ratio** = peak orders/s × events per order ÷ raw commits/s; a system that committed once per event would be capped at 1, group commit is what can take it above.
- **Durability is not relaxed.** The servers run with orderflow's defaults (\`SQLITE_SYNCHRONOUS\` unset = FULL; PostgreSQL's \`synchronous_commit=on\`), \`LOG_LEVEL=info\`.
- **Profile.** After the measured embedded phases, a second embedded server is started with \`node --cpu-prof\` and the peak closed loop is run again on it; each thread's \`.cpuprofile\` (the main thread's and the delivery thread's) is summarised into self time per function, per area, and per nearest orderflow function on the stack. After the distributed phases, a second split deployment runs under \`node --cpu-prof\` the same way, and each process's main thread is summarised with its CPU per order. The measured figures always come from the unprofiled servers.
- **Backlog phase** (embedded). 5,000 orders (1,000 in a quick run) are placed on a server started with \`MODULES=http\`, which runs no consumer, so their events only queue; it is stopped, and a server with every module is started on the same file. Until the last backlog order is SHIPPED, one client sends \`GET /health\` back to back (5 ms apart) and another places orders at 20/s; the drain rate is the events the consumers appended ÷ the drain time.
- **Deployments.** Embedded: one process (a main thread for HTTP and reads, a delivery thread that writes the placements and runs the consumers), all modules and HTTP, the compiled build (\`dist/\`), SQLite in a temporary folder on the machine's disk. Distributed: a scratch PostgreSQL database and a NATS JetStream stream of their own (both removed afterwards), one process per module (\`MODULES=http,orders\`, \`inventory\`, \`payments\`, \`shipments\`), default \`NATS_PARTITIONS\` (8). Servers are stopped with SIGTERM and must exit 0.`;
}

/** Writes docs/benchmarks.md and the chart; returns the files written. */
export function writeReport(options: { quick: boolean }): string[] {
  const all = loadResults();
  const eligible = options.quick ? all : all.filter((r) => !r.quick);
  const latest = (['embedded', 'distributed'] as const).map((mode) => eligible.filter((r) => r.mode === mode).at(-1)).filter((r): r is ModeResult => r !== undefined);
  if (latest.length === 0) throw new Error(`no ${options.quick ? '' : 'full '}e2e results in ${resultsDir}; run npm run bench${options.quick ? ' -- --quick' : ''} first`);

  mkdirSync(resultsDir, { recursive: true });
  writeFileSync(chartFile, renderChart(latest));

  const previous = existsSync(docFile) ? readFileSync(docFile, 'utf8') : '';
  const kept = previous.includes(START) && previous.includes(END) ? previous.slice(previous.indexOf(START) + START.length, previous.indexOf(END)).trim() : DEFAULT_ANALYSIS;
  const machine = latest[0]!.machine;
  const embedded = latest.find((r) => r.mode === 'embedded');
  const distributed = latest.find((r) => r.mode === 'distributed');
  const doc = `# Benchmarks

<!-- Generated by \`npm run bench:report\` from bench/results/*.json; edit only inside the analysis block. -->

End-to-end throughput and latency of orderflow: orders placed through the HTTP API of real
server processes and followed until they are SHIPPED, in the embedded mode (one process,
SQLite) and the distributed mode (PostgreSQL + NATS JetStream, one process per module),
measured against the raw durable commit rate of the same database.

> The machine has 2 cores, shared by the servers, the bench's own client and (in the distributed
> mode) PostgreSQL and NATS; the "machine busy" column shows how busy it was, the bench's own
> CPU beside it. Wall-clock figures move with other load: quote a full run made on an idle
> machine, and compare commits with \`npm run bench:engine\` (CPU per order), which moves less.

## How to run

\`\`\`sh
npm run bench                     # full run of both modes, profile and backlog phase; regenerates this file (≈ 7–9 min)
npm run bench -- --mode=embedded  # the embedded mode only (≈ 4 min)
npm run bench -- --quick          # about a minute: prints the tables, writes JSON, leaves this file alone
npm run bench:report              # re-render this file and the chart from bench/results/*.json
npm run bench:engine              # CPU ms and KB written per order of the embedded engine, in-process
npm run bench:backlog             # the backlog phase alone
\`\`\`

Other options: \`--mode=distributed\`, \`--concurrency=16,64,256\` (closed-loop clients; a list
sweeps them and the best is the peak), \`--orders=N\` (closed-loop orders per level),
\`--profile\` / \`--no-profile\`, \`--no-report\`. \`BENCH_LOG_DIR=<folder>\` keeps every
server's log.

The distributed mode needs PostgreSQL on 127.0.0.1:5432 and NATS JetStream on 127.0.0.1:4222
(\`BENCH_POSTGRES_URL\` / \`TEST_POSTGRES_URL\` and \`BENCH_NATS_URL\` override them). Each run
writes \`bench/results/e2e-<time>-<mode>[-quick].json\`; keep them to compare across commits.

## Method

${method(latest)}

## Machine

| | |
|---|---|
| CPU | ${machine.nproc} × ${machine.cpuModel} |
| memory | ${machine.memoryGiB} GiB |
| disk | ${machine.disk.device} (${machine.disk.fsType}${machine.disk.rotational === undefined ? '' : machine.disk.rotational ? ', reported rotational (virtio)' : ', SSD'}) |
| Node | ${machine.node} |
| kernel | ${machine.kernel} |
| databases | ${latest.map((r) => `${r.mode}: ${r.deployment.database}${r.deployment.broker ? `; ${r.deployment.broker}` : ''}`).join('<br>')} |

## Results

${latest.map(modeSection).join('\n\n')}

![POST→SHIPPED latency against offered load](../bench/results/latency-vs-load.svg)

## Targets

${targetsTable(latest)}

## Backlog drain (embedded)

${backlogSection(embedded)}

## Where the time goes (embedded peak)

${profileSection(embedded)}

## Where the time goes (distributed peak, each process)

${distributedProfileSection(distributed)}

## Analysis and closing note

${START}
${kept}
${END}

## Earlier runs

${historyTable(all)}
`;
  mkdirSync(fileURLToPath(new URL('../docs/', import.meta.url)), { recursive: true });
  writeFileSync(docFile, doc);
  return [docFile, chartFile];
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  try {
    const written = writeReport({ quick: process.argv.includes('--quick') });
    console.log(`written: ${written.join(', ')}`);
  } catch (error) {
    console.error((error as Error).message);
    process.exitCode = 1;
  }
}
