import type { Logger } from 'pino';
import type { LeaseRow, LeaseStore } from './lease-store.js';

/** This process's right to fetch one (consumer, partition). */
export interface Lease {
  readonly consumer: string;
  readonly partition: number;
  /** True while the lease is surely ours: renewed less than the TTL (minus a margin) ago. */
  valid(): boolean;
}

/** The loop that works a leased partition; `stop` lets its in-flight batch commit first. */
export interface PartitionWorker {
  readonly done: Promise<void>;
  stop(): Promise<void>;
  /** Ends a back-off pause now (the broker is back). */
  nudge(): void;
}

export interface PartitionLeasesDeps {
  store: LeaseStore;
  /** Unique per process (per transport instance). */
  owner: string;
  consumers: readonly string[];
  partitions: number;
  ttlMs: number;
  renewMs: number;
  logger: Logger;
  startWorker(lease: Lease): PartitionWorker;
}

interface Held {
  consumer: string;
  partition: number;
  /** performance.now() after which the lease is no longer trusted locally. */
  validUntil: number;
  lost: boolean;
  releasing: boolean;
  worker: PartitionWorker | undefined;
  lease: Lease;
}

const key = (consumer: string, partition: number) => `${consumer}\u0000${partition}`;

/**
 * Shares the partitions of each consumer among the processes running it. Every `renewMs` a
 * process heartbeats its membership, renews its leases, gives back what exceeds its fair
 * share (ceil(partitions / live members)) once the worker finished its batch, and claims free
 * or expired partitions up to its share. A lease not renewed for `ttlMs` is free for others.
 */
export function createPartitionLeases(deps: PartitionLeasesDeps) {
  const { store, owner, consumers, partitions, ttlMs, renewMs, logger } = deps;
  // Trust a lease locally a second less than the database does, for the time a renewal takes.
  const margin = Math.min(1000, ttlMs / 4);
  const held = new Map<string, Held>();
  const releases = new Set<Promise<void>>();
  let running = false;
  let loop: Promise<void> | undefined;
  let wakeUp: (() => void) | undefined;

  function lose(h: Held): void {
    held.delete(key(h.consumer, h.partition));
    h.lost = true;
    logger.warn({ consumer: h.consumer, partition: h.partition }, 'partition lease lost');
    void h.worker?.stop();
  }

  function release(h: Held): void {
    h.releasing = true;
    const done = (async () => {
      try {
        await h.worker?.stop();
        await store.release(h.consumer, h.partition, owner);
        logger.debug({ consumer: h.consumer, partition: h.partition }, 'partition released');
      } catch (error) {
        logger.warn({ consumer: h.consumer, partition: h.partition, err: error }, 'releasing a partition failed; it frees itself when the lease runs out');
      } finally {
        h.lost = true;
        held.delete(key(h.consumer, h.partition));
      }
    })();
    releases.add(done);
    void done.finally(() => releases.delete(done));
  }

  function hold(row: LeaseRow, validUntil: number): void {
    const h: Held = {
      consumer: row.consumer,
      partition: row.partition,
      validUntil,
      lost: false,
      releasing: false,
      worker: undefined,
      lease: {
        consumer: row.consumer,
        partition: row.partition,
        valid: () => !h.lost && performance.now() < h.validUntil,
      },
    };
    held.set(key(row.consumer, row.partition), h);
    logger.debug({ consumer: row.consumer, partition: row.partition, previousOwner: row.owner }, 'partition claimed');
  }

  async function balance(consumer: string, members: number, now: number, validUntil: number): Promise<void> {
    const share = Math.ceil(partitions / Math.max(1, members));
    const mine = [...held.values()].filter((h) => h.consumer === consumer && !h.releasing).sort((a, b) => b.partition - a.partition);
    if (mine.length > share) {
      for (const h of mine.slice(0, mine.length - share)) release(h);
      return;
    }
    let count = mine.length;
    if (count === share) return;
    for (const row of await store.claimable(consumer, now)) {
      if (count >= share) break;
      if (held.has(key(row.consumer, row.partition))) continue;
      if (await store.claim(row, owner, now, ttlMs)) {
        hold(row, validUntil);
        count++;
      }
    }
  }

  async function tick(): Promise<void> {
    const started = performance.now();
    const now = await store.now();
    await store.heartbeat(consumers, owner, now, ttlMs);
    const validUntil = started + ttlMs - margin;
    const renewed = new Set((await store.renew(owner, now, ttlMs)).map((r) => key(r.consumer, r.partition)));
    for (const [k, h] of held) {
      if (renewed.has(k)) h.validUntil = validUntil;
      else if (!h.releasing) lose(h);
    }
    const members = await store.liveMembers(now);
    for (const consumer of consumers) await balance(consumer, members.get(consumer) ?? 1, now, validUntil);
    for (const h of held.values()) {
      if (h.releasing || h.worker || !h.lease.valid()) continue;
      const worker = deps.startWorker(h.lease);
      h.worker = worker;
      void worker.done.finally(() => {
        if (h.worker === worker) h.worker = undefined;
      });
    }
  }

  async function run(): Promise<void> {
    while (running) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, renewMs);
        function done() {
          clearTimeout(timer);
          wakeUp = undefined;
          resolve();
        }
        wakeUp = done;
      });
      if (!running) break;
      await tick().catch((error: unknown) => logger.error({ err: error }, 'partition lease round failed'));
    }
  }

  return {
    /** Claims a first share at once, then keeps balancing in the background. */
    async start(): Promise<void> {
      if (running) return;
      running = true;
      await store.ensure(consumers, partitions);
      await tick().catch((error: unknown) => logger.error({ err: error }, 'first partition lease round failed; retrying'));
      loop = run();
    },

    /** The partitions this process holds, per consumer (for logs and tests). */
    owned(): { consumer: string; partition: number }[] {
      return [...held.values()].filter((h) => !h.releasing).map(({ consumer, partition }) => ({ consumer, partition }));
    },

    /** Ends the back-off pause of every worker (the connection is back). */
    nudge(): void {
      for (const h of held.values()) h.worker?.nudge();
    },

    /** Stops the workers (each commits its in-flight batch), releases every lease and leaves. */
    async stop(): Promise<void> {
      if (!running) return;
      running = false;
      wakeUp?.();
      await loop;
      for (const h of [...held.values()]) if (!h.releasing) release(h);
      await Promise.all([...releases]);
      await store.leave(owner).catch((error: unknown) => logger.warn({ err: error }, 'leaving the partition group failed'));
    },
  };
}

export type PartitionLeases = ReturnType<typeof createPartitionLeases>;
