import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, type TestApp, startTestApp } from '../../test/support/http.js';

// Only SQLite: the content type is refused before any route or storage is reached.
describe('a JSON body sent with another content type', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp('sqlite');
  });
  afterAll(() => t.close());

  // fetch(url, { method: 'POST', body: JSON.stringify(x) }) without a content-type header sends text/plain.
  it.each([
    ['text/plain;charset=UTF-8', 'POST', '/api/v1/tenants', { name: 'labelled-text' }],
    ['text/plain', 'PATCH', '/api/v1/tenants/typed', { displayName: 'Typed' }],
    ['text/csv', 'POST', '/api/v1/tenants/typed/alerts', { severity: 'Info', component: 'Jobs', message: 'x' }],
  ])('is refused with 415 problem+json (%s, %s %s), and nothing changes', async (type, method, url, body) => {
    await t.call('POST', '/api/v1/tenants', { name: 'typed' });
    const res = await t.tocsin.app.inject({
      method: method as 'POST' | 'PATCH',
      url,
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': type },
      payload: JSON.stringify(body),
    });
    expect(res.statusCode, res.body).toBe(415);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.json()).toMatchObject({ status: 415, title: expect.any(String), detail: expect.any(String), type: expect.any(String) });
    expect((await t.call('GET', '/api/v1/tenants/labelled-text')).statusCode).toBe(404);
    expect((await t.call('GET', '/api/v1/tenants/typed')).json()).toMatchObject({ displayName: 'typed' });
    expect((await t.call('GET', '/api/v1/tenants/typed/alerts')).json()).toMatchObject({ items: [] });
  });
});
