import pino from 'pino';
import { loadConfig } from '../config.js';
import { AppError } from '../kernel/errors.js';
import { engineMigrations } from '../platform/engine.js';
import { openStorage } from '../platform/storage/database.js';
import { migrate } from '../platform/storage/migrations.js';
import { createBusinessModules } from '../composition.js';
import { startOrderflow } from '../main.js';

const usage = `orderflow — event-driven order management engine

Usage:
  orderflow start      run the engine (modules per MODULES) and the HTTP API
  orderflow migrate    apply pending database migrations and exit

Configuration comes from the environment; see README.md.`;

async function main(argv: string[]): Promise<number> {
  const [command] = argv;
  switch (command) {
    case 'start':
      return start();
    case 'migrate':
      return runMigrations();
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      process.stdout.write(`${usage}\n`);
      return command === undefined ? 1 : 0;
    default:
      process.stderr.write(`unknown command: ${command}\n\n${usage}\n`);
      return 2;
  }
}

async function start(): Promise<number> {
  const config = loadConfig();
  const logger = pino({ level: config.logLevel });
  const orderflow = await startOrderflow(config, { logger });
  await new Promise<void>((resolve) => {
    const shutdown = (signal: string) => {
      logger.info({ signal }, 'shutting down');
      void orderflow.stop().then(resolve);
    };
    process.once('SIGTERM', () => shutdown('SIGTERM'));
    process.once('SIGINT', () => shutdown('SIGINT'));
  });
  return 0;
}

async function runMigrations(): Promise<number> {
  const config = loadConfig();
  const storage = await openStorage(config.databaseUrl, { sqliteSynchronous: config.sqliteSynchronous });
  try {
    const applied = await migrate(storage, engineMigrations(createBusinessModules(config).engineModules([])));
    process.stdout.write(applied.length > 0 ? `applied ${applied.length} migrations:\n  ${applied.join('\n  ')}\n` : 'database is up to date\n');
    return 0;
  } finally {
    await storage.close();
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    const message = error instanceof AppError ? error.message : error instanceof Error ? (error.stack ?? error.message) : String(error);
    process.stderr.write(`orderflow: ${message}\n`);
    process.exit(1);
  },
);
