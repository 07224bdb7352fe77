// A seeded fault campaign (issue 16, docs/reliability.md): the compiled server under a random
// workload and randomly scheduled faults, then the invariants once everything settled.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { mintToken } from '../src/http/index.js';
import { runCli } from '../test/cli/cli.js';
import { createScratchDatabase, type ScratchDatabase } from '../test/support/databases.js';
import { createThrowawayNats, type ThrowawayNats } from '../test/support/nats-server.js';
import { checkEverything, openInspector, backlog, type Inspector } from './checks.js';
import { createMember, type Member, type ProcessSpec } from './cluster.js';
import { drawFault, faultWeights, inject, restart, type FaultRecord, type FaultTargets } from './faults.js';
import { startProxy, type Proxy } from './proxy.js';
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

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** The command line that runs the same campaign again. */
export function replayCommand(options: CampaignOptions): string {
  const extra = [options.rate !== undefined ? `--rate ${options.rate}` : '', options.handlerFaultRate !== undefined ? `--handler-fault-rate ${options.handlerFaultRate}` : ''].filter(Boolean).join(' ');
  return `npm run chaos -- --mode ${options.mode} --seed ${options.seed} --minutes ${options.minutes}${extra ? ` ${extra}` : ''}`;
}

/** A small tmpfs for the embedded data folder, so the disk can fill up; undefined where mounting is not allowed. */
function mountTmpfs(dir: string): string | undefined {
  mkdirSync(dir, { recursive: true });
  const mounted = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=256m', 'tmpfs', dir], { stdio: 'ignore' });
  return mounted.status === 0 ? dir : undefined;
}

interface Deployment {
  members: Member[];
  urls: string[];
  databaseUrl: string;
  targets: Omit<FaultTargets, 'expectDown'>;
  notes: Record<string, unknown>;
  dispose(): Promise<void>;
}

async function embedded(dir: string, env: Record<string, string>): Promise<Deployment> {
  const data = join(dir, 'data');
  const diskDir = process.env.CHAOS_NO_TMPFS ? undefined : mountTmpfs(data);
  mkdirSync(data, { recursive: true });
  const port = await freePort();
  const spec: ProcessSpec = { name: 'orderflow', modules: 'orders,inventory,payments,shipments,http', port, env: { ...env, DATABASE_URL: `sqlite:${join(data, 'orderflow.db')}` } };
  return {
    members: [createMember(spec, dir)],
    urls: [`http://127.0.0.1:${port}`],
    databaseUrl: spec.env.DATABASE_URL!,
    targets: { members: [], ...(diskDir ? { diskDir } : {}) },
    notes: { dataFolder: diskDir ? 'a 256 MB tmpfs (disk-full faults on)' : 'a plain folder: mounting a tmpfs was not allowed here (no disk-full faults)' },
    async dispose() {
      if (diskDir) spawnSync('umount', ['-l', diskDir], { stdio: 'ignore' });
    },
  };
}

async function distributed(dir: string, env: Record<string, string>, seed: number): Promise<Deployment> {
  let scratch: ScratchDatabase | undefined;
  let nats: ThrowawayNats | undefined;
  const proxies = new Map<string, Proxy>();
  const dispose = async () => {
    await Promise.all([...proxies.values()].map((p) => p.close()));
    await nats?.dispose();
    await scratch?.drop();
  };
  try {
    scratch = await createScratchDatabase('postgres');
    nats = await createThrowawayNats();
    await nats.start();
    const common = { ...env, NATS_URL: nats.url, NATS_STREAM: `CHAOS_${seed}` };
    const migrated = await runCli(['migrate'], { ...common, DATABASE_URL: scratch.url }, 120_000);
    if (migrated.code !== 0) throw new Error(`orderflow migrate failed: ${migrated.stderr}`);
    const layout = [
      ['api-a', 'http,orders'],
      ['api-b', 'http,orders'],
      ['inventory-a', 'inventory'],
      ['inventory-b', 'inventory'],
      ['fulfilment-a', 'payments,shipments'],
      ['fulfilment-b', 'payments,shipments'],
    ] as const;
    const direct = new URL(scratch.url);
    const members: Member[] = [];
    const urls: string[] = [];
    for (const [name, modules] of layout) {
      const proxy = await startProxy({ host: direct.hostname, port: Number(direct.port || 5432) });
      proxies.set(name, proxy);
      const through = new URL(scratch.url);
      through.port = String(proxy.port);
      const port = modules.includes('http') ? await freePort() : undefined;
      if (port) urls.push(`http://127.0.0.1:${port}`);
      members.push(createMember({ name, modules, ...(port ? { port } : {}), env: { ...common, DATABASE_URL: through.toString() } }, dir));
    }
    return { members, urls, databaseUrl: scratch.url, targets: { members: [], proxies, nats }, notes: { processes: Object.fromEntries(layout) }, dispose };
  } catch (error) {
    await dispose();
    throw error;
  }
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
  const faultsUntil = started + minutes * 60_000;
  const env = {
    JWT_SECRET,
    ORDER_RATE_LIMIT: '0',
    // tok_timeout orders are cancelled by their saga deadline within the run.
    SAGA_TIMEOUT_MS: '20000',
    LOG_LEVEL: 'info',
    DELIVERY_RETRY_BASE_MS: '100',
    ORDERFLOW_FAULTS: `${seed}:${options.handlerFaultRate ?? 0.02}:${faultsUntil}`,
  };
  const deployment = mode === 'embedded' ? await embedded(dir, env) : await distributed(dir, env, seed);
  const { members, urls } = deployment;
  const violations: string[] = [];
  const faults: FaultRecord[] = [];
  const crashes: string[] = [];
  let inspector: Inspector | undefined;
  const down = new Set<string>();
  const figures: Record<string, unknown> = { mode, seed, minutes, commit: commitOf(), replay, ...deployment.notes };
  let stopping = false;

  try {
    await Promise.all(members.map((m) => m.start()));
    // A process that exits when nothing asked it to is a crash: noted, and started again.
    for (const m of members) {
      m.onExit((how) => {
        if (stopping || down.has(m.spec.name)) return;
        crashes.push(`${m.spec.name} exited (${how}) at ${Math.round((Date.now() - started) / 1000)} s without being killed`);
        print(`chaos: ${crashes.at(-1)}; starting it again`);
        void restart(m).catch((error: unknown) => crashes.push(`${m.spec.name} could not start again: ${(error as Error).message}`));
      });
    }
    const adminToken = mintToken(JWT_SECRET, { sub: 'chaos-admin', role: 'admin', expiresInSeconds: 24 * 3600 });
    const customers = Array.from({ length: 5 }, (_, n) => ({ sub: `customer-${n}`, token: mintToken(JWT_SECRET, { sub: `customer-${n}`, role: 'customer', expiresInSeconds: 24 * 3600 }) }));
    for (const product of CATALOG) {
      const created = await call(urls[0]!, 'POST', '/products', adminToken, product, {}, 30_000);
      if (created.status !== 201) throw new Error(`POST /products ${product.productId}: ${created.status} ${JSON.stringify(created.body)}`);
    }
    inspector = await openInspector(deployment.databaseUrl);

    // The operator: re-drives what is dead-lettered, as from the console or `orderflow dlq retry`.
    let redriven = 0;
    const redrive = async () => {
      for (const url of urls) {
        const dead = await call(url, 'GET', '/api/dead-letters?status=dead&limit=1000', adminToken);
        if (dead.status !== 200) continue;
        for (const d of dead.body.deadLetters as { id: string }[]) if ((await call(url, 'POST', `/api/dead-letters/${d.id}/retry`, adminToken)).status === 202) redriven++;
        return;
      }
    };
    let operating = true;
    const operator = (async () => {
      while (operating) {
        await sleep(5000);
        await redrive();
      }
    })();

    const workload = createWorkload({ urls, adminToken, customers, rate: options.rate ?? (mode === 'embedded' ? 40 : 15), workers: 4, seed });
    workload.start();
    const targets: FaultTargets = { ...deployment.targets, members, expectDown: (name, isDown) => (isDown ? down.add(name) : down.delete(name)) };
    const rng = createRng(seed, 'faults');
    const weights = faultWeights(deployment.targets);
    const names = members.map((m) => m.spec.name);
    let lastProgress = Date.now();
    for (;;) {
      const gap = rng.int(1000, 6000);
      const fault = drawFault(rng, weights, names);
      await sleep(gap);
      if (Date.now() + fault.durationMs > faultsUntil) break;
      const record: FaultRecord = { atMs: Date.now() - started, ...fault };
      faults.push(record);
      try {
        await inject(record, targets);
      } catch (error) {
        record.error = (error as Error).message;
        violations.push(`fault ${record.kind} on ${record.target} at ${record.atMs} ms could not be undone: ${record.error}`);
      }
      if (Date.now() - lastProgress > 15_000) {
        lastProgress = Date.now();
        print(`chaos: ${Math.round((Date.now() - started) / 1000)} s, ${workload.record.accepted.size} orders accepted, ${faults.length} faults, ${redriven} dead letters re-driven`);
      }
    }
    await sleep(Math.max(0, faultsUntil - Date.now()));
    await workload.stop();
    writeFileSync(join(dir, 'schedule.json'), JSON.stringify(faults, null, 2));

    // Settle: every process up, handler faults over (their deadline passed), dead letters re-driven, every backlog empty.
    print('chaos: faults stopped; waiting for the system to settle');
    for (const m of members) if (!m.alive()) await restart(m);
    const settleStarted = performance.now();
    let last: Record<string, number> = {};
    let settled = false;
    while (performance.now() - settleStarted < (options.settleTimeoutMs ?? 300_000)) {
      await redrive();
      last = await backlog(inspector, mode === 'distributed');
      if (Object.values(last).every((n) => n === 0)) {
        // Twice in a row, a second apart: a consumer's commit can be on its way.
        await sleep(1000);
        last = await backlog(inspector, mode === 'distributed');
        if (Object.values(last).every((n) => n === 0)) {
          settled = true;
          break;
        }
      }
      await sleep(1000);
    }
    operating = false;
    await operator;
    const settleMs = Math.round(performance.now() - settleStarted);
    if (!settled) violations.push(`the system did not settle in ${settleMs} ms; still to do: ${JSON.stringify(Object.fromEntries(Object.entries(last).filter(([, n]) => n > 0)))}`);

    const checked = await checkEverything(inspector, urls[0]!, adminToken, workload.record);
    violations.push(...checked.violations, ...crashes);
    const byKind: Record<string, number> = {};
    for (const f of faults) byKind[f.kind] = (byKind[f.kind] ?? 0) + 1;
    const recoveries = faults.filter((f) => f.recoveryMs !== undefined).map((f) => f.recoveryMs!);
    Object.assign(figures, {
      ...checked.figures,
      requests: workload.record.requests,
      placementsNeverAnswered: workload.record.unanswered,
      faults: { total: faults.length, byKind, handlerFaultRate: options.handlerFaultRate ?? 0.02 },
      recoveries: { restartsAndBrokerStarts: recoveries.length, maxMs: Math.max(0, ...recoveries), meanMs: recoveries.length ? Math.round(recoveries.reduce((a, b) => a + b, 0) / recoveries.length) : 0 },
      crashes: crashes.length,
      deadLettersRedriven: redriven,
      settleMs,
    });
    stopping = true;
    for (const m of members) {
      const how = await m.stop();
      if (how !== '0') violations.push(`${m.spec.name} did not stop cleanly on SIGTERM (${how})`);
    }
  } catch (error) {
    violations.push(`the campaign itself failed: ${(error as Error).stack ?? String(error)}`);
  } finally {
    stopping = true;
    await Promise.all(members.map((m) => m.stop(5000)));
    await inspector?.close().catch(() => undefined);
    await deployment.dispose().catch(() => undefined);
  }
  figures.violations = violations.length;
  figures.durationMs = Date.now() - started;
  writeFileSync(join(dir, 'schedule.json'), JSON.stringify(faults, null, 2));
  writeFileSync(join(dir, 'figures.json'), JSON.stringify({ ...figures, violations }, null, 2));
  const ok = violations.length === 0;
  if (ok && !options.keep) for (const m of members) rmSync(join(dir, `${m.spec.name}.log`), { force: true });
  rmSync(join(dir, 'data'), { recursive: true, force: true });
  print(`chaos: figures\n${JSON.stringify(figures, null, 2)}`);
  if (ok) print(`chaos: every invariant held (${mode}, seed ${seed})`);
  else print(`chaos: ${violations.length} violations (${mode}, seed ${seed}):\n  ${violations.slice(0, 50).join('\n  ')}\nchaos: seed, schedule and every process's log are in ${dir}\nchaos: replay with: ${replay}`);
  return { ok, violations, figures, dir, replay };
}

/** The commit the campaign ran on, for the figures. */
export function commitOf(): string {
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: repo }).toString().trim();
  } catch {
    return 'unknown';
  }
}
