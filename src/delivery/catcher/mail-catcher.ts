import type { AddressInfo } from 'node:net';
import type { SMTPServer } from 'smtp-server';
import { newId } from '../../shared/ids.js';

/** CaughtMessage is one email the catcher accepted, parsed for display. */
export interface CaughtMessage {
  id: string;
  receivedAt: string;
  envelope: { from: string | null; to: string[] };
  messageId: string | null;
  subject: string | null;
  from: string | null;
  to: string | null;
  headers: Record<string, string>;
  text: string | null;
  html: string | null;
}

/**
 * CaughtMail is what the catcher's routes read: this process's MailCatcher, or, in one of several
 * api processes, the catcher their primary runs (see cluster-catcher.ts).
 */
export interface CaughtMail {
  /** messages returns what was caught, newest first. */
  messages(): CaughtMessage[] | Promise<CaughtMessage[]>;
  /** clear forgets every caught message. */
  clear(): void | Promise<void>;
}

/** How many messages the catcher keeps; older ones are dropped first. */
const MAX_MESSAGES = 1_000;
/** Largest message the catcher takes, in bytes. */
const MAX_MESSAGE_BYTES = 10 * 1024 * 1024;

// Strict, so that a header in another 8-bit charset is told apart from UTF-8.
const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * headerText reads a raw header value as the sender wrote it. mailparser keeps raw header lines as
 * binary strings (each byte one character), so an address with an accent, sent raw in UTF-8 under
 * SMTPUTF8 (RFC 6532) as Tocsin sends `zoé@exemple.fr`, showed as `zoÃ©@exemple.fr`; bytes that are
 * not UTF-8 stay one character each, as before.
 */
function headerText(binary: string): string {
  try {
    return utf8.decode(Buffer.from(binary, 'latin1'));
  } catch {
    return binary;
  }
}

/**
 * MailCatcher is the built-in SMTP server that `npm start` uses as the system default, so a
 * newcomer sees alert emails arrive without a mail server of their own. It keeps the last
 * messages in memory and accepts any credentials; it listens on loopback only. Its SMTP server and
 * parser are loaded when it starts, so a server configured with TOCSIN_SMTP_URL never loads them.
 */
export class MailCatcher implements CaughtMail {
  #messages: CaughtMessage[] = [];
  #server: SMTPServer | undefined;

  async #create(): Promise<SMTPServer> {
    const [{ SMTPServer }, { simpleParser }] = await Promise.all([import('smtp-server'), import('mailparser')]);
    return new SMTPServer({
      disabledCommands: ['STARTTLS'],
      authOptional: true,
      allowInsecureAuth: true,
      size: MAX_MESSAGE_BYTES,
      banner: 'Tocsin mail catcher',
      disableReverseLookup: true,
      onAuth: (_auth, _session, callback) => callback(null, { user: 'catcher' }),
      onData: (stream, session, callback) => {
        simpleParser(stream)
          .then((mail) => {
            const headers: Record<string, string> = {};
            for (const line of mail.headerLines) headers[line.key] = headerText(line.line.slice(line.line.indexOf(':') + 1).trim());
            this.#messages.push({
              id: newId(),
              receivedAt: new Date().toISOString(),
              envelope: {
                from: session.envelope.mailFrom ? session.envelope.mailFrom.address : null,
                to: session.envelope.rcptTo.map((r) => r.address),
              },
              messageId: mail.messageId ?? null,
              subject: mail.subject ?? null,
              from: mail.from?.text ?? null,
              to: Array.isArray(mail.to) ? mail.to.map((a) => a.text).join(', ') : (mail.to?.text ?? null),
              headers,
              text: mail.text ?? null,
              html: typeof mail.html === 'string' ? mail.html : null,
            });
            if (this.#messages.length > MAX_MESSAGES) this.#messages.splice(0, this.#messages.length - MAX_MESSAGES);
            callback();
          })
          .catch((err: Error) => callback(err));
      },
    });
  }

  /** listen starts the server on 127.0.0.1 and returns the port (0 picks a free one). */
  async listen(port: number): Promise<number> {
    const server = (this.#server = await this.#create());
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => {
        server.off('error', reject);
        resolve((server.server.address() as AddressInfo).port);
      });
    });
  }

  /** messages returns what was caught, newest first. */
  messages(): CaughtMessage[] {
    return [...this.#messages].reverse();
  }

  /** clear forgets every caught message. */
  clear(): void {
    this.#messages = [];
  }

  close(): Promise<void> {
    const server = this.#server;
    return new Promise((resolve) => (server ? server.close(() => resolve()) : resolve()));
  }
}
