// A seeded fault campaign (issue 16, docs/reliability.md): the compiled server under a random
// workload and randomly scheduled faults, then the invariants once everything settled.
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { mintToken } from '../src/http/index.js';
import { backlog, checkEverything, openInspector, type Inspector } from './checks.js';
import type { Member } from './cluster.js';
import { distributed, embedded, type Deployment } from './deployments.js';
import { drawFault, faultWeights, inject, restart, type FaultRecord, type FaultTargets } from './faults.js';
import { createRng } from './random.js';
import { call, CATALOG, createWorkload } from './workload.js';

export type Mode = 'embedded' | 'distributed';

export interface CampaignOptions {
  mode: Mode;
  seed: number;
  /** How long the workload and the faults run. */
  minutes: number;
  /** Workload operations per second (default: embedded 40, distributed 15). */
  rate?: number;
  /** Share of (consumer, event) pairs whose handler fails (ORDERFLOW_FAULTS), default 0.02. */
  handlerFaultRate?: number;
  /** Where the run's folder goes (default: the temporary folder). */
  root?: string;
  /** Keep the processes' logs of a run that passed. */
  keep?: boolean;
  /** How long the system may take to settle once the faults stopped (default 5 minutes). */
  settleTimeoutMs?: number;
  /** Progress lines (default: stdout). */
  print?: (line: string) => void;
}

export interface CampaignResult {
  ok: boolean;
  violations: string[];
  figures: Record<string, unknown>;
  dir: string;
  replay: string;
}

const JWT_SECRET = 'chaos-campaign-secret-of-at-least-32-characters';
const repo = fileURLToPath(new URL('..', import.meta.url));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The command line that runs the same campaign again. */
export function replayCommand(options: CampaignOptions): string {
  const extra = [options.rate !== undefined ? `--rate ${options.rate}` : '', options.handlerFaultRate !== undefined ? `--handler-fault-rate ${options.handlerFaultRate}` : ''].filter(Boolean).join(' ');
  return `npm run chaos -- --mode ${options.mode} --seed ${options.seed} --minutes ${options.minutes}${extra ? ` ${extra}` : ''}`;
}

/** The operator: re-drives what is dead-lettered, as from the console or `orderflow dlq retry`. */
function createOperator(urls: readonly string[], adminToken: string) {
  let redriven = 0;
  const letters = new Set<string>();
  let operating = false;
  let loop: Promise<void> = Promise.resolve();
  async function redrive(): Promise<void> {
    for (const url of urls) {
      const dead = await call(url, 'GET', '/api/dead-letters?status=dead&limit=1000', adminToken);
      if (dead.status !== 200) continue;
      for (const d of dead.body.deadLetters as { id: string }[]) {
        if ((await call(url, 'POST', `/api/dead-letters/${d.id}/retry`, adminToken)).status !== 202) continue;
        redriven++;
        letters.add(d.id);
      }
      return;
    }
  }
  return {
    redrive,
    redriven: () => redriven,
    /** Dead letters re-driven at least once (a letter re-driven while its handler still fails dies again, and is re-driven again). */
    distinct: () => letters.size,
    /** Every 5 s until stopped. */
    start() {
      operating = true;
      loop = (async () => {
        while (operating) {
          await sleep(5000);
          if (operating) await redrive();
        }
      })();
    },
    async stop() {
      operating = false;
      await loop;
    },
  };
}

/** Notes a process that exits without being asked as a crash, and starts it again. */
function superviseCrashes(members: readonly Member[], state: { stopping: boolean; down: Set<string>; crashes: string[]; started: number }, print: (line: string) => void): void {
  for (const m of members) {
    m.onExit((how) => {
      if (state.stopping || state.down.has(m.spec.name)) return;
      state.crashes.push(`${m.spec.name} exited (${how}) at ${Math.round((Date.now() - state.started) / 1000)} s without being killed`);
      print(`chaos: ${state.crashes.at(-1)}; starting it again`);
      void restart(m).catch((error: unknown) => state.crashes.push(`${m.spec.name} could not start again: ${(error as Error).message}`));
    });
  }
}

interface FaultWindow {
  seed: number;
  started: number;
  until: number;
  deployment: Deployment;
  targets: FaultTargets;
  violations: string[];
  progress(faults: number): void;
}

/** Draws and injects faults one after another until the window ends; returns what was done. */
async function runFaults(w: FaultWindow): Promise<FaultRecord[]> {
  const faults: FaultRecord[] = [];
  const rng = createRng(w.seed, 'faults');
  const weights = faultWeights(w.deployment.targets);
  const names = w.deployment.members.map((m) => m.spec.name);
  let lastProgress = Date.now();
  for (;;) {
    const gap = rng.int(1000, 6000);
    const fault = drawFault(rng, weights, names);
    await sleep(gap);
    if (Date.now() + fault.durationMs > w.until) break;
    const record: FaultRecord = { atMs: Date.now() - w.started, ...fault };
    faults.push(record);
    try {
      await inject(record, w.targets);
    } catch (error) {
      record.error = (error as Error).message;
      w.violations.push(`fault ${record.kind} on ${record.target} at ${record.atMs} ms could not be undone: ${record.error}`);
    }
    if (Date.now() - lastProgress > 15_000) {
      lastProgress = Date.now();
      w.progress(faults.length);
    }
  }
  await sleep(Math.max(0, w.until - Date.now()));
  return faults;
}

/**
 * Waits until nothing is left to do (every order settled, no failing or parked delivery, every
 * consumer caught up, the outbox empty), twice in a row a second apart, re-driving dead letters
 * meanwhile; returns how long it took, or what was left when `timeoutMs` ran out.
 */
async function settle(inspector: Inspector, distributedMode: boolean, redrive: () => Promise<void>, timeoutMs: number): Promise<{ settled: boolean; ms: number; left: Record<string, number> }> {
  const started = performance.now();
  let left: Record<string, number> = {};
  const quiet = async () => {
    left = await backlog(inspector, distributedMode);
    return Object.values(left).every((n) => n === 0);
  };
  while (performance.now() - started < timeoutMs) {
    await redrive();
    // A consumer's commit can be on its way: twice in a row, a second apart.
    if ((await quiet()) && (await sleep(1000), await quiet())) return { settled: true, ms: Math.round(performance.now() - started), left };
    await sleep(1000);
  }
  return { settled: false, ms: Math.round(performance.now() - started), left: Object.fromEntries(Object.entries(left).filter(([, n]) => n > 0)) };
}

function faultFigures(faults: readonly FaultRecord[]) {
  const byKind: Record<string, number> = {};
  for (const f of faults) byKind[f.kind] = (byKind[f.kind] ?? 0) + 1;
  const recoveries = faults.filter((f) => f.recoveryMs !== undefined).map((f) => f.recoveryMs!);
  return {
    faults: { total: faults.length, byKind },
    recoveries: { restartsAndBrokerStarts: recoveries.length, maxMs: Math.max(0, ...recoveries), meanMs: recoveries.length ? Math.round(recoveries.reduce((a, b) => a + b, 0) / recoveries.length) : 0 },
  };
}

/** Runs one campaign; never throws for a broken invariant (see `ok` and `violations`). */
export async function runCampaign(options: CampaignOptions): Promise<CampaignResult> {
  const print = options.print ?? ((line: string) => console.log(line));
  const { mode, seed, minutes } = options;
  const replay = replayCommand(options);
  const built = spawnSync(process.execPath, [join(repo, 'scripts/build.mjs'), '--if-stale'], { stdio: 'inherit' });
  if (built.status !== 0) throw new Error('the server build failed');
  const dir = join(options.root ?? join(tmpdir(), 'orderflow-chaos'), `${mode}-seed-${seed}-${new Date().toISOString().replace(/[:.]/g, '-')}`);
  mkdirSync(dir, { recursive: true });
  print(`chaos: ${mode}, seed ${seed}, ${minutes} min; folder ${dir}\nchaos: replay with: ${replay}`);

  const started = Date.now();
  const until = started + minutes * 60_000;
  const handlerFaultRate = options.handlerFaultRate ?? 0.02;
  const env = {
    JWT_SECRET,
    ORDER_RATE_LIMIT: '0',
    // tok_timeout orders are cancelled by their saga deadline within the run.
    SAGA_TIMEOUT_MS: '20000',
    LOG_LEVEL: 'info',
    DELIVERY_RETRY_BASE_MS: '100',
    // The checks read every consumer's inbox records: none may be pruned during a campaign.
    INBOX_RETENTION: '365d',
    ORDERFLOW_FAULTS: `${seed}:${handlerFaultRate}:${until}`,
  };
  const deployment = mode === 'embedded' ? await embedded(dir, env) : await distributed(dir, env, seed);
  const { members, urls } = deployment;
  const violations: string[] = [];
  let faults: FaultRecord[] = [];
  const state = { stopping: false, down: new Set<string>(), crashes: [] as string[], started };
  let inspector: Inspector | undefined;
  const figures: Record<string, unknown> = { mode, seed, minutes, handlerFaultRate, commit: commitOf(), replay, ...deployment.notes };

  try {
    await Promise.all(members.map((m) => m.start()));
    superviseCrashes(members, state, print);
    const adminToken = mintToken(JWT_SECRET, { sub: 'chaos-admin', role: 'admin', expiresInSeconds: 24 * 3600 });
    const customers = Array.from({ length: 5 }, (_, n) => ({ sub: `customer-${n}`, token: mintToken(JWT_SECRET, { sub: `customer-${n}`, role: 'customer', expiresInSeconds: 24 * 3600 }) }));
    for (const product of CATALOG) {
      const created = await call(urls[0]!, 'POST', '/products', adminToken, product, {}, 30_000);
      if (created.status !== 201) throw new Error(`POST /products ${product.productId}: ${created.status} ${JSON.stringify(created.body)}`);
    }
    inspector = await openInspector(deployment.databaseUrl);
    const operator = createOperator(urls, adminToken);
    operator.start();
    const workload = createWorkload({ urls, adminToken, customers, rate: options.rate ?? (mode === 'embedded' ? 40 : 15), workers: 4, seed });
    workload.start();

    const targets: FaultTargets = { ...deployment.targets, members, expectDown: (name, isDown) => void (isDown ? state.down.add(name) : state.down.delete(name)) };
    const progress = (n: number) => print(`chaos: ${Math.round((Date.now() - started) / 1000)} s, ${workload.record.accepted.size} orders accepted, ${n} faults, ${operator.redriven()} dead letters re-driven`);
    faults = await runFaults({ seed, started, until, deployment, targets, violations, progress });
    await workload.stop();
    writeFileSync(join(dir, 'schedule.json'), JSON.stringify(faults, null, 2));

    // Every process up, the handler failures over (their deadline passed), then settle.
    print('chaos: faults stopped; waiting for the system to settle');
    for (const m of members) if (!m.alive()) await restart(m);
    const settled = await settle(inspector, mode === 'distributed', operator.redrive, options.settleTimeoutMs ?? 300_000);
    await operator.stop();
    if (!settled.settled) violations.push(`the system did not settle in ${settled.ms} ms; still to do: ${JSON.stringify(settled.left)}`);

    const checked = await checkEverything(inspector, urls[0]!, adminToken, workload.record);
    violations.push(...checked.violations, ...state.crashes);
    Object.assign(figures, checked.figures, { requests: workload.record.requests, placementsNeverAnswered: workload.record.unanswered }, faultFigures(faults), {
      crashes: state.crashes.length,
      deadLettersRedriven: { distinct: operator.distinct(), redrives: operator.redriven() },
      settleMs: settled.ms,
    });
    state.stopping = true;
    for (const m of members) {
      const how = await m.stop();
      if (how !== '0') violations.push(`${m.spec.name} did not stop cleanly on SIGTERM (${how})`);
    }
  } catch (error) {
    violations.push(`the campaign itself failed: ${(error as Error).stack ?? String(error)}`);
  } finally {
    state.stopping = true;
    await Promise.all(members.map((m) => m.stop(5000)));
    await inspector?.close().catch(() => undefined);
    // A failed embedded run keeps its database for a look.
    try {
      if (violations.length > 0 && mode === 'embedded') cpSync(join(dir, 'data'), join(dir, 'database'), { recursive: true, filter: (src) => !src.endsWith('chaos-ballast') });
    } catch (error) {
      print(`chaos: could not keep the database: ${(error as Error).message}`);
    }
    await deployment.dispose().catch(() => undefined);
  }
  return report({ dir, members, faults, figures, violations, started, keep: options.keep ?? false, mode, seed, replay, print });
}

interface ReportInput {
  dir: string;
  members: readonly Member[];
  faults: readonly FaultRecord[];
  figures: Record<string, unknown>;
  violations: string[];
  started: number;
  keep: boolean;
  mode: Mode;
  seed: number;
  replay: string;
  print(line: string): void;
}

/** Writes the run's figures and schedule, prints them, and keeps the logs only when they are wanted. */
function report(r: ReportInput): CampaignResult {
  const { dir, figures, violations, print } = r;
  figures.violations = violations.length;
  figures.durationMs = Date.now() - r.started;
  writeFileSync(join(dir, 'schedule.json'), JSON.stringify(r.faults, null, 2));
  writeFileSync(join(dir, 'figures.json'), JSON.stringify({ ...figures, violations }, null, 2));
  const ok = violations.length === 0;
  if (ok && !r.keep) for (const m of r.members) rmSync(join(dir, `${m.spec.name}.log`), { force: true });
  rmSync(join(dir, 'data'), { recursive: true, force: true });
  print(`chaos: figures\n${JSON.stringify(figures, null, 2)}`);
  if (ok) print(`chaos: every invariant held (${r.mode}, seed ${r.seed})`);
  else print(`chaos: ${violations.length} violations (${r.mode}, seed ${r.seed}):\n  ${violations.slice(0, 50).join('\n  ')}\nchaos: seed, schedule and every process's log are in ${dir}\nchaos: replay with: ${r.replay}`);
  return { ok, violations, figures, dir, replay: r.replay };
}

/** The commit the campaign ran on, for the figures. */
export function commitOf(): string {
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: repo }).toString().trim();
  } catch {
    return 'unknown';
  }
}
