import crypto from 'node:crypto';
import net, { type AddressInfo } from 'node:net';
import tls from 'node:tls';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { type MailSender, type OutgoingEmail, type SmtpEndpoint, SmtpDeliveryError } from '../contract.js';
import { TranscribedSmtpError, createMailSender } from './sender.js';
import { refusedAsTooLarge } from './too-large.js';
import { connectionOptions, ehloName } from './transport-options.js';
import {
  type SilentServer,
  type TestSmtpServer,
  startBlackHole,
  startDribblingServer,
  startSilentServer,
  startStalledServer,
  startTestSmtpServer,
} from '../../../test/support/smtp-servers.js';
import { runOutOfDescriptors } from '../../../test/support/out-of-descriptors.js';
import { testCertificates } from '../../../test/support/certificates.js';

const PASSWORD = 'pa55-w0rd-S3CRET';

function email(overrides: Partial<OutgoingEmail> = {}): OutgoingEmail {
  return {
    to: { address: 'ops@example.com', name: 'Ops Team' },
    messageId: `<${Math.random().toString(36).slice(2)}@tocsin.test>`,
    subject: 'Tocsin test',
    text: 'hello',
    html: '<p>hello</p>',
    headers: { 'X-Tocsin-Kind': 'test', 'X-Tocsin-Tenant': 'acme' },
    ...overrides,
  };
}

function endpointFor(server: { port: number; ca?: string }, overrides: Partial<SmtpEndpoint> = {}): SmtpEndpoint {
  return {
    host: 'localhost',
    port: server.port,
    security: 'none',
    authMethod: 'none',
    fromAddress: 'alerts@example.com',
    fromDisplayName: 'Acme Alerts',
    timeoutMs: 10_000,
    ...(server.ca ? { ca: server.ca } : {}),
    ...overrides,
  };
}

/** later is a promise settled from outside: a render that finishes when the test says so. */
function later<T>(): { promise: Promise<T>; resolve: (value: T) => void; reject: (error: unknown) => void } {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((ok, fail) => {
    resolve = ok;
    reject = fail;
  });
  return { promise, resolve, reject };
}

async function failure(promise: Promise<unknown>): Promise<SmtpDeliveryError> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof SmtpDeliveryError) return err;
    throw err;
  }
  throw new Error('expected the send to fail');
}

/**
 * startAgreeingServer starts a raw SMTP server that offers STARTTLS and agrees to it (220), then
 * never starts the handshake: it falls silent, or hangs up.
 */
async function startAgreeingServer(then: 'silent' | 'hang up' | 'reset'): Promise<net.Server & { port: number }> {
  const server = net.createServer((socket) => {
    socket.on('error', () => {});
    socket.write('220 agreeing.test ESMTP\r\n');
    socket.on('data', (chunk) => {
      const line = chunk.toString();
      if (/^EHLO/i.test(line)) socket.write('250-agreeing.test\r\n250 STARTTLS\r\n');
      else if (/^STARTTLS/i.test(line)) {
        socket.write('220 2.0.0 Ready to start TLS\r\n', () => (then === 'hang up' ? socket.end() : undefined));
        // A reset comes with the client's first handshake bytes, as from a middlebox that drops TLS.
        if (then === 'reset') socket.once('data', () => socket.resetAndDestroy());
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return Object.assign(server, { port: (server.address() as AddressInfo).port });
}

/**
 * startRelistingServer starts a raw SMTP server reached over TLS (implicit, or upgraded by STARTTLS)
 * whose every EHLO lists STARTTLS, the secure one's too (some servers do), and never AUTH, and which
 * refuses the recipient as a relay without a sign-in.
 */
async function startRelistingServer(security: 'tls' | 'starttls'): Promise<net.Server & { port: number }> {
  const context = tls.createSecureContext(testCertificates().localhost);
  const speak = (socket: net.Socket) => {
    socket.on('error', () => {});
    let buffer = '';
    const onData = (chunk: Buffer) => {
      buffer += chunk.toString('latin1');
      for (let end = buffer.indexOf('\r\n'); end >= 0; end = buffer.indexOf('\r\n')) {
        const verb = buffer.slice(0, 4).toUpperCase();
        buffer = buffer.slice(end + 2);
        if (verb === 'EHLO') socket.write('250-relisting.test\r\n250 STARTTLS\r\n');
        else if (verb === 'STAR') {
          socket.off('data', onData);
          socket.write('220 2.0.0 Ready to start TLS\r\n');
          return speak(new tls.TLSSocket(socket, { isServer: true, secureContext: context }));
        } else if (verb === 'RCPT') socket.write('554 5.7.1 <ops@example.com>: Relay access denied\r\n');
        else if (verb === 'QUIT') return void socket.end('221 2.0.0 Bye\r\n');
        else socket.write('250 2.0.0 Ok\r\n');
      }
    };
    socket.on('data', onData);
  };
  const greet = (socket: net.Socket) => {
    socket.write('220 relisting.test ESMTP\r\n');
    speak(socket);
  };
  const server = security === 'tls' ? tls.createServer(testCertificates().localhost, greet) : net.createServer(greet);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return Object.assign(server, { port: (server.address() as AddressInfo).port });
}

describe('SMTP sender against real smtp-server instances', () => {
  const servers: (TestSmtpServer | SilentServer)[] = [];
  let sender: MailSender = createMailSender();
  const start = async (...args: Parameters<typeof startTestSmtpServer>) => {
    const server = await startTestSmtpServer(...args);
    servers.push(server);
    return server;
  };
  afterEach(async () => {
    await sender.close();
    sender = createMailSender();
    await Promise.all(servers.splice(0).map((s) => s.close()));
  });
  afterAll(() => sender.close());

  it('delivers From, To, Message-ID and the given headers, and resolves only on the 250 after DATA', async () => {
    const server = await start();
    const message = email();
    const receipt = await sender.send(endpointFor(server), message);
    expect(receipt.messageId).toBe(message.messageId);
    expect(receipt.response).toMatch(/^250 .*queued as 1/);
    const [got] = server.messages;
    expect(got!.messageId).toBe(message.messageId);
    expect(got!.envelope).toEqual({ from: 'alerts@example.com', to: ['ops@example.com'] });
    expect(got!.raw).toMatch(/^From: Acme Alerts <alerts@example.com>\r?$/m);
    expect(got!.raw).toMatch(/^To: Ops Team <ops@example.com>\r?$/m);
    expect(got!.raw).toMatch(/^X-Tocsin-Kind: test\r?$/m);
    expect(got!.raw).toMatch(/^X-Tocsin-Tenant: acme\r?$/m);
  });

  it("fails a send this process has no file descriptor to reach the server for (a real ulimit -n), by address or by name, as its own cause, retried, not the server's; once one frees it sends", async () => {
    // Node's words were the failure ("connect EMFILE 127.0.0.1:… - Local"), read as the server's:
    // the worker counted it against the server's breaker and the tenant's mail health. By name it was
    // worse: the lookup fails as ENOTFOUND then ("DNS knows no such name, likely permanent"), and the email failed for good.
    const server = await start();
    const senderModule = pathToFileURL(path.join(path.dirname(fileURLToPath(import.meta.url)), 'sender.ts')).href;
    const outcome = await runOutOfDescriptors<{ failures: (Record<string, unknown> | null)[]; after: string; pid: number }>(`
      const { createMailSender } = await import(${JSON.stringify(senderModule)});
      const sender = createMailSender();
      const endpoints = ${JSON.stringify([endpointFor(server, { host: '127.0.0.1' }), endpointFor(server)])};
      // Each run's own Message-ID: a spoiled run's send reached the server before the run began again.
      const email = { ...${JSON.stringify(email())}, messageId: '<failing-' + process.pid + '@tocsin.test>' };
      const outcome = { failures: [], pid: process.pid };
      for (const endpoint of endpoints) {
        takeAll();
        await sender.send(endpoint, email).then(
          () => outcome.failures.push(null),
          (err) => outcome.failures.push({ name: err.name, stage: err.stage, retryable: err.retryable, message: err.message }),
        );
      }
      // A send that went through had a descriptor another part of the process freed after takeAll (CI, once):
      // this run proves nothing, and the child runs again. A failed send frees its own, so no check after each.
      if (outcome.failures.includes(null)) spoiled();
      for (const fd of taken) fs.closeSync(fd);
      outcome.after = (await sender.send(endpoints[1], { ...email, messageId: '<after@tocsin.test>' })).messageId;
      console.log(JSON.stringify(outcome));
      await sender.close();`);
    const local = {
      name: 'LocalSendError',
      stage: 'connect',
      retryable: true,
      message: expect.stringMatching(
        /^this process has no file descriptor left to connect to the SMTP server \(EMFILE\), a limit of this machine, not the server's: raise the open-files limit/,
      ),
    };
    expect(outcome.failures).toEqual([local, local]);
    expect(outcome.after).toBe('<after@tocsin.test>');
    // The run that counted sent nothing while out of descriptors, and the one email after; a spoiled
    // run before it may have sent its own (CI 122: two messages at the server, one a spoiled run's).
    const ids = server.messages.map((message) => /^Message-ID:\s*(\S+)/im.exec(message.raw)?.[1]);
    expect(ids.filter((id) => id !== undefined && !/^<failing-\d+@tocsin\.test>$/.test(id))).toEqual(['<after@tocsin.test>']);
    expect(ids).not.toContain(`<failing-${outcome.pid}@tocsin.test>`);
  }, 60_000);

  it('reuses one pooled connection for several emails to the same endpoint', async () => {
    const server = await start();
    const endpoint = endpointFor(server);
    await sender.send(endpoint, email());
    await sender.send(endpoint, email());
    expect(server.messages).toHaveLength(2);
    expect(server.connections()).toBe(1);
  });

  it('hashes the settings once for the new endpoint objects of successive one-row claims, and sends them all on one connection', async () => {
    const server = await start();
    // The SHA-256s taken (a pool's key is one, poolKey, and a pooled send takes no other), counted on node:crypto
    // itself: a vi.mock of the module that hashes does not reach a module graph an earlier file of the same worker
    // loaded (isolate: false), where it counted none.
    const createHash = vi.spyOn(crypto, 'createHash');
    try {
      // A new endpoint object each time, as each claim of one row (a Fatal alert's email) resolves its own.
      for (let i = 0; i < 3; i++) await sender.send(endpointFor(server), email());
      expect(server.messages).toHaveLength(3);
      expect(server.connections()).toBe(1);
      expect(createHash.mock.calls.filter(([algorithm]) => algorithm === 'sha256')).toHaveLength(1);
    } finally {
      createHash.mockRestore();
    }
  });

  it('gives settings that differ from the last pool its own pool, and the first settings theirs again', async () => {
    const server = await start();
    await sender.send(endpointFor(server), email());
    await sender.send(endpointFor(server, { fromDisplayName: 'Acme Night Shift' }), email());
    expect(server.connections()).toBe(2);
    await sender.send(endpointFor(server), email());
    expect(server.connections()).toBe(2);
    await sender.send(endpointFor(server, { connectAddress: '127.0.0.1' }), email());
    expect(server.connections()).toBe(3);
    expect(server.messages.map((m) => /^From: (.*)$/m.exec(m.raw)?.[1])).toEqual([
      expect.stringContaining('Acme Alerts'),
      expect.stringContaining('Acme Night Shift'),
      expect.stringContaining('Acme Alerts'),
      expect.stringContaining('Acme Alerts'),
    ]);
  });

  it('closes an idle pool, and every pool on close()', async () => {
    const server = await start();
    const idle = createMailSender({ idleMs: 100 });
    await idle.send(endpointFor(server), email());
    expect(server.openConnections()).toBe(1);
    await server.waitForOpenConnections(0);
    await idle.send(endpointFor(server), email());
    expect(server.connections()).toBe(2);
    await idle.close();
    await server.waitForOpenConnections(0);
    expect(server.messages).toHaveLength(2);
  });

  it('keeps a warm connection logged in while idle, sends the next email on it, reopens it when the server drops it, and closes it on close()', async () => {
    const server = await start({ tls: 'starttls', auth: { username: 'robot', password: PASSWORD, methods: ['PLAIN'] } });
    const warm = createMailSender({ warmMs: 60_000 });
    // The client's own socket timeout (1.5 s) would end a silent connection: RSETs keep it open.
    const endpoint = endpointFor(server, { security: 'starttls', authMethod: 'plain', username: 'robot', password: PASSWORD, timeoutMs: 1_500 });
    try {
      warm.warm(endpoint);
      await server.waitForCommand('AUTH', 1);
      await server.waitForCommand('RSET', 4);
      expect(server.connections()).toBe(1);
      await warm.send(endpoint, email());
      expect(server.connections()).toBe(1);
      expect(server.authSeen).toHaveLength(1);

      server.dropConnections();
      await server.waitForCommand('AUTH', 2);
      await server.waitForOpenConnections(1);
      await warm.send(endpoint, email());
      expect(server.connections()).toBe(2);
    } finally {
      await warm.close();
    }
    await server.waitForOpenConnections(0);
    expect(server.messages).toHaveLength(2);
  });

  it('sends an email over a new connection once when its connection dropped at MAIL FROM, before any byte of it', async () => {
    const server = await start({ dropAtMailFrom: 1 });
    await sender.send(endpointFor(server), email());
    expect(server.messages).toHaveLength(1);
    expect(server.connections()).toBe(2);

    // A 421 is the server's answer, not a drop: the outbox's backoff decides, not another session.
    const closing = await start({ failures: [{ at: 'mail', code: 421, times: 1 }] });
    expect(await failure(sender.send(endpointFor(closing), email()))).toMatchObject({ stage: 'sender', retryable: true, code: 421 });
    expect(closing.mailFromSeen).toHaveLength(1);

    const twice = await start({ dropAtMailFrom: 2 });
    expect(await failure(sender.send(endpointFor(twice), email()))).toMatchObject({ stage: 'sender', retryable: true });
    expect(twice.messages).toEqual([]);
  });

  it('tries a refused login once for all the emails waiting for it, not once per email', async () => {
    const server = await start({ tls: 'starttls', auth: { username: 'robot', password: PASSWORD, methods: ['PLAIN'] } });
    const endpoint = endpointFor(server, { security: 'starttls', authMethod: 'plain', username: 'robot', password: 'wrong' });
    const errors = await Promise.all(Array.from({ length: 5 }, () => failure(sender.send(endpoint, email()))));
    for (const error of errors) expect(error).toMatchObject({ stage: 'auth', retryable: false, code: 535 });
    expect(server.authSeen).toHaveLength(1);
  });

  it('upgrades with STARTTLS, verifies the certificate with the test CA, then AUTH PLAIN', async () => {
    const server = await start({ tls: 'starttls', auth: { username: 'robot', password: PASSWORD, methods: ['PLAIN'] } });
    await sender.send(endpointFor(server, { security: 'starttls', authMethod: 'plain', username: 'robot', password: PASSWORD }), email());
    expect(server.messages[0]).toMatchObject({ secure: true, user: 'robot' });
    expect(server.authSeen).toEqual([{ method: 'PLAIN', secure: true }]);
  });

  it('speaks implicit TLS and AUTH LOGIN, joining the domain to the user name', async () => {
    const server = await start({ tls: 'implicit', auth: { username: 'CORP\\robot', password: PASSWORD, methods: ['LOGIN'] } });
    await sender.send(endpointFor(server, { security: 'tls', authMethod: 'login', domain: 'CORP', username: 'robot', password: PASSWORD }), email());
    expect(server.messages[0]).toMatchObject({ secure: true, user: 'CORP\\robot' });
  });

  it('sends a user name typed already qualified (CORP\\robot, or robot@corp.example.com) as it is, not with the domain joined again', async () => {
    const qualified = await start({ tls: 'implicit', auth: { username: 'CORP\\robot', password: PASSWORD, methods: ['LOGIN'] } });
    await sender.send(endpointFor(qualified, { security: 'tls', authMethod: 'login', domain: 'CORP', username: 'CORP\\robot', password: PASSWORD }), email());
    expect(qualified.messages[0]).toMatchObject({ user: 'CORP\\robot' });
    const principal = await start({ tls: 'implicit', auth: { username: 'robot@corp.example.com', password: PASSWORD, methods: ['PLAIN'] } });
    await sender.send(
      endpointFor(principal, { security: 'tls', authMethod: 'plain', domain: 'CORP', username: 'robot@corp.example.com', password: PASSWORD }),
      email(),
    );
    expect(principal.messages[0]).toMatchObject({ user: 'robot@corp.example.com' });
  });

  it('authenticates with XOAUTH2 and an access token, and reports a refused token as an auth failure', async () => {
    const server = await start({ tls: 'starttls', auth: { username: 'robot@example.com', accessToken: 'ya29.good', methods: ['XOAUTH2'] } });
    const base = { security: 'starttls' as const, authMethod: 'xoauth2' as const, username: 'robot@example.com' };
    await sender.send(endpointFor(server, { ...base, accessToken: 'ya29.good' }), email());
    expect(server.messages).toHaveLength(1);
    const error = await failure(sender.send(endpointFor(server, { ...base, accessToken: 'ya29.bad' }), email()));
    expect(error).toMatchObject({ stage: 'auth', retryable: false });
  });

  it('signs in with the access token under authMethod auto when no password is set, as the token is the only credential given', async () => {
    // The server offers PLAIN and LOGIN first, as Gmail and Microsoft 365 do beside XOAUTH2: auto
    // used to pick PLAIN and fail with "no password is set", the saved token never tried.
    const server = await start({
      tls: 'starttls',
      auth: { username: 'robot@example.com', accessToken: 'ya29.good', methods: ['PLAIN', 'LOGIN', 'XOAUTH2'] },
    });
    const tokenOnly = { security: 'starttls' as const, authMethod: 'auto' as const, username: 'robot@example.com', accessToken: 'ya29.good' };
    await sender.send(endpointFor(server, tokenOnly), email());
    expect(server.messages).toHaveLength(1);
    expect(server.authSeen.map((seen) => seen.method)).toEqual(['XOAUTH2']);
  });

  it('says that the access token was refused when an XOAUTH2 sign-in fails, keeping the server code and words', async () => {
    const server = await start({ tls: 'starttls', auth: { username: 'robot@example.com', accessToken: 'ya29.good', methods: ['XOAUTH2'] } });
    const endpoint = endpointFor(server, { security: 'starttls', authMethod: 'xoauth2', username: 'robot@example.com', accessToken: 'ya29.expired' });
    const error = await failure(sender.send(endpoint, email(), { transcript: true }));
    expect(error).toMatchObject({ stage: 'auth', retryable: false, code: 535 });
    expect(error.message).toMatch(/^the server refused the access token \(XOAUTH2\)/);
    // The reason the server gave in its challenge (Gmail's and smtp-server's JSON), and its final reply.
    expect(error.message).toContain('status 401');
    expect(error.message).toContain('535 Error: Username and Password not accepted');
  });

  it('says the server does not offer the sign-in method chosen, and which it offers, rather than blaming the token or a login sequence', async () => {
    // Microsoft 365's basic sign-in servers, an on-premises Exchange: LOGIN and PLAIN, no XOAUTH2; a server with PLAIN alone.
    const server = await start({ tls: 'starttls', auth: { username: 'robot@example.com', password: PASSWORD, methods: ['PLAIN', 'LOGIN'] } });
    const oauth = endpointFor(server, { security: 'starttls', authMethod: 'xoauth2', username: 'robot@example.com', accessToken: 'ya29.good' });
    const plainOnly = await start({ tls: 'starttls', auth: { username: 'robot', password: PASSWORD, methods: ['PLAIN'] } });
    const login = endpointFor(plainOnly, { security: 'starttls', authMethod: 'login', username: 'robot', password: PASSWORD });
    for (const options of [{}, { transcript: true }]) {
      const error = await failure(sender.send(login, email(), options));
      expect(error).toMatchObject({ stage: 'auth', retryable: false, code: 504 });
      expect(error.message).toBe(
        'the server does not offer AUTH LOGIN (it offers PLAIN): choose the sign-in method auto, or one it offers: 504 Error: Unrecognized authentication type',
      );
    }
    // An access token, chosen as XOAUTH2 or given alone under auto (which then signs in with it):
    // no method helps, a password does; "choose auto" sent an auto user round in a circle.
    const tokenUnderAuto = endpointFor(server, { security: 'starttls', authMethod: 'auto', username: 'robot@example.com', accessToken: 'ya29.good' });
    for (const endpoint of [oauth, tokenUnderAuto]) {
      for (const options of [{}, { transcript: true }]) {
        const error = await failure(sender.send(endpoint, email(), options));
        expect(error, endpoint.authMethod).toMatchObject({ stage: 'auth', retryable: false, code: 504 });
        expect(error.message, endpoint.authMethod).toBe(
          'the server does not offer AUTH XOAUTH2 (it offers PLAIN, LOGIN), so the access token cannot sign in: give a password instead, with the sign-in method auto or one it offers: 504 Error: Unrecognized authentication type',
        );
      }
    }
    expect(server.messages).toHaveLength(0);
    // A server that signs in with an access token alone: a password, whatever the method, cannot do; `auto` is what was chosen.
    const tokenOnly = await start({ tls: 'starttls', auth: { username: 'robot@example.com', accessToken: 'ya29.good', methods: ['XOAUTH2'] } });
    for (const authMethod of ['auto', 'plain'] as const) {
      const withPassword = endpointFor(tokenOnly, { security: 'starttls', authMethod, username: 'robot@example.com', password: PASSWORD });
      const refused = await failure(sender.send(withPassword, email()));
      expect(refused, authMethod).toMatchObject({ stage: 'auth', retryable: false, code: 504 });
      expect(refused.message, authMethod).toBe(
        'the server offers only AUTH XOAUTH2, which signs in with an access token, not a password: choose the sign-in method xoauth2 and give an access token: 504 Error: Unrecognized authentication type',
      );
    }
    // The same beside a Windows sign-in Tocsin does not speak: "offers only AUTH XOAUTH2" denied the NTLM the transcript shows.
    const tokenOrWindows = await start({ tls: 'starttls', auth: { username: 'robot@example.com', accessToken: 'ya29.good', methods: ['XOAUTH2', 'NTLM'] } });
    const besideWindows = await failure(
      sender.send(endpointFor(tokenOrWindows, { security: 'starttls', authMethod: 'auto', username: 'robot@example.com', password: PASSWORD }), email()),
    );
    expect(besideWindows).toMatchObject({ stage: 'auth', retryable: false, code: 504 });
    expect(besideWindows.message).toBe(
      'the server offers AUTH XOAUTH2, NTLM, of which Tocsin speaks only XOAUTH2, which signs in with an access token, not a password: choose the sign-in method xoauth2 and give an access token: 504 Error: Unrecognized authentication type',
    );
    // An Exchange connector offering Windows sign-in alone: no method of Tocsin's settings would do.
    const ntlmOnly = await start({ tls: 'starttls', auth: { username: 'robot', password: PASSWORD, methods: ['NTLM'] } });
    const error = await failure(
      sender.send(endpointFor(ntlmOnly, { security: 'starttls', authMethod: 'auto', domain: 'CORP', username: 'robot', password: PASSWORD }), email()),
    );
    expect(error).toMatchObject({ stage: 'auth', retryable: false, code: 504 });
    expect(error.message).toBe(
      'the server offers only AUTH NTLM, none of which Tocsin can sign in with (it speaks PLAIN, LOGIN, CRAM-MD5, XOAUTH2): allow one of those on the server: 504 Error: Unrecognized authentication type',
    );
  });

  it('reports a wrong password as a 535 auth failure that is not retried', async () => {
    const server = await start({ auth: { username: 'robot', password: PASSWORD } });
    const error = await failure(
      sender.send(endpointFor(server, { authMethod: 'auto', username: 'robot', password: 'wrong', allowPlaintextAuth: true }), email()),
    );
    expect(error).toMatchObject({ stage: 'auth', retryable: false, code: 535 });
    expect(error.response).toContain('Authentication credentials invalid');
  });

  it('says no password is set when the server asks for a sign-in and only a user name is given, and relays without one when it offers no AUTH', async () => {
    const server = await start({ tls: 'starttls', auth: { username: 'robot', password: PASSWORD } });
    const endpoint = endpointFor(server, { security: 'starttls', authMethod: 'auto', username: 'robot' });
    const error = await failure(sender.send(endpoint, email()));
    expect(error).toMatchObject({ stage: 'auth', retryable: false, message: expect.stringMatching(/no password is set/) });
    expect(error.message).not.toMatch(/Missing credentials/);
    const relay = await start({ tls: 'starttls' });
    await sender.send(endpointFor(relay, { security: 'starttls', authMethod: 'auto', username: 'robot' }), email());
    expect(relay.messages).toHaveLength(1);
  });

  it("greets with a name a server can check: the machine's when fully qualified, else the From address's domain, never [127.0.0.1]", async () => {
    // Google's smtp-relay refuses an address literal (nodemailer's fallback for a short host name, a
    // container's or a VM's) with a 421 that reads as transient: every email was retried until given up.
    const ehlos: string[] = [];
    const relay = net.createServer((socket) => {
      socket.on('error', () => {});
      socket.write('220 relay.test ESMTP\r\n');
      let buffered = '';
      socket.on('data', (chunk) => {
        buffered += chunk.toString();
        for (let end = buffered.indexOf('\r\n'); end >= 0; end = buffered.indexOf('\r\n')) {
          const line = buffered.slice(0, end);
          buffered = buffered.slice(end + 2);
          if (/^EHLO /i.test(line)) {
            ehlos.push(line.slice(5));
            if (line.slice(5).startsWith('[')) socket.end('421 4.7.0 Try again later, closing connection. (EHLO)\r\n');
            else socket.write('250-relay.test\r\n250 8BITMIME\r\n');
          } else if (/^DATA/i.test(line)) socket.write('354 go ahead\r\n');
          else if (line === '.' || !/^(QUIT)/i.test(line)) socket.write('250 ok\r\n');
          else socket.end('221 bye\r\n');
        }
      });
    });
    await new Promise<void>((resolve) => relay.listen(0, '127.0.0.1', resolve));
    try {
      const endpoint = endpointFor({ port: (relay.address() as AddressInfo).port }, { fromAddress: 'alerts@bücher.example' });
      await sender.send(endpoint, email());
      expect(ehlos[0]).toBe(ehloName(endpoint));
      expect(ehlos[0]).not.toMatch(/^\[/);
    } finally {
      await new Promise((resolve) => relay.close(resolve));
    }
    const endpoint = endpointFor({ port: 25 }, { fromAddress: 'alerts@bücher.example' });
    expect(ehloName(endpoint, 'vm')).toBe('xn--bcher-kva.example');
    expect(ehloName(endpoint, '3f2a1b9c0d4e')).toBe('xn--bcher-kva.example');
    expect(ehloName(endpoint, 'tocsin-1.prod.example.net')).toBe('tocsin-1.prod.example.net');
    expect(connectionOptions(endpoint).name).toBe(ehloName(endpoint));
  });

  it("greets with the From address's domain, not a bare IP address, on a machine whose host name is its IP address", () => {
    // RFC 5321 takes an address only as a literal in brackets: "EHLO 10.0.0.5" is refused by a strict
    // server (Postfix's reject_invalid_helo_hostname), where nodemailer's own fallback bracketed it.
    const endpoint = endpointFor({ port: 25 }, { fromAddress: 'alerts@example.com' });
    expect(ehloName(endpoint, '10.0.0.5')).toBe('example.com');
    expect(ehloName(endpoint, 'fe80::1')).toBe('example.com');
    expect(ehloName(endpointFor({ port: 25 }, { fromAddress: 'alerts@localhost' }), '10.0.0.5')).toBeUndefined();
  });

  it('says the server offered no AUTH when it refuses the mail for want of a sign-in the settings had credentials for', async () => {
    // A company's MX host (port 25) given for its submission server: no AUTH there, so the password is never sent.
    const mx = await start({
      tls: 'starttls',
      failures: [{ at: 'rcpt', code: 550, message: '5.7.54 SMTP; Unable to relay recipient in non-accepted domain' }],
    });
    const withCredentials = endpointFor(mx, { security: 'starttls', authMethod: 'auto', username: 'robot', password: PASSWORD });
    for (const options of [{}, { transcript: true }]) {
      const relay = await failure(sender.send(withCredentials, email(), options));
      expect(relay).toMatchObject({ stage: 'recipient', retryable: false, code: 550 });
      expect(relay.message).toBe(
        'the server offered no sign-in (AUTH) on this connection, so the user name and password were not sent, and it refused the mail without one: give the host and port of the mail submission service (usually port 587 with STARTTLS), which offers AUTH: 550 5.7.54 SMTP; Unable to relay recipient in non-accepted domain',
      );
    }
    const wantsSignIn = await start({ tls: 'starttls', failures: [{ at: 'mail', code: 530, message: '5.7.0 Authentication required' }] });
    const refused = await failure(
      sender.send(endpointFor(wantsSignIn, { security: 'starttls', authMethod: 'auto', username: 'robot', password: PASSWORD }), email()),
    );
    expect(refused).toMatchObject({ stage: 'auth', retryable: false, code: 530 });
    expect(refused.message).toMatch(/^the server offered no sign-in \(AUTH\) on this connection, .*: 530 5\.7\.0 Authentication required$/);
    // Without credentials nothing was left unsent: the refusal is the server's own words.
    const unsigned = await failure(sender.send(endpointFor(wantsSignIn, { security: 'starttls', authMethod: 'none' }), email()));
    expect(unsigned.message).not.toMatch(/offered no sign-in/);
  });

  it('says the server offers its sign-in only after STARTTLS, which these settings do not use, when it refuses the mail of a plain connection that had credentials', async () => {
    // A submission port that announces AUTH only once TLS is up (Postfix's smtpd_tls_auth_only): before it, STARTTLS and no AUTH.
    const tlsAuthOnly = await start({ tls: 'starttls', failures: [{ at: 'rcpt', code: 554, message: '5.7.1 <ops@example.com>: Relay access denied' }] });
    const plain = endpointFor(tlsAuthOnly, { authMethod: 'auto', username: 'robot', password: PASSWORD, allowPlaintextAuth: true });
    for (const options of [{}, { transcript: true }]) {
      const relay = await failure(sender.send(plain, email(), options));
      expect(relay).toMatchObject({ stage: 'tls', retryable: false, code: 554, response: '554 5.7.1 <ops@example.com>: Relay access denied' });
      expect(relay.message).toBe(
        'the server offers a sign-in (AUTH) only over TLS: it offered STARTTLS, which these settings do not use (security none), so the user name and password were not sent, and it refused the mail without one: choose security "starttls" (the Enable SSL box): 554 5.7.1 <ops@example.com>: Relay access denied',
      );
    }
    const wantsSignIn = await start({ tls: 'starttls', failures: [{ at: 'mail', code: 530, message: '5.7.0 Authentication required' }] });
    const refused = await failure(
      sender.send(endpointFor(wantsSignIn, { authMethod: 'auto', username: 'robot', password: PASSWORD, allowPlaintextAuth: true }), email()),
    );
    expect(refused).toMatchObject({ stage: 'tls', retryable: false, code: 530 });
    expect(refused.message).toMatch(/^the server offers a sign-in \(AUTH\) only over TLS: .*: 530 5\.7\.0 Authentication required$/);
  });

  it('says the server offered no sign-in, not that the settings left STARTTLS out, when a server reached over TLS lists STARTTLS again and no AUTH', async () => {
    // The connection is secure (implicit TLS, or upgraded): STARTTLS listed again offers nothing these settings declined.
    for (const security of ['tls', 'starttls'] as const) {
      const server = await startRelistingServer(security);
      try {
        const endpoint = endpointFor(server, { security, ca: testCertificates().ca, authMethod: 'auto', username: 'robot', password: PASSWORD });
        const relay = await failure(sender.send(endpoint, email()));
        expect(relay, security).toMatchObject({ stage: 'recipient', retryable: false, code: 554 });
        expect(relay.message, security).toMatch(
          /^the server offered no sign-in \(AUTH\) on this connection, .*: 554 5\.7\.1 <ops@example\.com>: Relay access denied$/,
        );
      } finally {
        server.close();
      }
    }
  });

  it('never sends credentials over a connection without TLS unless plaintext AUTH is allowed explicitly', async () => {
    const server = await start({ auth: { username: 'robot', password: PASSWORD } });
    for (const authMethod of ['auto', 'plain', 'login'] as const) {
      const error = await failure(sender.send(endpointFor(server, { authMethod, username: 'robot', password: PASSWORD }), email()));
      expect(error).toMatchObject({ stage: 'auth', retryable: false, message: expect.stringMatching(/never sent without TLS/) });
    }
    expect(server.connections()).toBe(0);
    await sender.send(endpointFor(server, { authMethod: 'plain', username: 'robot', password: PASSWORD, allowPlaintextAuth: true }), email());
    expect(server.authSeen).toEqual([{ method: 'PLAIN', secure: false }]);
  });

  it('fails at the TLS stage when STARTTLS is required but not offered, sending nothing in plaintext', async () => {
    const server = await start({ auth: { username: 'robot', password: PASSWORD } });
    const error = await failure(
      sender.send(endpointFor(server, { security: 'starttls', authMethod: 'plain', username: 'robot', password: PASSWORD }), email()),
    );
    expect(error).toMatchObject({ stage: 'tls', retryable: false });
    expect(server.authSeen).toEqual([]);
    expect(server.mailFromSeen).toEqual([]);
    expect(server.messages).toEqual([]);
  });

  it('fails at the TLS stage when STARTTLS is required and the server knows no EHLO, and says a refused EHLO is a refusal, not a want of STARTTLS', async () => {
    // Test Mail Settings answered stage connect, "EHLO failed but HELO does not support required
    // STARTTLS", which the console explained as a server refusing Tocsin's address.
    const greeting = (ehloReply: string) =>
      net.createServer((socket) => {
        socket.on('error', () => {});
        socket.write('220 old.test SMTP\r\n');
        socket.on('data', (chunk) => {
          if (/^EHLO/i.test(chunk.toString())) socket.write(`${ehloReply}\r\n`);
          else socket.write('250 old.test\r\n');
        });
      });
    for (const [reply, expected] of [
      [
        '502 5.5.2 Error: command not recognized',
        {
          stage: 'tls',
          retryable: false,
          code: 502,
          message:
            'the server does not know EHLO (an SMTP server without extensions), so it cannot offer STARTTLS, which these settings require: 502 5.5.2 Error: command not recognized',
        },
      ],
      [
        '554 5.7.1 <example.com>: Helo command rejected: Host not found',
        { stage: 'connect', retryable: false, code: 554, message: 'the server refused EHLO: 554 5.7.1 <example.com>: Helo command rejected: Host not found' },
      ],
    ] as const) {
      const server = greeting(reply);
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      try {
        const endpoint = endpointFor({ port: (server.address() as AddressInfo).port }, { security: 'starttls' });
        expect(await failure(sender.send(endpoint, email(), { transcript: true })), reply).toMatchObject(expected);
      } finally {
        server.close();
      }
    }
  });

  it('still upgrades when the STARTTLS line is stripped from EHLO, never falling back to plaintext', async () => {
    const server = await start({ tls: 'starttls-hidden', auth: { username: 'robot', password: PASSWORD } });
    await sender.send(endpointFor(server, { security: 'starttls', authMethod: 'plain', username: 'robot', password: PASSWORD }), email());
    expect(server.authSeen).toEqual([{ method: 'PLAIN', secure: true }]);
    expect(server.mailFromSeen).toEqual([{ secure: true }]);
  });

  it('fails at the TLS stage when the certificate is for another host, with STARTTLS and implicit TLS', async () => {
    const starttls = await start({ tls: 'starttls', certificate: 'wrong-host' });
    expect(await failure(sender.send(endpointFor(starttls, { security: 'starttls' }), email()))).toMatchObject({ stage: 'tls', retryable: false });
    const implicit = await start({ tls: 'implicit', certificate: 'wrong-host' });
    expect(await failure(sender.send(endpointFor(implicit, { security: 'tls' }), email()))).toMatchObject({ stage: 'tls', retryable: false });
    expect(starttls.mailFromSeen).toEqual([]);
  });

  it('fails at the TLS stage on an expired or a self-signed certificate, with STARTTLS and implicit TLS, before any AUTH or MAIL FROM', async () => {
    const auth = { username: 'robot', password: PASSWORD };
    for (const certificate of ['expired', 'self-signed'] as const) {
      for (const [tls, security] of [
        ['starttls', 'starttls'],
        ['implicit', 'tls'],
      ] as const) {
        const server = await start({ tls, certificate, auth });
        const error = await failure(sender.send(endpointFor(server, { security, authMethod: 'plain', ...auth }), email()));
        expect(error, `${certificate} ${tls}`).toMatchObject({ stage: 'tls', retryable: false });
        expect([server.authSeen, server.mailFromSeen]).toEqual([[], []]);
      }
    }
  });

  it('places a server that hangs up in the TLS handshake at the TLS stage, implicit or after STARTTLS, and says so', async () => {
    // Node's words were the answer, and for implicit TLS at the connect stage: "Tocsin could not reach the server".
    const hangingUp = net.createServer((socket) => {
      socket.on('error', () => {});
      socket.once('data', () => socket.end());
    });
    await new Promise<void>((resolve) => hangingUp.listen(0, '127.0.0.1', resolve));
    const agreeingThenHangingUp = await startAgreeingServer('hang up');
    try {
      const implicit = await failure(
        sender.send(endpointFor({ port: (hangingUp.address() as AddressInfo).port }, { security: 'tls' }), email(), { transcript: true }),
      );
      expect(implicit).toMatchObject({ stage: 'tls', retryable: true });
      expect(implicit.message).toBe(
        'the server closed the connection during the TLS handshake: it may not speak TLS from the first byte on this port, or refuse TLS 1.2 and later, which Tocsin requires',
      );
      const upgraded = await failure(sender.send(endpointFor(agreeingThenHangingUp, { security: 'starttls' }), email()));
      expect(upgraded).toMatchObject({ stage: 'tls', retryable: true });
      expect(upgraded.message).toBe('the server closed the connection during the TLS handshake it had agreed to start');
      const reset = await startAgreeingServer('reset');
      try {
        const resetUpgrade = await failure(sender.send(endpointFor(reset, { security: 'starttls' }), email()));
        expect(resetUpgrade).toMatchObject({ stage: 'tls', retryable: true });
        // Node reports the reset as a read's or as the handshake's end, as the packets fall: both say what happened, neither says STARTTLS.
        expect(resetUpgrade.message).toMatch(
          /^the server closed the connection (abruptly \((ECONNRESET|EPIPE)\) while starting TLS|during the TLS handshake it had agreed to start)$/,
        );
      } finally {
        reset.close();
      }
    } finally {
      hangingUp.close();
      agreeingThenHangingUp.close();
    }
  });

  it('names the security mode a port expects: implicit TLS on a plain port, and STARTTLS or plain on an implicit TLS port, not retried', async () => {
    const plain = await start();
    const onPlain = await failure(sender.send(endpointFor(plain, { security: 'tls' }), email()));
    expect(onPlain).toMatchObject({ stage: 'tls', retryable: false });
    expect(onPlain.message).toMatch(/expects STARTTLS or no TLS/);
    const implicit = await start({ tls: 'implicit' });
    // Room for a loaded machine to connect before the wait for the greeting starts (500 ms left none on CI),
    // and for the handshake of the probe made after it, which has a twentieth of the timeout (250 ms:
    // a loopback handshake on a machine as loaded as CI's takes some tens). Both at once, each on
    // connections of its own: one after the other waited out the greeting's timeout twice.
    const onImplicit = await Promise.all(
      (['starttls', 'none'] as const).map((security) => failure(sender.send(endpointFor(implicit, { security, timeoutMs: 5_000 }), email()))),
    );
    for (const error of onImplicit) {
      expect(error).toMatchObject({ stage: 'tls', retryable: false });
      expect(error.message).toMatch(/expects implicit TLS/);
    }
    expect(implicit.messages).toEqual([]);
  });

  it.each([
    ['an email', false, 0],
    ['Test Mail Settings, which asks early whether the port expects implicit TLS', true, 1],
  ])('waits for a plain server slow to greet and sends: %s', async (_, transcript, speakersFirst) => {
    const server = await start();
    // Holds back what the server says for 1.5 s (its greeting first); what the client says goes through.
    // A client that speaks before the greeting is what Postfix's postscreen calls a pregreet, and penalises.
    const sockets = new Set<net.Socket>();
    let connections = 0;
    let spokeFirst = 0;
    const slow = net.createServer((client) => {
      connections += 1;
      let greeted = false;
      client.once('data', () => {
        if (!greeted) spokeFirst += 1;
      });
      const upstream = net.connect(server.port, '127.0.0.1');
      sockets.add(client).add(upstream);
      client.on('error', () => upstream.destroy());
      upstream.on('error', () => client.destroy());
      client.on('close', () => upstream.destroy());
      client.pipe(upstream);
      setTimeout(() => {
        greeted = true;
        upstream.pipe(client);
      }, 1_500);
    });
    await new Promise<void>((resolve) => slow.listen(0, '127.0.0.1', resolve));
    try {
      await sender.send(endpointFor({ port: (slow.address() as AddressInfo).port }), email(), { transcript });
      expect(server.messages).toHaveLength(1);
      // An email's connection is the only one, and says nothing before the greeting.
      expect({ connections, spokeFirst }).toEqual({ connections: 1 + speakersFirst, spokeFirst: speakersFirst });
    } finally {
      // The pool would reopen a warm connection that the proxy's close dropped.
      await sender.close();
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => slow.close(resolve));
    }
  });

  it('refuses a certificate from an unknown CA: the CA option adds trust, it never skips verification', async () => {
    const server = await start({ tls: 'implicit' });
    const { ca: _ca, ...untrusted } = endpointFor(server, { security: 'tls' });
    expect(await failure(sender.send(untrusted, email()))).toMatchObject({ stage: 'tls', retryable: false });
  });

  it('speaks TLS to a host given as an IP address, verifying the certificate against that address, with no SNI', async () => {
    const server = await start({ tls: 'implicit' });
    const endpoint = endpointFor(server, { security: 'tls', host: '127.0.0.1' });
    expect(connectionOptions(endpoint)).not.toHaveProperty('servername');
    expect(connectionOptions(endpoint).tls).not.toHaveProperty('servername');
    await sender.send(endpoint, email());
    expect(server.messages).toHaveLength(1);
    const wrong = await start({ tls: 'implicit', certificate: 'wrong-host' });
    expect(await failure(sender.send(endpointFor(wrong, { security: 'tls', host: '127.0.0.1' }), email()))).toMatchObject({ stage: 'tls', retryable: false });
  });

  it('connects to the checked address while verifying the certificate against the host name', async () => {
    const server = await start({ tls: 'implicit', certificate: 'wrong-host' });
    await sender.send(endpointFor(server, { security: 'tls', host: 'wrong.example', connectAddress: '127.0.0.1' }), email());
    expect(server.messages).toHaveLength(1);
  });

  it('retries a 421 greeting and a 451 at MAIL FROM, then delivers', async () => {
    const server = await start({
      failures: [
        { at: 'connect', code: 421, times: 1 },
        { at: 'mail', code: 451, times: 1 },
      ],
    });
    const endpoint = endpointFor(server);
    expect(await failure(sender.send(endpoint, email()))).toMatchObject({ stage: 'connect', retryable: true, code: 421 });
    expect(await failure(sender.send(endpoint, email()))).toMatchObject({ stage: 'sender', retryable: true, code: 451 });
    await sender.send(endpoint, email());
    expect(server.messages).toHaveLength(1);
  });

  it('places a 421 that closes the connection at the command it answered, MAIL FROM or RCPT TO, not the next one pipelined', async () => {
    for (const [at, stage] of [
      ['mail', 'sender'],
      ['rcpt', 'recipient'],
    ] as const) {
      const server = await start({ failures: [{ at, code: 421, message: 'Closing connection, shutting down' }] });
      for (const options of [{}, { transcript: true }]) {
        const error = await failure(sender.send(endpointFor(server), email(), options));
        expect(error).toMatchObject({ stage, retryable: true, code: 421 });
        expect(error.message).toContain('421 Closing connection, shutting down');
      }
    }
  });

  it('does not retry a 550 at RCPT TO or a 554 after DATA, and keeps the server text', async () => {
    const rcpt = await start({ failures: [{ at: 'rcpt', code: 550, message: 'No such user here' }] });
    const e1 = await failure(sender.send(endpointFor(rcpt), email()));
    expect(e1).toMatchObject({ stage: 'recipient', retryable: false, code: 550 });
    expect(e1.response).toContain('No such user here');
    const data = await start({ failures: [{ at: 'data', code: 554, message: 'Rejected as spam' }] });
    const e2 = await failure(sender.send(endpointFor(data), email()));
    expect(e2).toMatchObject({ stage: 'data', retryable: false, code: 554 });
    expect(data.messages).toEqual([]);
  });

  it("declares the message's size at MAIL FROM (SIZE=), so a server over its limit refuses it there, with its own words, before reading it", async () => {
    const server = await start({ maxMessageBytes: 4_000 });
    const endpoint = endpointFor(server);
    const big = () => email({ text: 'a long line of an alert message\n'.repeat(200) });
    for (const options of [{}, { transcript: true }]) {
      const error = await failure(sender.send(endpoint, big(), options));
      // The message is what is refused (Test Mail Settings explains it so), not the sender.
      expect(error).toMatchObject({ stage: 'data', retryable: false, code: 552 });
      expect(error.response).toBe('552 Error: message exceeds fixed maximum message size 4000');
      expect(refusedAsTooLarge(error.code, error.response)).toBe(true);
    }
    // Never read whole: refused at MAIL FROM, not after DATA.
    expect(server.tooLarge).toEqual([]);
    const small = email();
    await sender.send(endpoint, small);
    const [got] = server.messages;
    const declared = server.mailFromCommands.map((line) => Number(/ SIZE=(\d+)/.exec(line)?.[1]));
    expect(declared).toHaveLength(3);
    expect(declared.slice(0, 2).every((size) => size > 4_000)).toBe(true);
    // The size declared is the message's, as the server counts it.
    expect(declared[2]).toBe(Buffer.byteLength(got!.raw));
  });

  it('gives up on a server that never greets at its timeout, retryable, leaving no socket open', async () => {
    const silent = await startSilentServer();
    servers.push(silent);
    const error = await failure(sender.send(endpointFor(silent, { timeoutMs: 500 }), email()));
    expect(error).toMatchObject({ stage: 'connect', retryable: true });
    expect(error.message).toMatch(/timed out/);
    // The server sees the sender's socket close (its 'close' event), rather than a pause hoping it has.
    await silent.allClosed();
    expect(silent.openConnections()).toBe(0);
  });

  it('says what a connection timed out on: a TCP connection nothing answered, or a TLS handshake that a port which connected never completed', async () => {
    // nodemailer 10 names its timeouts CONNECT_TIMEOUT and UPGRADE_TIMEOUT: the answer said only
    // "timed out during connect", for a firewall dropping the connection and a port that took it alike.
    const hole = await startBlackHole();
    const silent = await startSilentServer();
    servers.push(silent);
    const agreeing = await startAgreeingServer('silent');
    try {
      // The four timeouts run out together, each on a server of its own (or a connection of its own to it).
      const [unanswered, unansweredTls, implicit, upgrade] = await Promise.all([
        ...(['none', 'tls'] as const).map((security) =>
          failure(sender.send(endpointFor(hole, { host: '127.0.0.1', security, timeoutMs: 500 }), email(), { transcript: true })),
        ),
        // A server that takes the connection must be heard to take it within the timeout: 2 s, not 0.5,
        // so that a loaded machine's late turn of the event loop does not read as the connection's
        // timeout (CI saw the STARTTLS answer read after 0.5 s at a load of 14).
        failure(sender.send(endpointFor(silent, { security: 'tls', timeoutMs: 2_000 }), email())),
        // A server that agrees to STARTTLS, then says nothing: its answer came, the handshake did not.
        failure(sender.send(endpointFor(agreeing, { security: 'starttls', timeoutMs: 2_000 }), email())),
      ]);
      for (const [security, error] of [
        ['none', unanswered],
        ['tls', unansweredTls],
      ] as const) {
        expect(error, security).toMatchObject({ stage: 'connect', retryable: true });
        expect(error!.message).toBe(
          'timed out during connect after 0.5 s: nothing answered the TCP connection (the host or the port may be wrong, or a firewall drops it)',
        );
      }
      expect(implicit).toMatchObject({ stage: 'tls', retryable: true });
      expect(implicit!.message).toBe(
        'timed out after 2 s waiting for the TLS handshake: the port accepted the connection but did not complete a TLS handshake (is it an implicit TLS port, such as 465?)',
      );
      expect(upgrade).toMatchObject({ stage: 'tls', retryable: true });
      expect(upgrade!.message).toBe('timed out after 2 s waiting for the TLS handshake: the server agreed to STARTTLS, then did not complete a handshake');
    } finally {
      await hole.close();
      agreeing.close();
    }
  });

  it('asks a silent port once whether it expects implicit TLS: an email after its timeout, Test Mail Settings early enough to answer at the timeout', async () => {
    // A silent server each, the email's and Test Mail Settings', both asked at once: one after the
    // other waited out the greeting's timeout twice.
    const [emailed, tested] = [await startSilentServer(), await startSilentServer()];
    servers.push(emailed, tested);
    const started = Date.now();
    const [error, testError] = await Promise.all([
      failure(sender.send(endpointFor(emailed, { timeoutMs: 4_000 }), email())),
      failure(sender.send(endpointFor(tested, { timeoutMs: 4_000 }), email(), { transcript: true })).then((e) => ({ e, after: Date.now() - started })),
    ]);
    expect(error).toMatchObject({ stage: 'connect', retryable: true });
    expect(error.message).toMatch(/^timed out after 4 s waiting for the SMTP greeting/);
    // The send's connection and one TLS probe, made once the greeting's wait was over.
    expect(emailed.connections()).toBe(2);

    expect(testError.e).toMatchObject({ stage: 'connect', retryable: true });
    expect(testError.e.message).toMatch(/^timed out after 4 s waiting for the SMTP greeting/);
    // The probe made a second after connecting answers for the timeout too: no probe after it.
    expect(tested.connections()).toBe(2);
    expect(testError.after).toBeLessThan(7_000);
  });

  for (const [reply, at, stage] of [
    ['the final "."', 'data', 'data'],
    ['EHLO', 'ehlo', 'connect'],
  ] as const) {
    it(`gives up on a server that answers ${reply} a byte at a time at its timeout, retryable, pooled or transcribed`, async () => {
      // Each byte comes well within the timeout, so the socket is never silent for long: only a
      // deadline on the whole reply ends the wait.
      const dribbling = await startDribblingServer(100, at);
      servers.push(dribbling);
      const endpoint = endpointFor(dribbling, { timeoutMs: 500 });
      for (const options of [{}, { transcript: true }]) {
        const error = await failure(sender.send(endpoint, email(), options));
        expect(error).toMatchObject({ stage, retryable: true });
        // The final "." is what the dribbling server answers slowly: DATA had its 354.
        const awaited =
          at === 'ehlo' ? 'EHLO' : 'the message\'s final ".": the whole message was sent, so the server may have taken it and the email may still arrive';
        expect(error.message).toBe(`timed out during ${stage} after 0.5 s, waiting for the server's answer to ${awaited}`);
      }
      await dribbling.allClosed();
    });
  }

  it("says a server that stopped reading a large message before its end was waited for to read it, not to answer DATA, at data's stage", async () => {
    const stalled = await startStalledServer();
    servers.push(stalled);
    // Far more than the sockets' buffers hold: its final "." is never written.
    const large = email({ text: 'x'.repeat(76).concat('\r\n').repeat(400_000) });
    const error = await failure(sender.send(endpointFor(stalled, { timeoutMs: 1_000 }), large));
    expect(error).toMatchObject({ stage: 'data', retryable: true });
    expect(error.message).toBe("timed out during data after 1 s, waiting for the server to read the message: it stopped reading before the message's end");
  });

  it("says a hang-up within a reused session's next message is during DATA, not after a whole message, though the one before went whole", async () => {
    // One session carries an email whole, then the server hangs up at the next one's 354 while it renders: nothing of
    // that one was sent, so nothing of it can arrive.
    let opened = 0;
    const server = net.createServer((socket) => {
      opened += 1;
      socket.on('error', () => {});
      socket.write('220 second.test ESMTP\r\n');
      let buffer = '';
      let inData = false;
      let datas = 0;
      socket.on('data', (chunk) => {
        buffer += chunk.toString('latin1');
        for (let end = buffer.indexOf(inData ? '\r\n.\r\n' : '\r\n'); end >= 0; end = buffer.indexOf(inData ? '\r\n.\r\n' : '\r\n')) {
          if (inData) {
            buffer = buffer.slice(end + 5);
            inData = false;
            socket.write('250 2.0.0 queued\r\n');
            continue;
          }
          const verb = buffer.slice(0, 4).toUpperCase();
          buffer = buffer.slice(end + 2);
          if (verb !== 'DATA') socket.write(verb === 'EHLO' ? '250 second.test\r\n' : '250 ok\r\n');
          else if ((datas += 1) > 1) return void socket.end('354 go ahead\r\n');
          else {
            inData = true;
            socket.write('354 go ahead\r\n');
          }
        }
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const endpoint = endpointFor({ port: (server.address() as AddressInfo).port });
      await sender.send(endpoint, email());
      const render = later<OutgoingEmail>();
      const error = await failure(sender.send(endpoint, { to: email().to, rendering: render.promise }));
      render.resolve(email());
      expect(opened).toBe(1);
      expect(error).toMatchObject({ stage: 'data', retryable: true, message: 'the server closed the connection during DATA, without accepting the message' });
    } finally {
      server.close();
    }
  });

  it('treats a connection dropped after DATA as a retryable data-stage failure', async () => {
    const server = await start({ dropAfterData: 2 });
    const endpoint = endpointFor(server);
    expect(await failure(sender.send(endpoint, email()))).toMatchObject({ stage: 'data', retryable: true });
    const transcribed = await failure(sender.send(endpoint, email(), { transcript: true }));
    expect(transcribed).toMatchObject({ stage: 'data', retryable: true });
    await sender.send(endpoint, email());
    expect(server.messages).toHaveLength(1);
  });

  it('names the command a server closed the connection under without answering it, as Test Mail Settings reports it', async () => {
    const atMailFrom = await start({ dropAtMailFrom: 1 });
    expect(await failure(sender.send(endpointFor(atMailFrom), email(), { transcript: true }))).toMatchObject({
      stage: 'sender',
      retryable: true,
      message: 'the server closed the connection without answering MAIL FROM',
    });
    // The whole message and its "." went out: the server may have queued it before it hung up (a person
    // reading "without accepting the message" sent the test again, and got two).
    const afterData = await start({ dropAfterData: 1 });
    expect(await failure(sender.send(endpointFor(afterData), email(), { transcript: true }))).toMatchObject({
      stage: 'data',
      retryable: true,
      message:
        'the server closed the connection after the whole message was sent, without answering it: it may have taken the message, so the email may still arrive',
    });
    // Within the message (its render still to come, no "." written), nothing can be delivered.
    const midMessage = net.createServer((socket) => {
      socket.on('error', () => {});
      socket.write('220 mid.test ESMTP\r\n');
      socket.on('data', (chunk) => {
        const verb = chunk.toString('latin1').slice(0, 4).toUpperCase();
        if (verb === 'DATA') socket.end('354 go ahead\r\n');
        else socket.write(verb === 'EHLO' ? '250 mid.test\r\n' : '250 ok\r\n');
      });
    });
    await new Promise<void>((resolve) => midMessage.listen(0, '127.0.0.1', resolve));
    try {
      const render = later<OutgoingEmail>();
      const error = await failure(
        sender.send(endpointFor({ port: (midMessage.address() as AddressInfo).port }), { to: email().to, rendering: render.promise }),
      );
      render.resolve(email());
      expect(error).toMatchObject({ stage: 'data', retryable: true, message: 'the server closed the connection during DATA, without accepting the message' });
    } finally {
      midMessage.close();
    }
    // A server that greets, then hangs up on EHLO.
    const closer = net.createServer((socket) => socket.end('220 closer ESMTP\r\n'));
    await new Promise<void>((resolve) => closer.listen(0, '127.0.0.1', resolve));
    try {
      const error = await failure(sender.send(endpointFor({ port: (closer.address() as AddressInfo).port }), email(), { transcript: true }));
      expect(error).toMatchObject({ stage: 'connect', message: 'the server closed the connection without answering EHLO' });
    } finally {
      closer.close();
    }
    // A server that accepts the connection and hangs up before any greeting (an address it refuses, a full server).
    const mute = net.createServer((socket) => socket.end());
    await new Promise<void>((resolve) => mute.listen(0, '127.0.0.1', resolve));
    try {
      for (const options of [{}, { transcript: true }]) {
        const error = await failure(sender.send(endpointFor({ port: (mute.address() as AddressInfo).port }), email(), options));
        expect(error).toMatchObject({
          stage: 'connect',
          retryable: true,
          message: 'the server closed the connection before its SMTP greeting, without a word',
        });
      }
    } finally {
      mute.close();
    }
  });

  it("keeps a server's reply when it hangs up without ending the reply's line: a 421 greeting, a 554 to the message", async () => {
    // Test Mail Settings answered code 421 with "closed the connection before its SMTP greeting, without a
    // word", and code 554 with "during DATA, without accepting the message": the server's words were lost.
    const hangingUp = (at: 'greeting' | 'message', reply: string) =>
      net.createServer((socket) => {
        socket.on('error', () => {});
        if (at === 'greeting') return void socket.end(reply);
        socket.write('220 hangup.test ESMTP\r\n');
        let buffered = '';
        let inData = false;
        socket.on('data', (chunk) => {
          buffered += chunk.toString('latin1');
          for (let end = buffered.indexOf('\r\n'); end >= 0; end = buffered.indexOf('\r\n')) {
            const line = buffered.slice(0, end);
            buffered = buffered.slice(end + 2);
            if (inData) {
              if (line === '.') socket.end(reply);
              continue;
            }
            inData = /^DATA$/i.test(line);
            socket.write(inData ? '354 go ahead\r\n' : '250 hangup.test\r\n');
          }
        });
      });
    for (const [at, reply, expected] of [
      [
        'greeting',
        '421 4.7.0 too busy',
        { stage: 'connect', retryable: true, code: 421, message: 'the server refused the connection and closed it: 421 4.7.0 too busy' },
      ],
      [
        'message',
        '554 5.7.1 rejected as spam',
        { stage: 'data', retryable: false, code: 554, message: 'the server closed the connection during DATA, replying: 554 5.7.1 rejected as spam' },
      ],
    ] as const) {
      const server = hangingUp(at, reply);
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      try {
        const error = await failure(sender.send(endpointFor({ port: (server.address() as AddressInfo).port }), email(), { transcript: true }));
        expect(error, at).toMatchObject({ ...expected, response: reply });
      } finally {
        server.close();
      }
    }
  });

  it('names the command a server reset the connection under (TCP RST) as one it closed it under, not as a refusal of the sender, recipient or message', async () => {
    // "read ECONNRESET" at the sender stage read as "The server refused the sender address" in the console.
    const resetter = (at: 'greeting' | 'MAIL' | 'RCPT') =>
      net.createServer((socket) => {
        socket.on('error', () => {});
        if (at === 'greeting') return void socket.resetAndDestroy();
        socket.write('220 resetter.test ESMTP\r\n');
        socket.on('data', (chunk) => {
          const text = chunk.toString();
          if (text.includes(`${at} `)) return void socket.resetAndDestroy();
          if (/^EHLO/i.test(text)) socket.write('250 resetter.test\r\n');
          else if (/^MAIL/i.test(text)) socket.write('250 2.1.0 Ok\r\n');
        });
      });
    for (const [at, stage, message] of [
      ['greeting', 'connect', 'the server closed the connection abruptly (ECONNRESET) before its SMTP greeting, without a word'],
      ['MAIL', 'sender', 'the server closed the connection abruptly (ECONNRESET) without answering MAIL FROM'],
      ['RCPT', 'recipient', 'the server closed the connection abruptly (ECONNRESET) without answering RCPT TO'],
    ] as const) {
      const server = resetter(at);
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      try {
        const error = await failure(sender.send(endpointFor({ port: (server.address() as AddressInfo).port }), email(), { transcript: true }));
        expect(error, at).toMatchObject({ stage, retryable: true, message });
      } finally {
        server.close();
      }
    }
  });

  it("places a server's silence or hang-up under AUTH LOGIN's user name or password at the auth stage, naming AUTH, not a fragment of the Base64", async () => {
    // A server asking for the user name, then the password (AUTH LOGIN's 334 challenges), that
    // then says nothing (a slow directory behind it) or hangs up, after the line `after`. Its
    // timeout is 2 s so that each answer before the stall is read in time on a loaded machine.
    const stallingAuth = async (after: 'user' | 'password', then: 'stall' | 'hang-up') => {
      const sockets = new Set<net.Socket>();
      const server = net.createServer((socket) => {
        sockets.add(socket);
        socket.on('error', () => {});
        let lines = 0;
        let buffered = '';
        socket.write('220 auth.test ESMTP\r\n');
        socket.on('data', (chunk) => {
          buffered += chunk.toString('latin1');
          for (let end = buffered.indexOf('\r\n'); end >= 0; end = buffered.indexOf('\r\n')) {
            buffered = buffered.slice(end + 2);
            lines += 1;
            if (lines === 1) socket.write('250-auth.test\r\n250 AUTH LOGIN\r\n');
            else if (lines === 2) socket.write('334 VXNlcm5hbWU6\r\n');
            else if (lines === 3 && after === 'password') socket.write('334 UGFzc3dvcmQ6\r\n');
            else if (then === 'hang-up') socket.destroy();
          }
        });
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      const port = (server.address() as AddressInfo).port;
      return {
        endpoint: endpointFor({ port }, { username: 'Ops.Mailer', password: PASSWORD, authMethod: 'login', allowPlaintextAuth: true, timeoutMs: 2_000 }),
        close: () => {
          for (const socket of sockets) socket.destroy();
          server.close();
        },
      };
    };
    // The four servers at once, each asked pooled and transcribed at once: the stalls' timeouts,
    // one after the other, took 8 s.
    const cases = (['user', 'password'] as const).flatMap((after) => (['stall', 'hang-up'] as const).map((then) => ({ after, then })));
    const stalling = await Promise.all(cases.map(({ after, then }) => stallingAuth(after, then)));
    try {
      await Promise.all(
        cases.flatMap(({ after, then }, i) =>
          [{}, { transcript: true }].map(async (options) => {
            const error = await failure(sender.send(stalling[i]!.endpoint, email(), options));
            expect(error, `${then} after the ${after}`).toMatchObject({
              stage: 'auth',
              retryable: true,
              message:
                then === 'stall'
                  ? "timed out during auth after 2 s, waiting for the server's answer to AUTH"
                  : 'the server closed the connection without answering AUTH',
            });
          }),
        ),
      );
    } finally {
      for (const server of stalling) server.close();
    }
  });

  it('refuses an address with a non-ASCII user part before RCPT TO when the server does not offer SMTPUTF8, for good, and sends it where it does', async () => {
    const international = email({ to: { address: 'jürgen@bücher.example', name: 'Jürgen' } });
    const ascii = await start({ smtputf8: false });
    for (const options of [{}, { transcript: true }]) {
      const error = await failure(sender.send(endpointFor(ascii), international, options));
      expect(error).toMatchObject({
        stage: 'recipient',
        retryable: false,
        message:
          'the server does not offer SMTPUTF8 (RFC 6531), so it cannot take the address jürgen@bücher.example, whose user part is not ASCII: ask its administrators to enable SMTPUTF8, or give the recipient an ASCII address',
      });
    }
    // Nothing of it reached the server, and its connection goes on with the next email.
    expect(ascii.mailFromSeen).toHaveLength(0);
    await sender.send(endpointFor(ascii), email());
    expect(ascii.messages.map((m) => m.envelope.to)).toEqual([['ops@example.com']]);
    // A sender's address alike, at the sender stage.
    expect(await failure(sender.send(endpointFor(ascii, { fromAddress: 'sécurité@example.com' }), email()))).toMatchObject({
      stage: 'sender',
      retryable: false,
    });
    const utf8 = await start();
    await sender.send(endpointFor(utf8), international);
    expect(utf8.messages.map((m) => m.envelope.to)).toEqual([['jürgen@bücher.example']]);
  });

  it('fails a send in flight when the sender closes, retryable, rather than leaving it pending', async () => {
    const server = await start({ dataReplyDelayMs: 60_000 });
    const sending = failure(sender.send(endpointFor(server), email()));
    await server.waitForCommand('DATA', 1);
    await sender.close();
    expect(await sending).toMatchObject({ retryable: true });
  });

  it('refuses a header value with a line break before connecting', async () => {
    const server = await start();
    const error = await failure(sender.send(endpointFor(server), email({ subject: 'hi\r\nBcc: victim@example.com' })));
    expect(error).toMatchObject({ stage: 'data', retryable: false });
    await failure(sender.send(endpointFor(server), email({ headers: { 'X-Tocsin-Tenant': 'a\nBcc: x@example.com' } })));
    await failure(sender.send(endpointFor(server, { fromDisplayName: 'x\u2028y' }), email()));
    expect(server.connections()).toBe(0);
  });

  it('says MAIL FROM, RCPT TO and DATA while the email still renders, and writes it once rendered', async () => {
    const server = await start();
    const render = later<OutgoingEmail>();
    const message = email();
    const sending = sender.send(endpointFor(server), { to: message.to, rendering: render.promise });
    await server.waitForCommand('DATA', 1);
    render.resolve(message);
    expect(await sending).toMatchObject({ messageId: message.messageId, response: expect.stringMatching(/^250 /) });
    expect(server.messages).toMatchObject([{ messageId: message.messageId, envelope: { from: 'alerts@example.com', to: ['ops@example.com'] } }]);
  });

  it('ends the connection before the final "." when the render fails after DATA: nothing is delivered, the render\'s own error is the answer, and the next email goes out', async () => {
    const server = await start();
    const render = later<OutgoingEmail>();
    const sending = sender.send(endpointFor(server), { to: email().to, rendering: render.promise });
    await server.waitForCommand('DATA', 1);
    const why = new Error('alert 42 no longer exists');
    render.reject(why);
    await expect(sending).rejects.toBe(why);
    const next = email();
    await sender.send(endpointFor(server), next);
    expect(server.messages.map((m) => m.messageId)).toEqual([next.messageId]);
    expect(server.connections()).toBe(2);
  });

  it('refuses a line break in a rendered header after the envelope without sending the message, and in the envelope before any command', async () => {
    const server = await start();
    const pending = (overrides: Partial<OutgoingEmail>) => {
      const message = email(overrides);
      return { to: message.to, rendering: Promise.resolve(message) };
    };
    await failure(sender.send(endpointFor(server), pending({ to: { address: 'ops@example.com>\r\nRCPT TO:<victim@example.com' } })));
    expect(server.connections()).toBe(0);
    const error = await failure(sender.send(endpointFor(server), pending({ subject: 'hi\r\nBcc: victim@example.com' })));
    expect(error).toMatchObject({ stage: 'data', retryable: false });
    const next = email();
    await sender.send(endpointFor(server), next);
    expect(server.messages.map((m) => m.messageId)).toEqual([next.messageId]);
  });

  it('leaves no unhandled rejection when it refuses an email (closed, an unsafe address) whose render then fails', async () => {
    const server = await start();
    const render = later<OutgoingEmail>();
    // Promises the test does not hold, as a caller's chain after the render: a rejection nobody reads fails the run.
    const unsafe = sender.send(endpointFor(server), { to: { address: 'a@example.com\r\nRSET' }, rendering: render.promise.then((e) => e) });
    await sender.close();
    const closed = sender.send(endpointFor(server), { to: email().to, rendering: render.promise.then((e) => e) });
    render.reject(new Error('alert 42 no longer exists'));
    expect(await failure(unsafe)).toMatchObject({ stage: 'data', retryable: false });
    expect(await failure(closed)).toMatchObject({ retryable: true, message: 'the mail sender is closed' });
    await expect(render.promise).rejects.toThrow('no longer exists');
  });

  it('records a transcript with the AUTH credentials and the password masked', async () => {
    const server = await start({ tls: 'starttls', auth: { username: 'robot', password: PASSWORD, methods: ['PLAIN', 'LOGIN'] } });
    for (const authMethod of ['plain', 'login'] as const) {
      const receipt = await sender.send(endpointFor(server, { security: 'starttls', authMethod, username: 'robot', password: PASSWORD }), email(), {
        transcript: true,
      });
      const text = receipt.transcript!.join('\n');
      expect(text).toContain('STARTTLS');
      expect(text).toContain(`AUTH ${authMethod.toUpperCase()}`);
      expect(text).toMatch(/S: 250 .*queued/);
      expect(text).not.toContain(PASSWORD);
      expect(text).not.toContain(Buffer.from(PASSWORD).toString('base64'));
      expect(text).not.toContain(Buffer.from(`\0robot\0${PASSWORD}`).toString('base64'));
    }
    const oauth = await start({ tls: 'starttls', auth: { username: 'robot', accessToken: PASSWORD, methods: ['XOAUTH2'] } });
    const oauthReceipt = await sender.send(
      endpointFor(oauth, { security: 'starttls', authMethod: 'xoauth2', username: 'robot', accessToken: PASSWORD }),
      email(),
      { transcript: true },
    );
    expect(oauthReceipt.transcript!.join('\n')).toContain('AUTH XOAUTH2');
    expect(oauthReceipt.transcript!.join('\n')).not.toContain(PASSWORD);
    expect(oauthReceipt.transcript!.join('\n')).not.toContain(Buffer.from(`user=robot\x01auth=Bearer ${PASSWORD}\x01\x01`).toString('base64'));
    const failed = await failure(
      sender.send(endpointFor(server, { security: 'starttls', authMethod: 'plain', username: 'robot', password: `${PASSWORD}x` }), email(), {
        transcript: true,
      }),
    );
    expect(failed).toBeInstanceOf(TranscribedSmtpError);
    expect((failed as TranscribedSmtpError).transcript.join('\n')).not.toContain(PASSWORD);
  });
});
