import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

/** A child process running a TypeScript entry point through tsx, with its JSON stdout lines. */
export interface Child {
  process: ChildProcess;
  /** Resolves with the first stdout JSON line that has `key`. */
  waitFor(key: string, timeoutMs?: number): Promise<Record<string, unknown>>;
  /** Sends `signal` and resolves with how the process ended. */
  kill(signal: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stderr(): string;
}

/** Every child still running, so that a test that failed half-way leaves none behind. */
const running = new Set<Child>();
// And none outlives the test process, whatever happened.
process.once('exit', () => running.forEach((child) => child.process.kill('SIGKILL')));

/**
 * Kills (SIGKILL) every child `spawnTs` started that is still running, and waits for them: call
 * it after each test. A test that failed before stopping its processes left them running for
 * the rest of the run — and after it, on the machine — taking CPU and connections from the
 * suites that followed.
 */
export async function killChildren(): Promise<void> {
  const left = [...running];
  running.clear();
  await Promise.all(left.map((child) => child.kill('SIGKILL')));
}

export function spawnTs(entry: string | URL, env: Record<string, string>): Child {
  const path = entry instanceof URL ? fileURLToPath(entry) : entry;
  const child = spawn(process.execPath, ['--import', 'tsx', path], {
    env: { ...process.env, LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: Record<string, unknown>[] = [];
  const waiters: { key: string; resolve: (line: Record<string, unknown>) => void }[] = [];
  let errors = '';
  child.stderr!.on('data', (chunk: Buffer) => {
    errors += chunk.toString();
  });
  createInterface({ input: child.stdout! }).on('line', (text) => {
    let line: Record<string, unknown>;
    try {
      line = JSON.parse(text) as Record<string, unknown>;
    } catch {
      return;
    }
    lines.push(line);
    for (const w of waiters.filter((w) => w.key in line)) {
      waiters.splice(waiters.indexOf(w), 1);
      w.resolve(line);
    }
  });
  // 'close', not 'exit': 'exit' can come before the last lines are read from the pipe, and a
  // child that prints then dies at once would look as if it had died first.
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('close', (code, signal) => resolve({ code, signal })),
  );
  const handle: Child = {
    process: child,
    exited,
    stderr: () => errors,
    waitFor(key, timeoutMs = 30_000) {
      const seen = lines.find((l) => key in l);
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`child never printed ${key}; stderr:\n${errors}`)), timeoutMs);
        exited.then(({ code, signal }) => reject(new Error(`child exited (${code ?? signal}) before printing ${key}; stderr:\n${errors}`)));
        waiters.push({ key, resolve: (l) => (clearTimeout(timer), resolve(l)) });
      });
    },
    async kill(signal) {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
  running.add(handle);
  void exited.then(() => running.delete(handle));
  return handle;
}
