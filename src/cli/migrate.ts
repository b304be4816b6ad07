import { loadConfig, misspeltWarnings } from '../config.js';
import { migrateOrStop, openStorageOrStop } from '../storage/connect.js';
import { appliedLine } from '../storage/migrate.js';
import { MIGRATE_ARGUMENTS, parseCommandArgs } from './arguments.js';

/**
 * migrateCommand applies pending migrations to DATABASE_URL and prints what it applied. It takes no
 * argument: one it does not know (`--dry-run`, a stray word) exits 2 and migrates nothing.
 */
export async function migrateCommand(args: string[]): Promise<number> {
  const parsed = parseCommandArgs(MIGRATE_ARGUMENTS, args, process.env);
  if (parsed.refusal !== undefined) {
    process.stderr.write(parsed.refusal);
    return 2;
  }
  const config = loadConfig();
  // Said before the database is opened: a misspelt TOCSIN_DATA_DIR chose the default one.
  for (const warning of misspeltWarnings(config)) process.stderr.write(`tocsin migrate: warning: ${warning}\n`);
  // A migration job runs one statement at a time: two connections keep its share of the budget small.
  const storage = await openStorageOrStop(config.databaseUrl, { poolSize: 2, setting: config.databaseSetting });
  try {
    const applied = await migrateOrStop(storage, config.databaseSetting);
    process.stdout.write(
      applied.length > 0 ? `${appliedLine(applied, storage.description)}:\n  ${applied.join('\n  ')}\n` : `${storage.description} is up to date\n`,
    );
    return 0;
  } finally {
    await storage.close();
  }
}
