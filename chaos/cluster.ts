// The orderflow processes of a campaign, run as users run them (`node bin/orderflow.js start`),
// each with its log file in the run's folder, and the signals the fault scheduler sends them.
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, type WriteStream } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const bin = fileURLToPath(new URL('../bin/orderflow.js', import.meta.url));
const root = fileURLToPath(new URL('..', import.meta.url));

/** One process of the deployment: its name, MODULES and environment of its own. */
export interface ProcessSpec {
  name: string;
  modules: string;
  /** Fixed across restarts, so clients find it again; absent for processes without HTTP. */
  port?: number;
  env: Record<string, string>;
}

export interface Member {
  readonly spec: ProcessSpec;
  /** Running or paused (a paused process still holds its connections and leases). */
  alive(): boolean;
  paused(): boolean;
  pid(): number | undefined;
  /** Starts it and resolves once it printed that it started; rejects if it exits first or takes `timeoutMs`. */
  start(timeoutMs?: number): Promise<void>;
  signal(signal: 'SIGKILL' | 'SIGSTOP' | 'SIGCONT' | 'SIGTERM'): void;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves with how it ended. */
  stop(graceMs?: number): Promise<string>;
  /** Resolves when the current run of the process ends. */
  exited(): Promise<string>;
  /** Calls `listener` each time a run of the process ends, with how it ended. */
  onExit(listener: (how: string) => void): void;
}

/** The environment of a process: the campaign's own, minus orderflow's variables, plus the spec's. */
function environment(env: Record<string, string>): NodeJS.ProcessEnv {
  const base: NodeJS.ProcessEnv = { ...process.env };
  for (const name of Object.keys(base)) if (/^(DATABASE_URL|JWT_SECRET|MODULES|PORT|NATS_|ORDERFLOW_|SAGA_|PAYMENT_|DELIVERY_|LOG_LEVEL)/.test(name)) delete base[name];
  return { ...base, ...env };
}

export function createMember(spec: ProcessSpec, logDir: string): Member {
  const log: WriteStream = createWriteStream(join(logDir, `${spec.name}.log`), { flags: 'a' });
  let child: ChildProcess | undefined;
  let ended: Promise<string> = Promise.resolve('never started');
  let isPaused = false;
  let runs = 0;
  const listeners: ((how: string) => void)[] = [];
  const alive = () => child !== undefined && child.exitCode === null && child.signalCode === null;
  const note = (text: string) => log.write(`{"chaos":${JSON.stringify(text)},"at":"${new Date().toISOString()}"}\n`);

  return {
    spec,
    alive,
    paused: () => isPaused && alive(),
    pid: () => (alive() ? child!.pid : undefined),
    async start(timeoutMs = 120_000) {
      if (alive()) return;
      runs++;
      note(`start #${runs}`);
      const proc = spawn(process.execPath, [bin, 'start'], {
        cwd: root,
        env: environment({ ...spec.env, MODULES: spec.modules, PORT: String(spec.port ?? '') }),
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      child = proc;
      isPaused = false;
      let output = '';
      const started = new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`${spec.name} did not start in ${timeoutMs} ms`)), timeoutMs);
        proc.stdout!.on('data', (chunk: Buffer) => {
          if (output.length < 1_000_000) output += chunk.toString();
          if (/"msg":"orderflow started"/.test(output)) {
            clearTimeout(timer);
            output = '';
            resolve();
          }
        });
        proc.once('close', (code, signal) => {
          clearTimeout(timer);
          reject(new Error(`${spec.name} exited (${code ?? signal}) before it started`));
        });
      });
      proc.stdout!.pipe(log, { end: false });
      proc.stderr!.pipe(log, { end: false });
      ended = new Promise((resolve) =>
        proc.once('close', (code, signal) => {
          note(`exited ${code ?? signal}`);
          resolve(String(code ?? signal));
          for (const listener of listeners) listener(String(code ?? signal));
        }),
      );
      await started;
    },
    signal(signal) {
      if (!alive()) return;
      note(signal);
      if (signal === 'SIGSTOP') isPaused = true;
      if (signal === 'SIGCONT') isPaused = false;
      child!.kill(signal);
    },
    async stop(graceMs = 30_000) {
      if (!alive()) return ended;
      if (isPaused) this.signal('SIGCONT');
      this.signal('SIGTERM');
      const timer = setTimeout(() => child?.kill('SIGKILL'), graceMs);
      const how = await ended;
      clearTimeout(timer);
      return how;
    },
    exited: () => ended,
    onExit: (listener) => void listeners.push(listener),
  };
}
