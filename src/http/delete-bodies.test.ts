import { afterAll, beforeAll, expect, it } from 'vitest';
import { ADMIN_TOKEN, type TestApp, startTestApp } from '../../test/support/http.js';
import { describeEachDialect } from '../../test/support/storage.js';

describeEachDialect('a DELETE with a body', (dialect) => {
  let t: TestApp;
  const mutes = '/api/v1/tenants/delete-bodies/mutes';
  const mute = async () => (await t.call('POST', mutes, { scope: 'tenant', match: { robot: 'r1' }, until: '2999-01-01T00:00:00Z' })).json<{ id: string }>().id;
  const listed = async () => (await t.call('GET', mutes)).json<{ items: { id: string }[] }>().items.map((m) => m.id);

  beforeAll(async () => {
    t = await startTestApp(dialect);
    await t.tenantWithUser('delete-bodies');
  });
  afterAll(() => t.close());

  it('refuses a field by name and deletes nothing, as a POST that takes no body does', async () => {
    const id = await mute();
    const refused = await t.call('DELETE', `${mutes}/${id}`, { reason: 'maintenance over' });
    expect(refused.statusCode).toBe(400);
    expect(refused.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(refused.json().errors).toEqual([{ path: 'reason', message: 'is not a known field' }]);
    expect(await listed()).toContain(id);
  });

  it('takes no body, {}, null, or an empty body labelled application/json', async () => {
    for (const payload of [undefined, '{}', 'null', '']) {
      const id = await mute();
      const res = await t.tocsin.app.inject({
        method: 'DELETE',
        url: `${mutes}/${id}`,
        headers: { authorization: `Bearer ${ADMIN_TOKEN}`, ...(payload === undefined ? {} : { 'content-type': 'application/json' }) },
        ...(payload === undefined ? {} : { payload }),
      });
      expect([payload, res.statusCode]).toEqual([payload, 204]);
      expect(await listed()).not.toContain(id);
    }
  });
});
