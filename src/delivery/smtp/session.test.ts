/**
 * A session's account of a drop: a message is in doubt (the server may have queued it) only once
 * its own DATA was answered with 354, never because the message before it on the connection was.
 */
import dns from 'node:dns';
import type net from 'node:net';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { type TestSmtpServer, plainEndpointOf, startTestSmtpServer } from '../../../test/support/smtp-servers.js';
import { SmtpDeliveryError } from '../contract.js';
import { SmtpSession } from './session.js';

const envelope = { from: 'alerts@example.com', to: ['ops@example.com'] };
const message = (n: number) => Buffer.from(`Message-ID: <session-${n}@tocsin.test>\r\nSubject: ${n}\r\n\r\nbody ${n}\r\n`);

describe('a session whose connection the server ends right after its 250 to a message', () => {
  let server: TestSmtpServer;
  afterAll(() => server?.close());

  it('fails the next message as dropped before it was sent, not in doubt during DATA, so the pool sends it again on a fresh session', async () => {
    server = await startTestSmtpServer();
    const session = await SmtpSession.open(plainEndpointOf(server));
    expect(await session.send(envelope, message(1))).toMatch(/^250/);
    // The server hung up after its 250: the socket is gone before the connection hears its close
    // event, which is when a worker hands this idle session its next email.
    (session as unknown as { smtp: { _socket: net.Socket } }).smtp._socket.destroy();
    const failure = await session.send(envelope, message(2)).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(failure).toBeInstanceOf(SmtpDeliveryError);
    expect((failure as SmtpDeliveryError).stage).not.toBe('data');
    expect(session.droppedBeforeMessage).toBe(true);
    expect(server.messages.map((m) => m.messageId)).toEqual(['<session-1@tocsin.test>']);
  });
});

describe('a session ended while replies it had read were still queued (a worker stopping mid-send)', () => {
  let server: TestSmtpServer;
  afterAll(() => server?.close());

  it('arms no reply deadline for them: a stopping worker was held for that 30 s, past its 15 s grace, and exited 1', async () => {
    server = await startTestSmtpServer();
    const session = await SmtpSession.open(plainEndpointOf(server));
    type Connection = { logger: { debug(data: { tnx: string }, line: string): void }; _responseQueue: Buffer[]; _processResponse(): void };
    const smtp = (session as unknown as { smtp: Connection }).smtp;
    // Two pipelined commands written, neither answered yet, when the stopping worker ends the connection.
    smtp.logger.debug({ tnx: 'client' }, 'MAIL FROM:<alerts@example.com>');
    smtp.logger.debug({ tnx: 'client' }, 'RCPT TO:<ops@example.com>');
    const ended = new Promise<void>((resolve) => session.onEnd(resolve));
    session.close();
    await ended;
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    try {
      // nodemailer goes on processing the replies that came in the same read as the close, after its 'end'.
      smtp._responseQueue.push(Buffer.from('250 2.1.0 Ok\r\n'));
      smtp._processResponse();
      expect(vi.getTimerCount()).toBe(0);
    } finally {
      vi.useRealTimers();
    }
  });
});

describe('a session whose host nodemailer looks up itself (private hosts allowed, the default) and no DNS server answers', () => {
  it('names the host and how long it waited, as when Tocsin looks the host up itself (lookupTimedOut)', async () => {
    // A DNS server that drops the queries: nodemailer's resolvers never call back, and its own deadline (the
    // endpoint's timeout) ends the lookup. Its error names no host, and no wait: the answer was
    // 'could not resolve the SMTP host (ETIMEOUT): …', which host and after how long left unsaid.
    const resolver = dns.Resolver;
    dns.Resolver = class {
      resolve4(): void {}
      resolve6(): void {}
      cancel(): void {}
    } as unknown as typeof dns.Resolver;
    try {
      const failure = await SmtpSession.open({
        host: 'smtp.unanswered.example',
        port: 587,
        security: 'none',
        authMethod: 'none',
        fromAddress: 'alerts@example.com',
        timeoutMs: 1_000,
      }).then(
        () => undefined,
        (err: unknown) => err,
      );
      expect(failure).toMatchObject({
        stage: 'connect',
        retryable: true,
        message:
          'could not resolve the SMTP host "smtp.unanswered.example" (no answer within 1 s): the DNS lookup failed for now, likely transient: trying again later may work',
        unreached: { cause: 'dns-temporary' },
      });
    } finally {
      dns.Resolver = resolver;
    }
  });
});
