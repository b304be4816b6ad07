import crypto from 'node:crypto';
import type { ExternalLogger } from 'nodemailer/lib/shared';
import { describe, expect, it } from 'vitest';
import { LOCAL_POSTFIX, inMailbox, mailboxReadable, postfixAvailable, waitForMailbox } from '../../../test/support/postfix.js';
import type { SmtpEndpoint } from '../contract.js';
import { SmtpSession } from './session.js';

const available = await postfixAvailable();

const POSTFIX: SmtpEndpoint = { ...LOCAL_POSTFIX, timeoutMs: 10_000 };
/** An envelope to root's mailbox whose own address (root+tag, Postfix's recipient_delimiter) its local delivery writes down (X-Original-To). */
const envelopeTo = (tag: string) => ({ from: POSTFIX.fromAddress, to: [`root+${tag}@localhost.localdomain`] });

/** openHearing opens a session to Postfix and resolves `said354` when Postfix asks for the message. */
async function openHearing(): Promise<{ session: SmtpSession; said354: Promise<void> }> {
  let heard354: () => void = () => {};
  const said354 = new Promise<void>((resolve) => {
    heard354 = resolve;
  });
  const quiet = () => {};
  const log: ExternalLogger = {
    trace: quiet,
    info: quiet,
    warn: quiet,
    error: quiet,
    fatal: quiet,
    debug: (data: { tnx?: string } | undefined, message?: unknown) => {
      if (data?.tnx === 'server' && String(message).startsWith('354')) heard354();
    },
  };
  return { session: await SmtpSession.open(POSTFIX, log), said354 };
}

function messageWith(messageId: string): Buffer {
  return Buffer.from(
    `From: Tocsin CI <${POSTFIX.fromAddress}>\r\nTo: root@localhost.localdomain\r\nSubject: Fatal: Robot stopped\r\n` +
      `Message-ID: ${messageId}\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nRobot Finance-07 stopped.\r\n`,
  );
}

describe.skipIf(!available)('A message still rendering when a real Postfix asks for it', () => {
  it('is delivered once rendered; one whose render fails after the 354 ends the connection before the ".", and Postfix delivers nothing of it', async () => {
    // Not a byte of the message reaches Postfix: had it taken an empty one, its envelope address would be in the mailbox.
    const abandonedTag = `abandoned-${crypto.randomUUID()}`;
    const first = await openHearing();
    const why = new Error('the alert no longer exists');
    const abandoned = first.session.send(
      envelopeTo(abandonedTag),
      first.said354.then(() => Promise.reject(why)),
    );
    await expect(abandoned).rejects.toBe(why);
    expect(first.session.ended).toBe(true);

    const deliveredId = `<rendered-${crypto.randomUUID()}@tocsin.test>`;
    const second = await openHearing();
    const reply = await second.session.send(
      envelopeTo('rendered'),
      second.said354.then(() => messageWith(deliveredId)),
    );
    second.session.quit();
    expect(reply).toMatch(/^250 2\.0\.0 Ok: queued as /);
    if (mailboxReadable()) {
      await waitForMailbox(deliveredId);
      expect(inMailbox(abandonedTag)).toBe(false);
    }
  });
});
