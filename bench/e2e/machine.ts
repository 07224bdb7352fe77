/** What the figures were measured on: cores, memory, disk, Node, the code's commit. */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus, release, totalmem } from 'node:os';
import { fileURLToPath } from 'node:url';

export interface Machine {
  nproc: number;
  cpuModel: string;
  memoryGiB: number;
  /** The disk the databases live on. */
  disk: { device: string; fsType: string; rotational: boolean | undefined };
  node: string;
  kernel: string;
  git: { commit: string; dirty: boolean } | undefined;
}

const root = fileURLToPath(new URL('../..', import.meta.url));

function run(command: string, args: string[]): string | undefined {
  try {
    return execFileSync(command, args, { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return undefined;
  }
}

export function describeMachine(dataDir: string): Machine {
  const df = run('df', ['--output=source,fstype', dataDir])?.split('\n')[1]?.trim().split(/\s+/) ?? [];
  const device = df[0] ?? 'unknown';
  let rotational: boolean | undefined;
  try {
    rotational = readFileSync(`/sys/block/${device.replace('/dev/', '').replace(/\d+$/, '')}/queue/rotational`, 'utf8').trim() === '1';
  } catch {
    rotational = undefined;
  }
  const commit = run('git', ['rev-parse', '--short=12', 'HEAD']);
  const status = run('git', ['status', '--porcelain', '--untracked-files=no']);
  return {
    nproc: Number(run('nproc', []) ?? cpus().length),
    cpuModel: cpus()[0]?.model ?? 'unknown',
    memoryGiB: Number((totalmem() / 2 ** 30).toFixed(1)),
    disk: { device, fsType: df[1] ?? 'unknown', rotational },
    node: process.version,
    kernel: release(),
    git: commit ? { commit, dirty: (status ?? '') !== '' } : undefined,
  };
}
