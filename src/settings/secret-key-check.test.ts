import { afterAll, beforeAll, expect, it } from 'vitest';
import { FakeClock } from '../shared/clock.js';
import type { Storage } from '../storage/storage.js';
import { insertTestTenant } from '../../test/support/outbox-fixtures.js';
import { describeEachDialect, openTestStorage } from '../../test/support/storage.js';
import { type MailSettingsInput, saveMailSettings, saveSystemSmtp } from './mail-settings.js';
import { urlSmtp } from './smtp-settings.js';
import { SecretBox } from './secret-box.js';
import { checkSecretKey } from './secret-key-check.js';
import { createSource } from '../sources/store.js';

const CUSTOM = { host: 'smtp.example.com', port: 587, security: 'starttls', username: 'alerts', password: 'first password', fromAddress: 'alerts@example.com' };

describeEachDialect('the secret key a process starts with', (dialect) => {
  let storage: Storage;
  const clock = new FakeClock(Date.UTC(2026, 11, 1, 12));
  beforeAll(async () => {
    storage = await openTestStorage(dialect);
  });
  afterAll(() => storage.close());

  const save = (box: SecretBox, tenant: string, input: unknown) =>
    saveMailSettings(storage.db, box, tenant, input as MailSettingsInput, clock, { allowPrivateHosts: true });

  it('is told apart when it opens none of the saved SMTP passwords (a new data folder, a second process without TOCSIN_SECRET_KEY), until they are saved again', async () => {
    const installed = SecretBox.fromPassphrase('the key of this installation');
    const afresh = SecretBox.fromPassphrase('a key generated afresh');
    expect(await checkSecretKey(storage.db, afresh)).toBe('same');
    const tenant = await insertTestTenant(storage.db, 'keyed');
    await save(installed, tenant, { useCustom: true, custom: CUSTOM });
    expect(await checkSecretKey(storage.db, installed)).toBe('same');
    expect(await checkSecretKey(storage.db, afresh)).toBe('other');
    clock.advance(1_000);
    await save(afresh, tenant, { custom: { ...CUSTOM, password: 'saved again' } });
    expect(await checkSecretKey(storage.db, afresh)).toBe('same');
  });

  it("is told apart when it opens none of the sources' secrets, where no tenant saved an SMTP password (every receive URL would answer 503)", async () => {
    const fresh = await openTestStorage(dialect);
    try {
      const installed = SecretBox.fromPassphrase('the key of this installation');
      const afresh = SecretBox.fromPassphrase('a key generated afresh');
      const tenant = await insertTestTenant(fresh.db, 'sources-only');
      await createSource(fresh.db, installed, clock, tenant, { name: 'alertmanager', kind: 'alertmanager' } as never);
      expect(await checkSecretKey(fresh.db, installed)).toBe('same');
      expect(await checkSecretKey(fresh.db, afresh)).toBe('other');
    } finally {
      await fresh.close();
    }
  });

  it("is told apart when it opens none of the system default's saved password, where no tenant saved one and no source exists (the commonest installation: every email would fail at AUTH)", async () => {
    const fresh = await openTestStorage(dialect);
    try {
      const installed = SecretBox.fromPassphrase('the key of this installation');
      const afresh = SecretBox.fromPassphrase('a key generated afresh');
      await saveSystemSmtp(fresh.db, installed, urlSmtp('smtp://127.0.0.1:1'), { ...CUSTOM, port: 587 } as never, clock);
      expect(await checkSecretKey(fresh.db, installed)).toBe('same');
      expect(await checkSecretKey(fresh.db, afresh)).toBe('other');
    } finally {
      await fresh.close();
    }
  });
});
