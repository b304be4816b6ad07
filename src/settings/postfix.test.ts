import fs from 'node:fs';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type TestApp, startTestApp } from '../../test/support/http.js';
import { DIALECTS } from '../../test/support/storage.js';

const POSTFIX = '/usr/sbin/postfix';
const MAILBOX = '/var/mail/root';
const HOW_TO_RUN =
  'install and start Postfix as a local-only MTA on 127.0.0.1:25 (as .ci/run does: ' +
  'apt-get install postfix with main_mailer_type "Local only", then `postfix start`)';

function mailboxReadable(): boolean {
  if (process.getuid?.() === 0) return true;
  try {
    fs.accessSync(MAILBOX, fs.constants.R_OK);
    return true;
  } catch {
    return false;
  }
}

async function postfixRunning(): Promise<boolean> {
  if (!fs.existsSync(POSTFIX)) return false;
  const probe = net.connect({ host: '127.0.0.1', port: 25 });
  const up = await new Promise<boolean>((resolve) => {
    probe.once('connect', () => resolve(true));
    probe.once('error', () => resolve(false));
  });
  probe.destroy();
  return up;
}

const available = await postfixRunning();
if (!available) {
  if (process.env.CI) throw new Error(`CI must run the Postfix test: ${HOW_TO_RUN}.`);
  process.stderr.write(`\n[tocsin] Postfix test skipped: ${HOW_TO_RUN}.\n\n`);
}

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
      settings: {
        host: '127.0.0.1',
        port: 25,
        security: 'none',
        authMethod: 'none',
        fromAddress: 'tocsin@localhost.localdomain',
        fromDisplayName: 'Tocsin CI',
      },
    });
    const body = res.json<{ ok: boolean; messageId: string; transcript: string[] }>();
    expect(body, JSON.stringify(body)).toMatchObject({ ok: true });
    expect(body.transcript.join('\n')).toMatch(/S: 220 .*Postfix/);
    expect(body.transcript.join('\n')).toMatch(/S: 250 2\.0\.0 Ok: queued as/);
    // Local delivery is asynchronous; root's mailbox is readable only when the tests run as root.
    if (mailboxReadable()) {
      const deadline = Date.now() + 10_000;
      let found = false;
      while (!found && Date.now() < deadline) {
        found = fs.existsSync(MAILBOX) && fs.readFileSync(MAILBOX, 'utf8').includes(body.messageId);
        if (!found) await new Promise((resolve) => setTimeout(resolve, 200));
      }
      expect(found, `${body.messageId} in ${MAILBOX}`).toBe(true);
    }
  });
});
