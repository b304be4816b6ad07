import { afterAll, beforeAll, expect, it } from 'vitest';
import { type TestApp, startTestApp } from '../../../test/support/http.js';
import { describeEachDialect } from '../../../test/support/storage.js';

describeEachDialect('the mail catcher routes when no catcher runs', (dialect) => {
  let t: TestApp;
  beforeAll(async () => {
    // Port 25799 (this suite's own range) is never connected to: nothing here sends.
    t = await startTestApp(dialect, { TOCSIN_SMTP_URL: 'smtp://127.0.0.1:25799' });
  });
  afterAll(() => t.close());

  it('answers 404 with a sentence saying why, not "Mail catcher (TOCSIN_SMTP_URL is set, so none runs) not found."', async () => {
    for (const method of ['GET', 'DELETE'] as const) {
      const res = await t.call(method, '/api/v1/system/mail-catcher/messages');
      expect(res.statusCode, method).toBe(404);
      expect(res.json().detail, method).toBe('No mail catcher runs: TOCSIN_SMTP_URL is set, so emails go to that server.');
    }
  });
});
