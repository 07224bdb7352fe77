/**
 * Real orderflow server processes, started the way a user starts them (`node [options]
 * bin/orderflow.js start`: the embedded mode as `npm start` does, a process of a split deployment
 * as `orderflow start`), configured only through the environment, and stopped with SIGTERM.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const bin = fileURLToPath(new URL('../../bin/orderflow.js', import.meta.url));
const root = fileURLToPath(new URL('../..', import.meta.url));

/** The options `npm start` gives `node` (package.json): an embedded server is started with them. */
export const NPM_START_NODE_OPTIONS = nodeOptionsOfStartScript();

function nodeOptionsOfStartScript(): string[] {
  const script = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts.start!;
  const words = script.trim().split(/\s+/);
  const binAt = words.indexOf('bin/orderflow.js');
  if (words[0] !== 'node' || binAt < 0 || words.slice(binAt + 1).join(' ') !== 'start') {
    throw new Error(`the start script is not "node [options] bin/orderflow.js start": ${script}`);
  }
  return words.slice(1, binAt);
}

/** orderflow's variables: the bench pins every one it needs and passes none of the caller's. */
const ORDERFLOW_VARIABLES = [
  'PORT',
  'DATABASE_URL',
  'NATS_URL',
  'NATS_STREAM',
  'NATS_PARTITIONS',
  'MODULES',
  'JWT_SECRET',
  'SAGA_TIMEOUT_MS',
  'PAYMENT_SUCCESS_RATE',
  'PAYMENT_LATENCY_MS',
  'ORDER_RATE_LIMIT',
  'SQLITE_SYNCHRONOUS',
  'LOG_LEVEL',
  'DELIVERY_MAX_RETRIES',
  'DELIVERY_RETRY_BASE_MS',
  'DELIVERY_BATCH_SIZE',
];

export interface ServerProcess {
  /** What it runs, e.g. `embedded` or `http,orders`. */
  name: string;
  pid: number;
  child: ChildProcess;
  /** `http://127.0.0.1:<port>` when it serves HTTP. */
  url: string | undefined;
  /** The last lines it printed (stdout and stderr), for error messages. */
  tail(): string;
  /** Warnings and errors it logged, counted by message and error (e.g. `handler failed: deadlock detected`). */
  problems(): Record<string, number>;
  /** SIGTERM, then SIGKILL if it has not exited after `graceMs`; resolves with the exit code. */
  stop(graceMs?: number): Promise<number | null>;
}

export interface SpawnOptions {
  /** Options for `node` itself, before the script (none: as `orderflow start` runs). */
  nodeOptions?: readonly string[];
  /** `--cpu-prof` into this folder; the profile is written when the process exits. */
  cpuProfileDir?: string;
  startTimeoutMs?: number;
}

/** Starts `orderflow start` and resolves once it logged `orderflow started`. */
export async function startServer(name: string, env: Record<string, string>, options: SpawnOptions = {}): Promise<ServerProcess> {
  const base: NodeJS.ProcessEnv = { ...process.env };
  for (const variable of ORDERFLOW_VARIABLES) delete base[variable];
  const nodeArgs = options.cpuProfileDir ? ['--cpu-prof', `--cpu-prof-dir=${options.cpuProfileDir}`] : [];
  const child = spawn(process.execPath, [...(options.nodeOptions ?? []), ...nodeArgs, bin, 'start'], { cwd: root, env: { ...base, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: string[] = [];
  // BENCH_LOG_DIR=<folder> keeps each server's whole output, for diagnosing a run.
  const logFile = process.env.BENCH_LOG_DIR ? createWriteStream(join(process.env.BENCH_LOG_DIR, `${name.replace(/[^a-z0-9]+/gi, '-')}-${child.pid}.log`)) : undefined;
  const problems: Record<string, number> = {};
  const remember = (line: string) => {
    logFile?.write(`${line}\n`);
    if (line.startsWith('{"level":') && !line.startsWith('{"level":30') && !line.startsWith('{"level":20') && !line.startsWith('{"level":10')) {
      try {
        const entry = JSON.parse(line) as { msg?: string; err?: { message?: string }; consumer?: string };
        const key = `${entry.msg ?? '?'}${entry.consumer ? ` (${entry.consumer})` : ''}${entry.err?.message ? `: ${entry.err.message.slice(0, 120)}` : ''}`;
        problems[key] = (problems[key] ?? 0) + 1;
      } catch {
        // not a log line after all
      }
    }
    lines.push(line.length > 2000 ? `${line.slice(0, 2000)}…` : line);
    if (lines.length > 60) lines.shift();
  };
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code, signal) => resolve(code ?? (signal ? 128 : null))));
  void exited.then(() => setTimeout(() => logFile?.end(), 100));
  createInterface({ input: child.stderr! }).on('line', remember);

  const started = new Promise<string | undefined>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name} did not start in ${options.startTimeoutMs ?? 60_000} ms:\n${lines.join('\n')}`)), options.startTimeoutMs ?? 60_000);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited (${code}) before it started:\n${lines.join('\n')}`));
    });
    createInterface({ input: child.stdout! }).on('line', (line) => {
      remember(line);
      if (!line.includes('"orderflow started"')) return;
      clearTimeout(timer);
      const address = (JSON.parse(line) as { address?: string }).address;
      // The server listens on every interface; the bench talks to it on the loopback only.
      resolve(address ? `http://127.0.0.1:${new URL(address).port}` : undefined);
    });
  });

  const server: ServerProcess = {
    name,
    pid: child.pid!,
    child,
    url: undefined,
    tail: () => lines.join('\n'),
    problems: () => ({ ...problems }),
    async stop(graceMs = 30_000) {
      if (child.exitCode !== null || child.signalCode !== null) return exited;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
  try {
    server.url = await started;
  } catch (error) {
    await server.stop(2000);
    throw error;
  }
  return server;
}
