/**
 * `npm run bench:startup [-- --runs=5] [-- label=/path/to/checkout ...]`: how long `orderflow start`
 * (bin/orderflow.js, the embedded mode) takes from spawn to its first `GET /health` 200, the CPU it
 * used for that (utime + stime, which a busy machine inflates less than the wall time), and its
 * idle memory 3 s later (VmRSS; VmHWM the peak). Each run starts on a new SQLite file (migrations,
 * secret and demo catalog made: "first start") and once more on the same file ("restart"). With
 * several checkouts (e.g. `before=/tmp/old after=.`), their runs take turns, to share the noise.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';

interface Sample {
  ms: number;
  cpuMs: number;
  rssMb: number;
  hwmMb: number;
}

const args = process.argv.slice(2);
const runs = Number(args.find((a) => a.startsWith('--runs='))?.slice('--runs='.length) ?? 5);
const given = args.filter((a) => a.includes('=') && !a.startsWith('--')).map((a) => a.split('=') as [string, string]);
const checkouts = given.length > 0 ? given.map(([label, path]) => [label, resolve(path)] as const) : [['orderflow', fileURLToPath(new URL('..', import.meta.url))] as const];
// Below Linux's ephemeral range, where outgoing connections could hold the port.
let port = 21_000 + Math.floor(Math.random() * 9_000);

const status = (pid: number, field: string) => Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) / 1024;
function cpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10; // clock ticks of 10 ms
}

async function startOnce(root: string, dir: string): Promise<Sample> {
  const url = `http://127.0.0.1:${port}/health`;
  const started = performance.now();
  const child = spawn(process.execPath, ['bin/orderflow.js', 'start'], {
    cwd: root,
    env: { PATH: process.env.PATH, DATABASE_URL: `sqlite:${join(dir, 'orderflow.db')}`, PORT: String(port++), LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((done) => child.once('exit', done));
  for (;;) {
    if (child.exitCode !== null) throw new Error(`orderflow start in ${root} exited before answering /health:\n${stderr}`);
    if (await fetch(url).then((r) => r.status === 200, () => false)) break;
    await sleep(5);
  }
  const ms = performance.now() - started;
  const cpu = cpuMs(child.pid!);
  await sleep(3_000);
  const sample = { ms, cpuMs: cpu, rssMb: status(child.pid!, 'VmRSS'), hwmMb: status(child.pid!, 'VmHWM') };
  child.kill('SIGTERM');
  if ((await exited) !== 0) throw new Error(`orderflow start in ${root} did not exit 0 on SIGTERM:\n${stderr}`);
  return sample;
}

const samples = new Map(checkouts.map(([label]) => [label, { 'first start': [] as Sample[], restart: [] as Sample[] }]));
for (let run = 0; run < runs; run++) {
  for (const [label, root] of checkouts) {
    const dir = mkdtempSync(join(tmpdir(), 'orderflow-startup-'));
    try {
      samples.get(label)!['first start'].push(await startOnce(root, dir));
      samples.get(label)!.restart.push(await startOnce(root, dir));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const range = (xs: number[], digits: number) => `${median(xs).toFixed(digits)} (${Math.min(...xs).toFixed(digits)}–${Math.max(...xs).toFixed(digits)})`;
console.log(`orderflow start, embedded mode, ${runs} runs; median (min–max); load average ${readFileSync('/proc/loadavg', 'utf8').split(' ')[0]} at the end`);
for (const [label, kinds] of samples) {
  for (const [kind, xs] of Object.entries(kinds)) {
    console.log(
      `${label} ${kind}: to /health 200 ${range(xs.map((x) => x.ms), 0)} ms, CPU ${range(xs.map((x) => x.cpuMs), 0)} ms;` +
        ` idle VmRSS ${range(xs.map((x) => x.rssMb), 1)} MB, VmHWM ${range(xs.map((x) => x.hwmMb), 1)} MB`,
    );
  }
}
