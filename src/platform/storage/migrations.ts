import { Migrator, type Kysely, type Migration, type MigrationProvider } from 'kysely';
import { AppError } from '../../kernel/errors.js';
import type { DialectName, Storage } from './database.js';

/**
 * One schema change owned by a module. `name` is `<owner>/<NNNN>-<what>`; migrations of one
 * owner run in name order, owners are independent of each other.
 */
export interface SchemaMigration {
  name: string;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  up(db: Kysely<any>, dialect: DialectName): Promise<void>;
}

/** Applies every pending migration; safe to run from several processes at once. */
export async function migrate(storage: Storage, migrations: readonly SchemaMigration[]): Promise<string[]> {
  const provider: MigrationProvider = {
    getMigrations: async () =>
      Object.fromEntries(
        migrations.map((m): [string, Migration] => [m.name, { up: (db) => m.up(db, storage.dialect) }]),
      ),
  };
  const migrator = new Migrator({
    db: storage.db,
    provider,
    migrationTableName: 'orderflow_migrations',
    migrationLockTableName: 'orderflow_migrations_lock',
    // Modules add migrations independently; one module's new migration may sort before another's old one.
    allowUnorderedMigrations: true,
  });
  const { error, results } = await migrator.migrateToLatest();
  if (error) {
    const failed = results?.find((r) => r.status === 'Error')?.migrationName;
    throw new AppError('internal', 'MIGRATION_FAILED', `migration ${failed ?? '?'} failed: ${String((error as Error).message ?? error)}`, { cause: error });
  }
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
}

/** Column type helpers that differ between the dialects. */
export function columnTypes(dialect: DialectName) {
  return {
    /** An auto-incrementing 64-bit key. */
    serialKey: dialect === 'sqlite' ? ('integer' as const) : ('bigserial' as const),
    /** A 64-bit integer (epoch milliseconds, positions, minor units). */
    bigint: dialect === 'sqlite' ? ('integer' as const) : ('bigint' as const),
  };
}
