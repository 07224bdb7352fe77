// The seeded fault scheduler: what happens, to whom, when and for how long is drawn from the
// seed before it is done, so the same seed gives the same schedule (the interleaving with the
// workload is the machine's).
import { closeSync, openSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { ThrowawayNats } from '../test/support/nats-server.js';
import type { Member } from './cluster.js';
import type { Proxy } from './proxy.js';
import type { Rng } from './random.js';

/** A lease not renewed for this long is free for another process (the NATS transport's default). */
export const LEASE_TTL_MS = 8000;

export type FaultKind = 'kill' | 'pause-short' | 'pause-long' | 'nats-kill' | 'pg-cut' | 'pg-blackhole' | 'disk-full';

/** One fault as scheduled and as it went. */
export interface FaultRecord {
  /** Since the campaign started. */
  atMs: number;
  kind: FaultKind;
  target: string;
  durationMs: number;
  /** How long the target took to be back (a restart, a broker start), when it had to come back. */
  recoveryMs?: number;
  error?: string;
}

export interface FaultTargets {
  members: readonly Member[];
  /** Per process name (distributed mode). */
  proxies?: ReadonlyMap<string, Proxy>;
  nats?: ThrowawayNats;
  /** A small tmpfs holding the data folder (embedded mode), when it could be mounted. */
  diskDir?: string;
  /** Marks a process as down on purpose (the supervisor does not count its exit as a crash). */
  expectDown(name: string, down: boolean): void;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The kinds a deployment can suffer, with their weights. */
export function faultWeights(targets: Omit<FaultTargets, 'expectDown'>): Partial<Record<FaultKind, number>> {
  const weights: Partial<Record<FaultKind, number>> = { kill: 4, 'pause-short': 2, 'pause-long': 2 };
  if (targets.nats) weights['nats-kill'] = 2;
  if (targets.proxies) Object.assign(weights, { 'pg-cut': 2, 'pg-blackhole': 2 });
  if (targets.diskDir) weights['disk-full'] = 2;
  return weights;
}

/** Draws the next fault: kind, target and duration. */
export function drawFault(rng: Rng, weights: Partial<Record<FaultKind, number>>, names: readonly string[]): Omit<FaultRecord, 'atMs'> {
  const kind = rng.weighted(weights as Record<FaultKind, number>);
  // The draws happen whatever the kind, so one kind's draws never shift the next fault's.
  const member = rng.pick(names);
  const allProxies = rng.chance(0.3);
  const short = rng.int(300, 5000);
  const long = LEASE_TTL_MS + rng.int(1000, 6000);
  switch (kind) {
    case 'kill':
      return { kind, target: member, durationMs: rng.int(0, 5000) };
    case 'pause-short':
      return { kind, target: member, durationMs: short };
    case 'pause-long':
      return { kind, target: member, durationMs: long };
    case 'nats-kill':
      return { kind, target: 'nats-server', durationMs: rng.int(500, 8000) };
    case 'pg-cut':
    case 'pg-blackhole':
      return { kind, target: allProxies ? 'all' : member, durationMs: rng.int(1000, 10_000) };
    case 'disk-full':
      return { kind, target: 'data folder', durationMs: rng.int(2000, 8000) };
  }
}

/** Fills the file system of `dir` with a ballast file; returns how to free it again. */
function fillDisk(dir: string): () => void {
  const path = join(dir, 'chaos-ballast');
  const fd = openSync(path, 'w');
  const chunk = Buffer.alloc(1 << 20, 0x5a);
  try {
    for (;;) writeSync(fd, chunk);
  } catch {
    // ENOSPC: full. Fill the last bytes too.
    try {
      for (;;) writeSync(fd, chunk, 0, 4096);
    } catch {
      // full
    }
  } finally {
    closeSync(fd);
  }
  return () => unlinkSync(path);
}

/** Does one fault and undoes it after its duration; fills in recovery and error. */
export async function inject(fault: FaultRecord, targets: FaultTargets): Promise<void> {
  const member = targets.members.find((m) => m.spec.name === fault.target);
  const proxies = fault.target === 'all' ? [...(targets.proxies?.values() ?? [])] : [targets.proxies?.get(fault.target)].filter((p): p is Proxy => p !== undefined);
  const timed = async (work: () => Promise<void>) => {
    const started = performance.now();
    await work();
    fault.recoveryMs = Math.round(performance.now() - started);
  };
  switch (fault.kind) {
    case 'kill':
      targets.expectDown(member!.spec.name, true);
      member!.signal('SIGKILL');
      await member!.exited();
      await sleep(fault.durationMs);
      await timed(() => restart(member!));
      targets.expectDown(member!.spec.name, false);
      return;
    case 'pause-short':
    case 'pause-long':
      member!.signal('SIGSTOP');
      await sleep(fault.durationMs);
      member!.signal('SIGCONT');
      return;
    case 'nats-kill':
      await targets.nats!.kill();
      await sleep(fault.durationMs);
      await timed(() => targets.nats!.start());
      return;
    case 'pg-cut':
      await Promise.all(proxies.map((p) => p.cut()));
      await sleep(fault.durationMs);
      await Promise.all(proxies.map((p) => p.restore()));
      return;
    case 'pg-blackhole':
      proxies.forEach((p) => p.blackhole());
      await sleep(fault.durationMs);
      await Promise.all(proxies.map((p) => p.restore()));
      return;
    case 'disk-full': {
      const free = fillDisk(targets.diskDir!);
      await sleep(fault.durationMs);
      free();
      return;
    }
  }
}

/** Starts a process again, retrying while it fails to come up (for 2 minutes at most). */
export async function restart(member: Member): Promise<void> {
  const deadline = Date.now() + 120_000;
  for (;;) {
    try {
      await member.start(60_000);
      return;
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await sleep(1000);
    }
  }
}
