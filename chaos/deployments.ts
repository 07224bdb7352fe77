// The deployments a campaign runs: one embedded process on a data folder that can fill up, or
// six distributed processes on a scratch PostgreSQL database (each through a proxy of its own)
// and a private nats-server.
import { spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { runCli } from '../test/cli/cli.js';
import { createScratchDatabase, type ScratchDatabase } from '../test/support/databases.js';
import { createThrowawayNats, type ThrowawayNats } from '../test/support/nats-server.js';
import { createMember, type Member, type ProcessSpec } from './cluster.js';
import type { FaultTargets } from './faults.js';
import { startProxy, type Proxy } from './proxy.js';

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

/** A small tmpfs for the embedded data folder, so the disk can fill up; undefined where mounting is not allowed. */
function mountTmpfs(dir: string): string | undefined {
  mkdirSync(dir, { recursive: true });
  const mounted = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=256m', 'tmpfs', dir], { stdio: 'ignore' });
  return mounted.status === 0 ? dir : undefined;
}

/** The processes of a campaign, where to reach them, and what the fault scheduler can break. */
export interface Deployment {
  members: Member[];
  urls: string[];
  databaseUrl: string;
  targets: Omit<FaultTargets, 'expectDown'>;
  notes: Record<string, unknown>;
  dispose(): Promise<void>;
}

export async function embedded(dir: string, env: Record<string, string>): Promise<Deployment> {
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

export async function distributed(dir: string, env: Record<string, string>, seed: number): Promise<Deployment> {
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
