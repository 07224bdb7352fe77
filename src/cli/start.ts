import pino from 'pino';
import type { Config } from '../config.js';
import { startOrderflow } from '../main.js';
import { boundHeapGrowth } from '../platform/heap.js';
import { startTracing, traceLogOptions, tracingOff, type Tracing } from '../platform/observability/tracing.js';
import { parseDatabaseUrl } from '../platform/storage/database.js';
import { parse } from './args.js';
import { formatBanner, prepareBanner, seedIfEmpty } from './first-run.js';
import { resolveJwtSecret } from './jwt-secret.js';

/**
 * Runs the engine and, when MODULES includes http, the API, until SIGTERM or SIGINT. The
 * embedded mode (SQLite) also seeds the demo catalog when it is empty and prints a banner
 * with the URL, ready-to-use tokens and an order to paste. Without JWT_SECRET the embedded
 * mode keeps a secret in its data folder; the PostgreSQL mode refuses to serve HTTP.
 */
export async function start(config: Config, args: readonly string[]): Promise<number> {
  parse(args, {});
  boundHeapGrowth();
  const embedded = parseDatabaseUrl(config.databaseUrl).dialect === 'sqlite';
  const serves = config.modules.includes('http');
  // Checked before anything starts: a PostgreSQL process without JWT_SECRET stops here.
  const secret = serves ? resolveJwtSecret(config) : undefined;
  let tracing: Tracing = tracingOff;
  const logger = pino({ level: config.logLevel, ...traceLogOptions(config.tracing, () => tracing) });
  // Listened for before anything starts: a SIGTERM sent as soon as the banner or the first log
  // line is read (a supervisor, a test) must stop the process cleanly, not kill it half-way
  // through a commit; one that comes while starting stops it once it has started.
  const signalled = untilSignal();
  tracing = await startTracing(config.tracing, { logger, attributes: { 'orderflow.modules': config.modules.join(',') } });
  const orderflow = await startOrderflow(config, { logger, tracing, jwtSecret: secret?.value }).catch(async (error: unknown) => {
    await tracing.shutdown();
    throw error;
  });
  try {
    if (embedded) {
      const catalog = await seedIfEmpty(orderflow.apis.inventory);
      if (secret && orderflow.address) {
        const banner = await prepareBanner(orderflow.apis, { address: orderflow.address, database: orderflow.storage.description, catalog, secret });
        process.stdout.write(formatBanner(banner));
      }
    }
  } catch (error) {
    await orderflow.stop();
    await tracing.shutdown();
    throw error;
  }
  logger.info({ signal: await signalled }, 'shutting down');
  await orderflow.stop();
  // The spans of the last requests and deliveries go out before the process ends.
  await tracing.shutdown();
  return 0;
}

function untilSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const stop = (signal: NodeJS.Signals) => {
      process.off('SIGTERM', stop);
      process.off('SIGINT', stop);
      resolve(signal);
    };
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
  });
}
