import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeEachDialect } from '../../test/support/storage.js';
import { type TestOutboxDatabase, insertTestTenant, openTestOutboxDatabase } from '../../test/support/outbox-fixtures.js';
import { fallbackStandsIn } from './store.js';

const T0 = Date.UTC(2026, 11, 1, 9);
const MINUTE = 60_000;

describeEachDialect('fallbackStandsIn', (dialect) => {
  let database: TestOutboxDatabase;
  beforeAll(async () => {
    database = await openTestOutboxDatabase(dialect);
  });
  afterAll(() => database.close());

  it('sends through the system default for a quarter of an hour after the own server last refused for good, then tries the own server again', async () => {
    // Under fallbackToDefault a server fixed at the provider's end, with nobody saving anything, is
    // found again by the first alert email 15 minutes after its last refusal: not a minute later.
    const db = database.storage.db;
    const tenantId = await insertTestTenant(db, 'falls-back');
    await db
      .insertInto('tenant_mail_health')
      .values({
        tenant_id: tenantId,
        state: 'failing',
        since: T0,
        last_code: 554,
        last_error: '554 5.7.1 Sender blocked',
        permanent: 1,
        transient_since: null,
        incident: 1,
        updated_at: T0,
      })
      .execute();
    expect(await fallbackStandsIn(db, tenantId, T0 + 15 * MINUTE - 1)).toBe(true);
    expect(await fallbackStandsIn(db, tenantId, T0 + 15 * MINUTE)).toBe(false);
  });
});
