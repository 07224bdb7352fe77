import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

/**
 * Checkpoints a SQLite WAL from a worker thread with a connection of its own, so the copy of
 * WAL pages into the database file and its fsync never run inside a commit on the thread that
 * serves requests and deliveries. SQLite's own auto-checkpoint (every 1,000 pages by default)
 * runs synchronously in whichever commit crosses the threshold; with this running, the main
 * connection's threshold is raised and only a safety net.
 *
 * A PASSIVE checkpoint never waits for readers or writers: it copies what it can. The WAL
 * restarts from its beginning at the next write after a checkpoint that copied everything.
 */
export interface SqliteCheckpointer {
  stop(): Promise<void>;
}

/** Pages the main connection lets the WAL grow by before it checkpoints itself (the safety net). */
export const SAFETY_NET_AUTOCHECKPOINT_PAGES = 16_384;

// Plain JavaScript, evaluated in the worker: it must not need the TypeScript loader.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.path);
db.pragma('busy_timeout = 5000');
db.pragma('synchronous = ' + workerData.synchronous);
let timer;
function tick() {
  try {
    db.pragma('wal_checkpoint(PASSIVE)');
  } catch (error) {
    parentPort.postMessage({ error: String(error && error.message || error) });
  }
  timer = setTimeout(tick, workerData.intervalMs);
}
timer = setTimeout(tick, workerData.intervalMs);
parentPort.on('message', (message) => {
  if (message !== 'stop') return;
  clearTimeout(timer);
  try { db.pragma('wal_checkpoint(PASSIVE)'); } catch {}
  db.close();
  // Nothing else keeps the thread alive: it ends, and the parent hears its exit.
  parentPort.close();
});
`;

export function startSqliteCheckpointer(options: {
  path: string;
  synchronous: 'FULL' | 'NORMAL';
  intervalMs?: number;
  onError?: (message: string) => void;
}): SqliteCheckpointer {
  const driver = createRequire(import.meta.url).resolve('better-sqlite3');
  const worker = new Worker(WORKER_SOURCE, {
    eval: true,
    // Plain JavaScript: it needs none of the parent's loader flags (a TypeScript loader, say).
    execArgv: [],
    workerData: { path: options.path, driver, synchronous: options.synchronous, intervalMs: options.intervalMs ?? 50 },
  });
  let stopped: Promise<void> | undefined;
  let exited = false;
  worker.on('message', (message: { error?: string }) => {
    if (message.error) options.onError?.(message.error);
  });
  worker.on('error', (error) => options.onError?.(error.message));
  worker.once('exit', () => {
    exited = true;
  });
  // The worker must never keep the process alive on its own.
  worker.unref();
  return {
    stop() {
      stopped ??= new Promise<void>((resolve) => {
        if (exited) return resolve();
        // Unreferenced while it runs; while it stops, the process waits for its answer.
        worker.ref();
        // A worker stuck in a long checkpoint is ended after a while; the WAL stays valid.
        const fallback = setTimeout(() => void worker.terminate(), 5_000);
        worker.once('exit', () => {
          clearTimeout(fallback);
          resolve();
        });
        worker.postMessage('stop');
      });
      return stopped;
    },
  };
}
