import { loadConfig } from '../config.js';
import { migrateOrStop, openStorageOrStop } from '../storage/connect.js';

/** migrateCommand applies pending migrations to DATABASE_URL and prints what it applied. */
export async function migrateCommand(): Promise<number> {
  const config = loadConfig();
  // A migration job runs one statement at a time: two connections keep its share of the budget small.
  const storage = await openStorageOrStop(config.databaseUrl, { poolSize: 2 });
  try {
    const applied = await migrateOrStop(storage);
    process.stdout.write(
      applied.length > 0
        ? `applied ${applied.length} migration(s) to ${storage.description}:\n  ${applied.join('\n  ')}\n`
        : `${storage.description} is up to date\n`,
    );
    return 0;
  } finally {
    await storage.close();
  }
}
