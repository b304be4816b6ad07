import fs from 'node:fs';
import path from 'node:path';
import { loadConfig, misspeltWarnings } from '../config.js';
import { createMailSender } from '../delivery/smtp/sender.js';
import { findTenant } from '../http/access-hook.js';
import { LANGUAGES, type Language } from '../i18n/languages.js';
import { openSecretBox } from '../settings/open-secret-box.js';
import { KEY_FILE } from '../settings/secret-box.js';
import { catcherSmtpUrl, urlSmtp } from '../settings/smtp-settings.js';
import { sendTestMail } from '../settings/test-mail.js';
import { systemClock } from '../shared/clock.js';
import { pendingMigrations } from '../storage/migrate.js';
import { openStorageOrStop } from '../storage/connect.js';
import { dialectOfUrl } from '../storage/storage.js';
import type { CommandIo } from './io.js';
import { TEST_MAIL_ARGUMENTS, parseCommandArgs } from './arguments.js';

/**
 * testMailCommand sends a test email with a tenant's saved, effective mail settings (the same as
 * Test Mail Settings, without the HTTP API), printing the masked SMTP dialogue. It exits 0 when the
 * server accepted the email, 1 when it did not, 2 on bad arguments (or a database not yet migrated).
 */
export async function testMailCommand(args: string[], io: CommandIo = process): Promise<number> {
  const parsed = parseCommandArgs(TEST_MAIL_ARGUMENTS, args, io.env);
  if (parsed.refusal !== undefined) {
    io.stderr.write(parsed.refusal);
    return 2;
  }
  const { values } = parsed;
  // Both given, and --to an email address (TEST_MAIL_ARGUMENTS refuse either's absence and another --to).
  const tenantRef = values.tenant!;
  const to = values.to!;
  const config = loadConfig(io.env);
  // A misspelt TOCSIN_DATA_DIR or TOCSIN_SECRET_KEY led to the wrong database or "no secret key" without the name meant.
  for (const warning of misspeltWarnings(config)) io.stderr.write(`tocsin test-mail: warning: ${warning}\n`);
  // Opening an SQLite file that is not there makes an empty one, and "run tocsin migrate" would then
  // fill a second database in the wrong place: run from another folder, say which file is missing.
  const sqliteFile = dialectOfUrl(config.databaseUrl) === 'sqlite' ? config.databaseUrl.slice('sqlite:'.length) : undefined;
  if (sqliteFile !== undefined && !fs.existsSync(sqliteFile)) {
    const setting = config.databaseSetting;
    // Said and ended as a database that cannot be opened is (serve, migrate): status 1, one line naming the variable.
    io.stderr.write(`tocsin: no database at ${sqliteFile} (${setting}): set TOCSIN_DATA_DIR or DATABASE_URL as for tocsin serve\n`);
    return 1;
  }
  // A database that cannot be opened stops it with one line naming the variable, as serve and migrate do.
  const storage = await openStorageOrStop(config.databaseUrl, { poolSize: config.dbPoolSize, setting: config.databaseSetting });
  const sender = createMailSender();
  try {
    // A database that `tocsin serve` or `tocsin migrate` never prepared has no tenants table: say so, not a stack trace.
    if ((await pendingMigrations(storage)).length > 0) {
      io.stderr.write('tocsin test-mail: the database has no Tocsin tables yet, or older ones: run `tocsin migrate` (or start `tocsin serve`) first\n');
      return 2;
    }
    // The key is tocsin serve's, never a new one: run from another folder it made ./data/secret.key, and a
    // saved password then 'no longer decrypts (the secret key changed): save it again', a false lead.
    const keyFile = path.join(config.dataDir, KEY_FILE);
    if (!config.secretKey && !fs.existsSync(keyFile)) {
      io.stderr.write(
        `tocsin: no secret key: TOCSIN_SECRET_KEY is unset and there is no ${keyFile} (TOCSIN_DATA_DIR): set them as for tocsin serve, whose key opens the saved SMTP passwords\n`,
      );
      return 1;
    }
    const tenant = await findTenant(storage.db, tenantRef);
    if (!tenant) {
      io.stderr.write(`tocsin test-mail: no tenant "${tenantRef}"\n`);
      return 2;
    }
    const result = await sendTestMail(
      {
        db: storage.db,
        secretBox: openSecretBox(config),
        sender,
        clock: systemClock,
        context: {
          // Without TOCSIN_SMTP_URL the default is the catcher of the running `tocsin serve`.
          systemSmtp: config.systemSmtp ?? urlSmtp(catcherSmtpUrl(config.mailCatcherPort)),
          allowPrivateHosts: config.allowPrivateSmtpHosts,
        },
      },
      {
        tenant,
        sendTo: to,
        language: LANGUAGES.find((l) => l === tenant.language) ?? ('en' satisfies Language),
        timeZone: tenant.time_zone,
      },
    );
    // A connection never made has no dialogue: its two empty lines only pushed the stage down.
    if (result.transcript.length > 0) io.stdout.write(`${result.transcript.join('\n')}\n\n`);
    if (result.ok) {
      io.stdout.write(`sent: ${result.messageId} to ${to}\n`);
      return 0;
    }
    io.stdout.write(`failed at ${result.stage}${result.code ? ` (${result.code})` : ''}: ${result.message}\n`);
    // The catcher is no server of its own: refused, it is that no `tocsin serve` runs with this port.
    if (!config.systemSmtp && result.stage === 'connect' && result.message.includes(`ECONNREFUSED 127.0.0.1:${config.mailCatcherPort}`)) {
      io.stdout.write(
        `The system default is the built-in mail catcher, which runs inside tocsin serve: start it first (npm start), with the same TOCSIN_MAIL_CATCHER_PORT (${config.mailCatcherPort}), or set TOCSIN_SMTP_URL.\n`,
      );
    }
    return 1;
  } finally {
    await sender.close();
    await storage.close();
  }
}
