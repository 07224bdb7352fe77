import { randomBytes } from 'node:crypto';
import { Socket } from 'node:net';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import type { TransportFactory } from '../../src/platform/engine.js';
import type { DialectName } from '../../src/platform/storage/database.js';
import { createNatsTransportFactory, type NatsTransportOptions } from '../../src/platform/transport/nats.js';

/** The NATS server the distributed suites run against. */
export const natsUrl = process.env.TEST_NATS_URL ?? 'nats://127.0.0.1:4222';

export type TransportName = 'in-process' | 'nats';

/** A database and a transport: the suites of the kernel run once per setup. */
export interface KernelSetup {
  name: `${DialectName}/${TransportName}`;
  dialect: DialectName;
  transport: TransportName;
}

function reachable(url: string, timeoutMs = 1500): Promise<boolean> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = new Socket();
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('error', () => done(false));
    socket.connect(Number(port || 4222), hostname, () => done(true));
  });
}

/** Whether the NATS server answers; in CI it must (a missing NATS fails the run). */
export const natsAvailable = await reachable(natsUrl);
if (!natsAvailable) {
  const message = `NATS is not reachable at ${natsUrl} (start it: see ../shared/SERVICES.md, or set TEST_NATS_URL)`;
  // In CI a missing service fails the run; on a laptop the NATS setups are left out, loudly.
  if (process.env.CI === 'true') throw new Error(`${message}; the NATS suites are required in CI`);
  console.warn(`${message}: skipping the postgres/nats setups`);
}

/** The distributed setup; suites about the NATS transport itself run on it (`describe.skipIf(!natsAvailable)`). */
export const natsSetup: KernelSetup = { name: 'postgres/nats', dialect: 'postgres', transport: 'nats' };

/** Every setup the kernel contract runs on (the NATS one only when the server answers; in CI it must). */
export const kernelSetups: KernelSetup[] = [
  { name: 'sqlite/in-process', dialect: 'sqlite', transport: 'in-process' },
  { name: 'postgres/in-process', dialect: 'postgres', transport: 'in-process' },
  ...(natsAvailable ? [natsSetup] : []),
];

/** A stream of its own for one test, and how to remove it with its consumers. */
export interface ScratchStream {
  stream: string;
  transport(options?: Partial<NatsTransportOptions>): TransportFactory;
  drop(): Promise<void>;
}

/** Timings shortened for tests; the defaults are for production. */
const testTimings: Partial<NatsTransportOptions> = { leaseRenewMs: 500, leaseTtlMs: 3000 };

export function createScratchStream(): ScratchStream {
  const stream = `OFT_${process.pid}_${randomBytes(4).toString('hex')}`;
  return {
    stream,
    transport: (options = {}) => createNatsTransportFactory({ servers: natsUrl, stream, ...testTimings, ...options }),
    async drop() {
      const nc = await connect({ servers: natsUrl, timeout: 5000 });
      try {
        const jsm = await jetstreamManager(nc);
        await jsm.streams.delete(stream).catch(() => undefined);
      } finally {
        await nc.close();
      }
    },
  };
}
