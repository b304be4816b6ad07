import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type TestApp, startTestApp } from '../../test/support/http.js';
import { LOCAL_POSTFIX, mailboxReadable, postfixAvailable, waitForMailbox } from '../../test/support/postfix.js';
import { DIALECTS } from '../../test/support/storage.js';

const available = await postfixAvailable();

describe.skipIf(!available)('Test Mail Settings through a real Postfix', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp(DIALECTS[0]!);
  });
  afterAll(() => t.close());

  it('is accepted by Postfix and delivered to the local mailbox', async () => {
    await t.tenantWithUser('postfix');
    const res = await t.call('POST', '/api/v1/tenants/postfix/settings/mail/test', {
      sendTo: 'root@localhost.localdomain',
      settings: LOCAL_POSTFIX,
    });
    const body = res.json<{ ok: boolean; messageId: string; transcript: string[] }>();
    expect(body, JSON.stringify(body)).toMatchObject({ ok: true });
    expect(body.transcript.join('\n')).toMatch(/S: 220 .*Postfix/);
    expect(body.transcript.join('\n')).toMatch(/S: 250 2\.0\.0 Ok: queued as/);
    // Local delivery is asynchronous; root's mailbox is readable only when the tests run as root.
    if (mailboxReadable()) await waitForMailbox(body.messageId);
  });
});
