import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeEachDialect } from '../../test/support/storage.js';
import { type TestApp, startTestApp } from '../../test/support/http.js';
import { userPrincipal } from './principal.js';
import { afterReads } from '../../test/support/between-reads.js';

describeEachDialect("the caller's principal", (dialect) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp(dialect);
  });
  afterAll(() => t.close());

  it('is no one (401), not a user without permissions (403), when its user is deleted between reading it and its permissions', async () => {
    const db = t.tocsin.deps.storage.db;
    const { userId } = await t.tenantWithUser('vanishing', ['Administrator']);
    const racing = afterReads(db, 1, () => db.deleteFrom('users').where('id', '=', userId).execute());
    expect(await userPrincipal(racing, userId)).toBeUndefined();
  });
});
