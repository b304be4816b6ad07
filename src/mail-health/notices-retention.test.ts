import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Storage } from '../storage/storage.js';
import { describeEachDialect, openTestStorage } from '../../test/support/storage.js';
import { insertTestTenant } from '../../test/support/outbox-fixtures.js';
import { purgeOldNotices } from './notices-retention.js';

const DAY = 86_400_000;
const T0 = Date.parse('2026-01-01T00:00:00Z');

describeEachDialect('mail-health notices past the retention', (dialect) => {
  let storage: Storage;
  beforeAll(async () => {
    storage = await openTestStorage(dialect);
  });
  afterAll(() => storage.close());

  it("forgets the claims of past incidents and replaced tokens past the tenant's retention, and keeps the current ones, which stop a notice twice", async () => {
    // A row per incident's start and end, and per XOAUTH2 token (a token renewed every day is 365 rows a year per tenant): they only grew.
    const db = storage.db;
    await insertTestTenant(db, 'mh', { id: 'mh', retentionDays: 7, createdAt: T0 });
    await db
      .insertInto('tenant_mail_health')
      .values({
        tenant_id: 'mh',
        state: 'failing',
        since: T0,
        last_code: 421,
        last_error: 'busy',
        permanent: 0,
        transient_since: T0,
        incident: 3,
        updated_at: T0,
      })
      .execute();
    const notices: [number, string, number][] = [
      [1, 'failing', T0],
      [1, 'recovered', T0],
      [2, 'failing', T0 + 5 * DAY],
      [3, 'failing', T0],
      [0, 'token-expiring:100', T0],
      [0, 'token-expiring:200', T0 + 1],
    ];
    await db
      .insertInto('mail_health_notices')
      .values(notices.map(([incident, kind, created_at]) => ({ tenant_id: 'mh', incident, kind, created_at })))
      .execute();
    await purgeOldNotices(db, T0 + 8 * DAY);
    const left = await db
      .selectFrom('mail_health_notices')
      .select(['incident', 'kind'])
      .where('tenant_id', '=', 'mh')
      .orderBy('incident')
      .orderBy('kind')
      .execute();
    expect(left).toEqual([
      { incident: 0, kind: 'token-expiring:200' },
      { incident: 2, kind: 'failing' },
      { incident: 3, kind: 'failing' },
    ]);
  });
});
