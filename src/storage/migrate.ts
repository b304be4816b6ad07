import { type Kysely, type Migration, type MigrationProvider, Migrator } from 'kysely';
import type { Dialect } from './dialect.js';
import { MIGRATIONS } from './migrations/index.js';
import type { Storage } from './storage.js';

/**
 * A migration module in `migrations/`, listed in `migrations/index.ts`: its file name
 * (`YYYYMMDD-NN-domain-purpose.ts`) orders it, and it receives the dialect because a few column
 * types differ between engines.
 */
export interface TocsinMigration {
  up(db: Kysely<any>, dialect: Dialect): Promise<void>;
}

class ListedMigrationProvider implements MigrationProvider {
  constructor(private readonly dialect: Dialect) {}

  async getMigrations(): Promise<Record<string, Migration>> {
    const migrations: Record<string, Migration> = {};
    for (const [name, load] of Object.entries(MIGRATIONS)) {
      const mod = await load();
      migrations[name] = { up: (db) => mod.up(db, this.dialect) };
    }
    return migrations;
  }
}

function migratorFor(storage: Storage): Migrator {
  return new Migrator({ db: storage.db, provider: new ListedMigrationProvider(storage.dialect) });
}

/** migrate applies every pending migration and returns the names it applied. */
export async function migrate(storage: Storage): Promise<string[]> {
  const { error, results } = await migratorFor(storage).migrateToLatest();
  if (error) throw error instanceof Error ? error : new Error(String(error));
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
}

/** pendingMigrations names the migrations not yet applied (readiness requires none). */
export async function pendingMigrations(storage: Storage): Promise<string[]> {
  const all = await migratorFor(storage).getMigrations();
  return all.filter((m) => m.executedAt === undefined).map((m) => m.name);
}
