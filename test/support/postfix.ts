import fs from 'node:fs';
import net from 'node:net';
import { until } from './until.js';

const POSTFIX = '/usr/sbin/postfix';
/** LOCAL_POSTFIX is the local Postfix as mail settings name it (the API's and an endpoint's fields). */
export const LOCAL_POSTFIX = {
  host: '127.0.0.1',
  port: 25,
  security: 'none',
  authMethod: 'none',
  fromAddress: 'tocsin@localhost.localdomain',
  fromDisplayName: 'Tocsin CI',
} as const;

/** MAILBOX is where the local-only Postfix of .ci/run delivers root@localhost.localdomain's mail. */
export const MAILBOX = '/var/mail/root';
const HOW_TO_RUN =
  'install and start Postfix as a local-only MTA on 127.0.0.1:25 (as .ci/run does: ' +
  'apt-get install postfix with main_mailer_type "Local only", then `postfix start`)';

/** mailboxReadable is whether these tests can read root's mailbox: only when they run as root. */
export function mailboxReadable(): boolean {
  if (process.getuid?.() === 0) return true;
  try {
    fs.accessSync(MAILBOX, fs.constants.R_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * postfixAvailable is whether a Postfix listens on 127.0.0.1:25. Under CI its absence is an
 * error (its tests must run there); elsewhere they are skipped, saying how to run them.
 */
export async function postfixAvailable(): Promise<boolean> {
  let up = false;
  if (fs.existsSync(POSTFIX)) {
    const probe = net.connect({ host: '127.0.0.1', port: 25 });
    up = await new Promise<boolean>((resolve) => {
      probe.once('connect', () => resolve(true));
      probe.once('error', () => resolve(false));
    });
    probe.destroy();
  }
  if (!up) {
    if (process.env.CI) throw new Error(`CI must run the Postfix tests: ${HOW_TO_RUN}.`);
    process.stderr.write(`\n[tocsin] Postfix tests skipped: ${HOW_TO_RUN}.\n\n`);
  }
  return up;
}

/** waitForMailbox resolves once root's mailbox holds a message with `messageId` (local delivery is asynchronous). */
export function waitForMailbox(messageId: string): Promise<void> {
  return until(() => fs.existsSync(MAILBOX) && fs.readFileSync(MAILBOX, 'utf8').includes(messageId), `${messageId} in ${MAILBOX}`, {
    timeoutMs: 10_000,
    everyMs: 200,
  });
}

/** inMailbox is whether root's mailbox holds a message with `messageId`. */
export function inMailbox(messageId: string): boolean {
  return fs.existsSync(MAILBOX) && fs.readFileSync(MAILBOX, 'utf8').includes(messageId);
}
