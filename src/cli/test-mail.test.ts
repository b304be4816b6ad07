import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type TestSmtpServer, startTestSmtpServer } from '../../test/support/smtp-servers.js';
import { type TestApp, startTestApp } from '../../test/support/http.js';
import { createTestDatabase, describeEachDialect } from '../../test/support/storage.js';
import { testMailCommand } from './test-mail.js';
import { capturedIo } from '../../test/support/cli.js';
import { freePort } from '../../test/support/ports.js';

describeEachDialect('tocsin test-mail', (dialect) => {
  let t: TestApp;
  let server: TestSmtpServer;
  let env: NodeJS.ProcessEnv;
  beforeAll(async () => {
    server = await startTestSmtpServer();
    t = await startTestApp(dialect, { TOCSIN_SMTP_URL: `smtp://127.0.0.1:${server.port}?from=tocsin@example.com` });
    await t.call('POST', '/api/v1/tenants', { name: 'cli-mail', language: 'de' });
    const config = t.tocsin.deps.config;
    env = { DATABASE_URL: config.databaseUrl, TOCSIN_DATA_DIR: config.dataDir, TOCSIN_SMTP_URL: config.smtpUrl, LOG_LEVEL: 'silent' };
  });
  afterAll(async () => {
    await t.close();
    await server.close();
  });

  it('sends a test email with the tenant saved settings and prints the dialogue', async () => {
    const c = capturedIo(env);
    expect(await testMailCommand(['--tenant', 'cli-mail', '--to', 'ops@example.com'], c.io)).toBe(0);
    expect(c.out()).toMatch(/C: MAIL FROM:<tocsin@example.com>/);
    expect(c.out()).toMatch(/sent: <.+@example\.com> to ops@example.com/);
    expect(server.messages.at(-1)!.envelope.to).toEqual(['ops@example.com']);
    expect(server.messages.at(-1)!.raw).toMatch(/^Content-Language: de|^X-Tocsin-Kind: test/m);
  });

  it('exits 1 with the stage when the server refuses, and 2 on bad arguments', async () => {
    // A tenant of its own: cli-mail keeps the system default for the tests that send, whatever their order.
    await t.call('POST', '/api/v1/tenants', { name: 'cli-refused' });
    await t.call('PUT', '/api/v1/tenants/cli-refused/settings/mail', {
      useCustom: true,
      custom: { host: '127.0.0.1', port: 1, security: 'none', fromAddress: 'a@example.com' },
    });
    const failed = capturedIo(env);
    expect(await testMailCommand(['--tenant', 'cli-refused', '--to', 'ops@example.com'], failed.io)).toBe(1);
    // Nothing was said over a connection never made: the stage alone, not two empty lines of dialogue above it.
    expect(failed.out()).toMatch(/^failed at connect: .*ECONNREFUSED 127\.0\.0\.1:1: the server refused the connection, .*check the host and the port.*\n$/);
    const noTo = capturedIo(env);
    expect(await testMailCommand(['--tenant', 'cli-mail'], noTo.io)).toBe(2);
    expect(noTo.err()).toMatch(/^tocsin test-mail: missing --to\nusage: /);
    const badTo = capturedIo(env);
    expect(await testMailCommand(['--tenant', 'cli-mail', '--to', 'ops at example.com'], badTo.io)).toBe(2);
    expect(badTo.err()).toMatch(/^tocsin test-mail: --to must be an email address\n/);
    const noTenant = capturedIo(env);
    expect(await testMailCommand(['--tenant', 'nope', '--to', 'ops@example.com'], noTenant.io)).toBe(2);
    expect(noTenant.err()).toBe('tocsin test-mail: no tenant "nope"\n');
  });

  it('says, when the built-in mail catcher does not answer, that it runs inside tocsin serve', async () => {
    // Run before `npm start`, or without the TOCSIN_MAIL_CATCHER_PORT it was started with, it said to
    // check the host and port, "usually 587 with STARTTLS, 465 with implicit TLS", of a server nobody chose.
    await t.call('POST', '/api/v1/tenants', { name: 'cli-catcher' });
    const port = await freePort();
    const c = capturedIo({ ...env, TOCSIN_SMTP_URL: undefined, TOCSIN_MAIL_CATCHER_PORT: String(port) });
    expect(await testMailCommand(['--tenant', 'cli-catcher', '--to', 'ops@example.com'], c.io)).toBe(1);
    expect(c.out()).toMatch(new RegExp(`^failed at connect: .*ECONNREFUSED 127\\.0\\.0\\.1:${port}\\b.*\n`));
    expect(c.out()).toContain(
      `\nThe system default is the built-in mail catcher, which runs inside tocsin serve: start it first (npm start), with the same TOCSIN_MAIL_CATCHER_PORT (${port}), or set TOCSIN_SMTP_URL.\n`,
    );
  });

  it('says, run without the key tocsin serve uses, which key it lacks, exiting 1 and creating none', async () => {
    // Run on PostgreSQL from another folder (no data/secret.key there, TOCSIN_SECRET_KEY unset), it made
    // a new key in ./data and said of a saved password 'no longer decrypts (the secret key changed): save it again'.
    const elsewhere = fs.mkdtempSync(path.join(os.tmpdir(), 'tocsin-elsewhere-'));
    try {
      const c = capturedIo({ ...env, TOCSIN_DATA_DIR: elsewhere });
      expect(await testMailCommand(['--tenant', 'cli-mail', '--to', 'ops@example.com'], c.io)).toBe(1);
      expect(c.err()).toBe(
        `tocsin: no secret key: TOCSIN_SECRET_KEY is unset and there is no ${path.join(elsewhere, 'secret.key')} (TOCSIN_DATA_DIR): set them as for tocsin serve, whose key opens the saved SMTP passwords\n`,
      );
      expect(fs.readdirSync(elsewhere)).toEqual([]);
    } finally {
      fs.rmSync(elsewhere, { recursive: true, force: true });
    }
  });

  it('names itself when it refuses an option or argument, as the other commands do', async () => {
    // It printed "Unknown option '--from'" alone, a line that did not say which program spoke.
    for (const args of [['--tenant', 'cli-mail', '--to', 'ops@example.com', '--from', 'a@example.com'], ['cli-mail']]) {
      const bad = capturedIo(env);
      expect(await testMailCommand(args, bad.io), args.join(' ')).toBe(2);
      expect(bad.err(), args.join(' ')).toMatch(/^tocsin test-mail: .+\nusage: tocsin test-mail /);
    }
  });
});

describeEachDialect('tocsin test-mail on a database that was never migrated', (dialect) => {
  it('says to migrate first, exiting 2, instead of a stack trace about a missing table', async () => {
    const database = await createTestDatabase(dialect);
    // An SQLite file that exists but holds no table (one that does not exist is no database at all: next test).
    if (dialect === 'sqlite') fs.writeFileSync(database.url.slice('sqlite:'.length), '');
    try {
      const c = capturedIo({ DATABASE_URL: database.url, TOCSIN_SMTP_URL: 'smtp://127.0.0.1:1?from=tocsin@example.com', LOG_LEVEL: 'silent' });
      expect(await testMailCommand(['--tenant', 'acme', '--to', 'ops@example.com'], c.io)).toBe(2);
      expect(c.err()).toMatch(
        /^tocsin test-mail: the database has no Tocsin tables yet, or older ones: run `tocsin migrate` \(or start `tocsin serve`\) first\n$/,
      );
      expect(c.out()).toBe('');
    } finally {
      await database.drop();
    }
  });
});

describe('tocsin test-mail where there is no SQLite database', () => {
  it('says which file is missing and which variable names it, creating none', async () => {
    // Run from another folder, it created ./data/tocsin.db and said to run `tocsin migrate`, which
    // would have made an empty database there: the operator's tenants were in another one.
    const cwd = fs.mkdtempSync(path.join(os.tmpdir(), 'tocsin-test-mail-'));
    const dataDir = path.join(cwd, 'data');
    try {
      const c = capturedIo({ TOCSIN_DATA_DIR: dataDir, TOCSIN_SMTP_URL: 'smtp://127.0.0.1:1?from=tocsin@example.com', LOG_LEVEL: 'silent' });
      expect(await testMailCommand(['--tenant', 'acme', '--to', 'ops@example.com'], c.io)).toBe(1);
      expect(c.err()).toBe(
        `tocsin: no database at ${path.join(dataDir, 'tocsin.db')} (TOCSIN_DATA_DIR): set TOCSIN_DATA_DIR or DATABASE_URL as for tocsin serve\n`,
      );
      expect(fs.existsSync(dataDir)).toBe(false);
    } finally {
      fs.rmSync(cwd, { recursive: true, force: true });
    }
  });
});
