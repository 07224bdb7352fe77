import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** The nats-server binary for throwaway servers (Debian's package installs it in /usr/sbin). */
export const natsServerBinary = process.env.TEST_NATS_SERVER ?? '/usr/sbin/nats-server';
export const natsServerInstalled = existsSync(natsServerBinary);
// In CI the binary must be there (SERVICES.md installs it): a missing one fails the run, never skips it.
if (!natsServerInstalled && process.env.CI === 'true') throw new Error(`${natsServerBinary} is missing; the NATS restart suites are required in CI`);

/** A nats-server of the test's own on 127.0.0.1, which the test may kill and start again. */
export interface ThrowawayNats {
  url: string;
  /** Starts it; `fresh` starts with empty storage, as a broker that lost its disk. */
  start(options?: { fresh?: boolean }): Promise<void>;
  /** SIGKILL, as a crash. */
  kill(): Promise<void>;
  /** SIGTERM, as an operator stopping it: the server shuts down cleanly. */
  stop(): Promise<void>;
  /** Kills it and removes its storage. */
  dispose(): Promise<void>;
}

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

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = new Socket();
    socket.once('error', () => resolve(false));
    socket.connect(port, '127.0.0.1', () => {
      socket.destroy();
      resolve(true);
    });
  });
}

export async function createThrowawayNats(): Promise<ThrowawayNats> {
  const port = await freePort();
  const root = mkdtempSync(join(tmpdir(), 'orderflow-nats-'));
  let dir = join(root, 'store-0');
  let generation = 0;
  let child: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();

  const end = async (signal: NodeJS.Signals) => {
    child?.kill(signal);
    await exited;
    child = undefined;
  };
  const kill = () => end('SIGKILL');
  return {
    url: `nats://127.0.0.1:${port}`,
    async start({ fresh = false } = {}) {
      if (fresh) dir = join(root, `store-${++generation}`);
      const proc = spawn(natsServerBinary, ['-a', '127.0.0.1', '-p', String(port), '-js', '-sd', dir], { stdio: 'ignore' });
      child = proc;
      exited = new Promise((resolve) => proc.once('exit', () => resolve()));
      const deadline = Date.now() + 10_000;
      while (!(await accepts(port))) {
        if (Date.now() > deadline || proc.exitCode !== null) throw new Error(`nats-server on port ${port} did not start`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    kill,
    stop: () => end('SIGTERM'),
    async dispose() {
      await kill();
      rmSync(root, { recursive: true, force: true });
    },
  };
}
