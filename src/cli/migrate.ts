import type { Config } from '../config.js';
import { createBusinessModules } from '../composition.js';
import { engineMigrations } from '../platform/engine.js';
import { openStorage } from '../platform/storage/database.js';
import { migrate } from '../platform/storage/migrations.js';
import { parse } from './args.js';

/** Applies pending migrations of the platform and every module, and says what it did. */
export async function runMigrations(config: Config, args: readonly string[]): Promise<number> {
  parse(args, {});
  const storage = await openStorage(config.databaseUrl, { sqliteSynchronous: config.sqliteSynchronous });
  try {
    const applied = await migrate(storage, engineMigrations(createBusinessModules(config).engineModules([])));
    process.stdout.write(applied.length > 0 ? `applied ${applied.length} migrations:\n  ${applied.join('\n  ')}\n` : 'database is up to date\n');
    return 0;
  } finally {
    await storage.close();
  }
}
