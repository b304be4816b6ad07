import fs from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { type Kysely, type Migration, type MigrationProvider, Migrator } from 'kysely';
import type { Dialect } from './dialect.js';
import type { Storage } from './storage.js';

/**
 * A migration module in `migrations/`: its file name (`YYYYMMDD-NN-domain-purpose.ts`) orders it,
 * and it receives the dialect because a few column types differ between engines.
 */
export interface TocsinMigration {
  up(db: Kysely<any>, dialect: Dialect): Promise<void>;
}

const MIGRATIONS_DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), 'migrations');

class FolderMigrationProvider implements MigrationProvider {
  constructor(private readonly dialect: Dialect) {}

  async getMigrations(): Promise<Record<string, Migration>> {
    const files = (await fs.readdir(MIGRATIONS_DIR))
      .filter((f) => /^\d{8}-\d{2}-[\w-]+\.ts$/.test(f))
      .sort();
    const migrations: Record<string, Migration> = {};
    for (const file of files) {
      const mod = (await import(pathToFileURL(path.join(MIGRATIONS_DIR, file)).href)) as TocsinMigration;
      migrations[file.replace(/\.ts$/, '')] = { up: (db) => mod.up(db, this.dialect) };
    }
    return migrations;
  }
}

function migratorFor(storage: Storage): Migrator {
  return new Migrator({ db: storage.db, provider: new FolderMigrationProvider(storage.dialect) });
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
