import { spawn } from 'node:child_process';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { SMTPServer, type SMTPServerOptions } from 'smtp-server';
import { testCertificates } from './certificates.js';
import type { SmtpEndpoint } from '../../src/delivery/contract.js';

/** ScriptedFailure makes a test server answer `code` at one stage, for the first `times` tries. */
export interface ScriptedFailure {
  readonly at: 'connect' | 'mail' | 'rcpt' | 'data';
  readonly code: number;
  readonly message?: string;
  /** How many times to fail before behaving (default: always). */
  readonly times?: number;
  /** At `rcpt` or `data`: fail only this recipient, accepting the others (a mailbox that is gone or full). */
  readonly address?: string;
  /** At `mail`, `rcpt` or `data`: fail only in sessions signed in as this user (one account of several throttled). */
  readonly user?: string;
}

/** TestSmtpOptions describe the server a test needs. */
export interface TestSmtpOptions {
  /**
   * `starttls` offers the upgrade, `starttls-hidden` accepts it without listing it in EHLO (as
   * behind a stripping proxy), `implicit` speaks TLS from the first byte; default plain with no
   * STARTTLS at all.
   */
  readonly tls?: 'none' | 'starttls' | 'starttls-hidden' | 'implicit';
  /**
   * Which certificate the server shows: by default one valid for localhost, signed by the test CA;
   * or one for another host, an expired one, or a self-signed one (see certificates.ts).
   */
  readonly certificate?: 'localhost' | 'wrong-host' | 'expired' | 'self-signed';
  /** Require AUTH with these credentials; `accessToken` enables XOAUTH2. */
  readonly auth?: {
    readonly username: string;
    readonly password?: string;
    readonly accessToken?: string;
    readonly methods?: readonly ('PLAIN' | 'LOGIN' | 'XOAUTH2' | 'NTLM')[];
    /** Refuse every login with a 535 that repeats what the client sent, plainly and as AUTH PLAIN's blob (as careless diagnostics do). */
    readonly echo?: boolean;
    /** More accounts, user name to password, beside `username` (a provider's server shared by tenants). */
    readonly others?: Readonly<Record<string, string>>;
  };
  readonly failures?: readonly ScriptedFailure[];
  /** Read the whole message, then close the socket without replying, this many times. */
  readonly dropAfterData?: number;
  /** Close the socket without replying to MAIL FROM, this many times (as a server that timed the client out). */
  readonly dropAtMailFrom?: number;
  /** Answer MAIL FROM with a 421 (which closes the connection) past this many messages on one connection, as providers limit them. */
  readonly messagesPerConnection?: number;
  /**
   * Answer MAIL FROM with "530 5.7.0 Authentication required" past this many messages on one signed-in
   * connection, as a server whose sign-in of a long-lived connection lapsed (a session or token expired).
   */
  readonly signInLapsesAfter?: number;
  /** Wait this long before replying to the final "." (to catch a send in flight). */
  readonly dataReplyDelayMs?: number;
  /** Greet a connection beyond this many open ones with a 421 and close it (smtp-server's maxClients). */
  readonly maxClients?: number;
  /**
   * Take messages on this many connections open at once only: on one opened beyond them, answer each
   * message's final "." with Microsoft 365's "432 4.3.2 STOREDRV.ClientSubmit; sender thread limit
   * exceeded" and keep the connection open, as Exchange Online does past three connections of a mailbox.
   */
  readonly connectionLimit?: number;
  /** `false` leaves SMTPUTF8 out of EHLO (a server that takes no international addresses); offered by default. */
  readonly smtputf8?: boolean;
  /** Answer RSET as an unknown command (a 5xx), as a server that does not take it does. */
  readonly refuseRset?: boolean;
  /** The loopback address to listen on: 127.0.0.1 by default, or IPv6's ::1. */
  readonly listenOn?: '127.0.0.1' | '::1';
  /**
   * The largest message taken, in bytes: advertised as EHLO's SIZE. A MAIL FROM declaring a bigger
   * SIZE= is refused there by smtp-server ("552 5.3.4 Error: message exceeds fixed maximum message
   * size"); a bigger message that declared none is read whole and then refused with Postfix's "552
   * 5.3.4 Message size exceeds fixed limit" (counted in `tooLarge`).
   */
  readonly maxMessageBytes?: number;
}

/** ReceivedMessage is one message a test server accepted. */
export interface ReceivedMessage {
  readonly messageId: string | null;
  readonly envelope: { from: string | null; to: string[] };
  readonly raw: string;
  readonly user: string | undefined;
  readonly secure: boolean;
}

/** TestSmtpServer is a running server and what it saw. */
export interface TestSmtpServer {
  readonly host: 'localhost';
  readonly port: number;
  /** The CA that signed its certificate (pass as `endpoint.ca`). */
  readonly ca: string;
  readonly messages: ReceivedMessage[];
  /** The size in bytes of each message read whole and then refused as over maxMessageBytes. */
  readonly tooLarge: number[];
  /** Every MAIL FROM command line as the client sent it (its parameters, such as SIZE=, included). */
  readonly mailFromCommands: string[];
  /** Every MAIL FROM the server saw, with whether the session was encrypted at that point. */
  readonly mailFromSeen: { secure: boolean }[];
  /** Every AUTH attempt, with whether the session was encrypted. */
  readonly authSeen: { method: string; secure: boolean }[];
  /** How many connections were opened and greeted (those refused over maxClients not counted). */
  connections(): number;
  /** When each of them was opened (Date.now()), oldest first. */
  readonly connectedAt: readonly number[];
  /** How many connections were refused with a 421 because maxClients were open. */
  refusedConnections(): number;
  /** How many connections are open right now. */
  openConnections(): number;
  /** waitForOpenConnections resolves once exactly `count` connections are open (checked as they open and close). */
  waitForOpenConnections(count: number, timeoutMs?: number): Promise<void>;
  /** waitForCommand resolves once clients have sent `command` (e.g. RSET) `count` times in all. */
  waitForCommand(command: string, count: number, timeoutMs?: number): Promise<void>;
  /** dropConnections ends every open connection without a word, as a server that times idle clients out. */
  dropConnections(): void;
  /**
   * holdReplies keeps back the reply to each message's final "." from now on, the message read
   * whole, until releaseReplies: the moment a sender waits for its 250.
   */
  holdReplies(): void;
  /** waitForHeld resolves once `count` replies are held back. */
  waitForHeld(count: number, timeoutMs?: number): Promise<void>;
  /** releaseReplies gives the held replies (each message then counts as received) and holds no more. */
  releaseReplies(): void;
  /**
   * pendingReplies is how many messages were read whole and still wait for the reply to their "."
   * (dataReplyDelayMs or holdReplies): a sender killed now cannot know they were taken.
   */
  pendingReplies(): number;
  /** waitForMessages resolves once `count` messages arrived, or rejects after `timeoutMs`. */
  waitForMessages(count: number, timeoutMs?: number): Promise<ReceivedMessage[]>;
  close(): Promise<void>;
}

/** messageIdOf reads the Message-ID header of a raw message. */
export function messageIdOf(raw: string): string | null {
  const head = raw.split(/\r?\n\r?\n/, 1)[0] ?? '';
  const match = /^message-id:\s*(.+(?:\r?\n[ \t].+)*)/im.exec(head);
  return match?.[1] ? match[1].replace(/\r?\n[ \t]+/g, ' ').trim() : null;
}

/** kindOf reads what a raw message is, its X-Tocsin-Kind header (summary, immediate, test…). */
export function kindOf(raw: string): string | undefined {
  const head = raw.split(/\r?\n\r?\n/, 1)[0] ?? '';
  return /^X-Tocsin-Kind:[ \t]*([\w-]+)/im.exec(head)?.[1];
}

function smtpError(code: number, message: string): Error & { responseCode: number } {
  return Object.assign(new Error(message), { responseCode: code });
}

/**
 * startTestSmtpServer starts a real `smtp-server` on 127.0.0.1 behaving as the options script, for
 * the sender's, the outbox's and the settings' tests.
 */
export async function startTestSmtpServer(options: TestSmtpOptions = {}): Promise<TestSmtpServer> {
  const certs = testCertificates();
  const pair = { localhost: certs.localhost, 'wrong-host': certs.wrongHost, expired: certs.expired, 'self-signed': certs.selfSigned }[
    options.certificate ?? 'localhost'
  ];
  const security = options.tls ?? 'none';
  const messages: ReceivedMessage[] = [];
  const tooLarge: number[] = [];
  const mailFromCommands: string[] = [];
  const mailFromSeen: { secure: boolean }[] = [];
  const authSeen: { method: string; secure: boolean }[] = [];
  const waiters = new Set<() => void>();
  const failed = new Map<ScriptedFailure, number>();
  let connectionCount = 0;
  // The connections open now, and those opened beyond connectionLimit (refused every message).
  const live = new Set<string>();
  const overLimit = new Set<string>();
  const connectedAt: number[] = [];
  const commandCounts = new Map<string, number>();
  let drops = options.dropAfterData ?? 0;
  let mailDrops = options.dropAtMailFrom ?? 0;
  const transactions = new Map<string, number>();
  // Replies held back (dataReplyDelayMs) and not yet given when the server closes are never given.
  const replyTimers = new Set<NodeJS.Timeout>();
  let holding = false;
  const held: (() => void)[] = [];
  const destroySession = (id: string) => {
    for (const connection of server.connections as Set<{ id: string; _socket: net.Socket }>) {
      if (connection.id === id) connection._socket.destroy();
    }
  };

  const fail = (at: ScriptedFailure['at'], address?: string, user?: unknown): Error | null => {
    for (const f of options.failures ?? []) {
      if (f.at !== at || (f.address !== undefined && f.address !== address) || (f.user !== undefined && f.user !== user)) continue;
      const used = failed.get(f) ?? 0;
      if (used >= (f.times ?? Infinity)) continue;
      failed.set(f, used + 1);
      return smtpError(f.code, f.message ?? `scripted ${f.code} at ${at}`);
    }
    return null;
  };

  const auth = options.auth;
  const serverOptions: SMTPServerOptions = {
    secure: security === 'implicit',
    key: pair.key,
    cert: pair.cert,
    disabledCommands: [...(security === 'none' ? ['STARTTLS'] : []), ...(auth ? [] : ['AUTH']), ...(options.refuseRset ? ['RSET'] : [])],
    authMethods: [...(auth?.methods ?? ['PLAIN', 'LOGIN', ...(auth?.accessToken ? (['XOAUTH2'] as const) : [])])],
    authOptional: !auth,
    allowInsecureAuth: true,
    hideSTARTTLS: security === 'starttls-hidden',
    hideSMTPUTF8: options.smtputf8 === false,
    ...(options.maxMessageBytes === undefined ? {} : { size: options.maxMessageBytes }),
    disableReverseLookup: true,
    // The server logs each command a client sends at debug: counted (MAIL FROM's line kept), the rest is dropped.
    logger: {
      trace: () => {},
      debug: (entry: { tnx?: string; command?: string }, _format?: string, line?: unknown) => {
        if (entry?.tnx !== 'command' || !entry.command) return;
        if (entry.command === 'MAIL') mailFromCommands.push(String(line));
        commandCounts.set(entry.command, (commandCounts.get(entry.command) ?? 0) + 1);
        for (const wake of waiters) wake();
      },
      info: () => {},
      warn: () => {},
      error: () => {},
      fatal: () => {},
    } as unknown as SMTPServerOptions['logger'],
    // Pooled clients keep connections open; the tests should not wait 30 s for them at close.
    closeTimeout: 200,
    ...(options.maxClients ? { maxClients: options.maxClients } : {}),
    onConnect(session, callback) {
      live.add(session.id);
      if (options.connectionLimit !== undefined && live.size > options.connectionLimit) overLimit.add(session.id);
      connectionCount += 1;
      connectedAt.push(Date.now());
      // The connection is counted open by now (waitForOpenConnections).
      for (const wake of waiters) wake();
      callback(fail('connect') ?? undefined);
    },
    // Called once the server has forgotten the connection (waitForOpenConnections).
    onClose(session) {
      live.delete(session.id);
      for (const wake of waiters) wake();
    },
    onAuth(request, session, callback) {
      authSeen.push({ method: request.method, secure: Boolean(session.secure) });
      if (auth?.echo) {
        const blob = Buffer.from(`\0${request.username}\0${request.password}`).toString('base64');
        return callback(smtpError(535, `Authentication failed for ${request.username} with ${request.password} (${blob})`));
      }
      const other = auth?.others?.[request.username ?? ''];
      if (other !== undefined && request.password === other) return callback(null, { user: request.username });
      if (!auth || request.username !== auth.username) return callback(new Error('Invalid username or password'));
      if (request.method === 'XOAUTH2') {
        if (request.accessToken === auth.accessToken) return callback(null, { user: request.username });
        return callback(null, { data: { status: '401', schemes: 'bearer', scope: 'mail' } });
      }
      if (request.password === auth.password && auth.password !== undefined) return callback(null, { user: request.username });
      return callback(smtpError(535, 'Authentication credentials invalid'));
    },
    onMailFrom(_address, session, callback) {
      mailFromSeen.push({ secure: Boolean(session.secure) });
      if (mailDrops > 0) {
        mailDrops -= 1;
        return destroySession(session.id);
      }
      const transaction = (transactions.get(session.id) ?? 0) + 1;
      transactions.set(session.id, transaction);
      if (options.messagesPerConnection !== undefined && transaction > options.messagesPerConnection) {
        return callback(smtpError(421, '4.7.0 Too many messages for this connection'));
      }
      if (options.signInLapsesAfter !== undefined && session.user !== undefined && transaction > options.signInLapsesAfter) {
        return callback(smtpError(530, '5.7.0 Authentication required'));
      }
      callback(fail('mail', undefined, session.user) ?? undefined);
    },
    onRcptTo(address, session, callback) {
      callback(fail('rcpt', address.address, session.user) ?? undefined);
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => {
        const raw = Buffer.concat(chunks).toString('utf8');
        if ((stream as { sizeExceeded?: boolean }).sizeExceeded) {
          tooLarge.push(Buffer.byteLength(raw));
          for (const wake of waiters) wake();
          return callback(smtpError(552, '5.3.4 Message size exceeds fixed limit'));
        }
        if (drops > 0) {
          drops -= 1;
          return destroySession(session.id);
        }
        const reply = () => {
          if (overLimit.has(session.id)) return callback(smtpError(432, '4.3.2 STOREDRV.ClientSubmit; sender thread limit exceeded'));
          const error = fail('data', session.envelope.rcptTo[0]?.address, session.user);
          if (error) return callback(error);
          messages.push({
            messageId: messageIdOf(raw),
            envelope: {
              from: session.envelope.mailFrom ? session.envelope.mailFrom.address : null,
              to: session.envelope.rcptTo.map((r) => r.address),
            },
            raw,
            user: typeof session.user === 'string' ? session.user : undefined,
            secure: Boolean(session.secure),
          });
          for (const wake of waiters) wake();
          callback(null, `Ok: queued as ${messages.length}`);
        };
        if (holding) {
          held.push(reply);
          for (const wake of waiters) wake();
          return;
        }
        if (!options.dataReplyDelayMs) return reply();
        const timer = setTimeout(() => {
          replyTimers.delete(timer);
          reply();
        }, options.dataReplyDelayMs);
        replyTimers.add(timer);
      });
    },
  };
  const server = new SMTPServer(serverOptions) as SMTPServer & { connections: Set<unknown> };
  server.on('error', () => {});
  // Every TCP connection; those over maxClients are refused before onConnect counts them.
  let tcpConnections = 0;
  server.server.on('connection', () => {
    tcpConnections += 1;
  });
  const port = await listen(server.server, server, options.listenOn ?? '127.0.0.1');

  return {
    host: 'localhost',
    port,
    ca: certs.ca,
    messages,
    tooLarge,
    mailFromCommands,
    mailFromSeen,
    authSeen,
    connections: () => connectionCount,
    connectedAt,
    refusedConnections: () => (options.maxClients ? tcpConnections - connectionCount : 0),
    openConnections: () => server.connections.size,
    waitForOpenConnections: (count, timeoutMs = 15_000) =>
      waitFor(
        waiters,
        () => server.connections.size === count,
        timeoutMs,
        () => `expected ${count} open connections, got ${server.connections.size}`,
      ),
    waitForMessages: (count, timeoutMs = 15_000) =>
      waitFor(
        waiters,
        () => messages.length >= count,
        timeoutMs,
        () => `expected ${count} messages, got ${messages.length}`,
      ).then(() => messages),
    waitForCommand: (command, count, timeoutMs = 15_000) =>
      waitFor(
        waiters,
        () => (commandCounts.get(command) ?? 0) >= count,
        timeoutMs,
        () => `expected ${count} ${command}, got ${commandCounts.get(command) ?? 0}`,
      ),
    holdReplies() {
      holding = true;
    },
    waitForHeld: (count, timeoutMs = 15_000) =>
      waitFor(
        waiters,
        () => held.length >= count,
        timeoutMs,
        () => `expected ${count} held replies, got ${held.length}`,
      ),
    pendingReplies: () => replyTimers.size + held.length,
    releaseReplies() {
      holding = false;
      for (const reply of held.splice(0)) reply();
    },
    dropConnections() {
      for (const connection of server.connections as Set<{ _socket: net.Socket }>) connection._socket.destroy();
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const timer of replyTimers) clearTimeout(timer);
        server.close(() => resolve());
      }),
  };
}

/** waitFor resolves once `done()` holds, checked whenever the server wakes its waiters. */
function waitFor(waiters: Set<() => void>, done: () => boolean, timeoutMs: number, failure: () => string): Promise<void> {
  return new Promise((resolve, reject) => {
    const check = () => {
      if (!done()) return;
      clearTimeout(timer);
      waiters.delete(check);
      resolve();
    };
    const timer = setTimeout(() => {
      waiters.delete(check);
      reject(new Error(failure()));
    }, timeoutMs);
    waiters.add(check);
    check();
  });
}

function listen(netServer: net.Server, smtp: SMTPServer, address: string): Promise<number> {
  return new Promise((resolve, reject) => {
    netServer.once('error', reject);
    smtp.listen(0, address, () => {
      netServer.off('error', reject);
      resolve((netServer.address() as AddressInfo).port);
    });
  });
}

/** SilentServer accepts TCP connections and never says a word (a hung SMTP server). */
export interface SilentServer {
  readonly port: number;
  /** How many connections are open right now (to check that clients gave up). */
  openConnections(): number;
  /** How many connections were ever opened (a send's own, and any probe beside it). */
  connections(): number;
  /** allClosed resolves once no connection is open (at once if none is): the clients' sockets have closed. */
  allClosed(): Promise<void>;
  close(): Promise<void>;
}

/** startSilentServer starts a TCP server that never greets, for timeout tests. */
export function startSilentServer(): Promise<SilentServer> {
  // It reads and ignores what it is sent (a TLS ClientHello, say): an unread socket never hears the client close.
  return startRawServer((socket) => socket.resume());
}

/**
 * startDribblingServer starts a raw SMTP server that answers one reply (to EHLO, or to the message's
 * final ".") one byte every `byteEveryMs`, never finishing the line (a slowloris server), and the
 * others at once: a client that only times out on silence waits for ever.
 */
export function startDribblingServer(byteEveryMs: number, at: 'ehlo' | 'data' = 'data'): Promise<SilentServer> {
  return startRawServer((socket) => {
    let buffer = '';
    let inData = false;
    let dribble: NodeJS.Timeout | undefined;
    socket.on('close', () => clearInterval(dribble));
    socket.setEncoding('latin1');
    socket.write('220 dribble.test ESMTP\r\n');
    const dribbleReply = (reply: string) => {
      let sent = 0;
      dribble = setInterval(() => socket.write(reply[sent++] ?? ' '), byteEveryMs);
    };
    socket.on('data', (chunk: string) => {
      buffer += chunk;
      while (!dribble) {
        if (inData) {
          if (buffer.includes('\r\n.\r\n')) dribbleReply('250 2.0.0 Ok');
          return;
        }
        const end = buffer.indexOf('\r\n');
        if (end < 0) return;
        const verb = buffer.slice(0, end).slice(0, 4).toUpperCase();
        buffer = buffer.slice(end + 2);
        if (verb === 'QUIT') return void socket.end('221 bye\r\n');
        if (verb === 'EHLO' && at === 'ehlo') return dribbleReply('250-dribble.test');
        inData = verb === 'DATA';
        socket.write(inData ? '354 go ahead\r\n' : '250 dribble.test\r\n');
      }
    });
  });
}

/**
 * startStalledServer starts a raw SMTP server that answers every command at once and DATA with its
 * 354, then stops reading once the message has begun (a server stuck writing it to a full disk):
 * a message larger than the sockets' buffers is never written whole, its final "." never sent.
 */
export function startStalledServer(): Promise<SilentServer> {
  return startLineServer('stalled.test', (verb) => (verb === 'DATA' ? { reply: '354 go ahead', stopReading: true } : { reply: '250 stalled.test' }));
}

/**
 * startVerbatimServer starts a raw SMTP server that answers RCPT TO with `rcptReply` byte for byte
 * (smtp-server tidies a scripted reply: a NUL in it goes out as a space), and every other command
 * with a plain 250.
 */
export function startVerbatimServer(rcptReply: string): Promise<SilentServer> {
  return startLineServer('verbatim.test', (verb) => ({ reply: verb === 'RCPT' ? rcptReply : '250 verbatim.test' }));
}

/**
 * startLineServer starts a raw SMTP server greeting as `name` that answers each command line (by its
 * first four letters, upper case) with `answer`'s reply, and QUIT with a goodbye; `stopReading`
 * leaves the rest unread (the client's writes fill the buffers and wait).
 */
function startLineServer(name: string, answer: (verb: string) => { reply: string; stopReading?: boolean }): Promise<SilentServer> {
  return startRawServer((socket) => {
    let buffer = '';
    socket.setEncoding('latin1');
    socket.write(`220 ${name} ESMTP\r\n`);
    socket.on('data', (chunk: string) => {
      buffer += chunk;
      for (let end = buffer.indexOf('\r\n'); end >= 0; end = buffer.indexOf('\r\n')) {
        const verb = buffer.slice(0, 4).toUpperCase();
        buffer = buffer.slice(end + 2);
        if (verb === 'QUIT') return void socket.end('221 bye\r\n');
        const { reply, stopReading } = answer(verb);
        socket.write(`${reply}\r\n`);
        if (stopReading) return void socket.pause();
      }
    });
  });
}

/** startRawServer starts a TCP server whose connections `handle` speaks on, tracking them as a SilentServer. */
async function startRawServer(handle: (socket: net.Socket) => void): Promise<SilentServer> {
  const sockets = new Set<net.Socket>();
  const closedAll: (() => void)[] = [];
  let opened = 0;
  const server = net.createServer((socket) => {
    opened += 1;
    sockets.add(socket);
    socket.on('error', () => {});
    socket.on('close', () => {
      sockets.delete(socket);
      if (sockets.size === 0) for (const resolve of closedAll.splice(0)) resolve();
    });
    handle(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    openConnections: () => sockets.size,
    connections: () => opened,
    allClosed: () => (sockets.size === 0 ? Promise.resolve() : new Promise<void>((resolve) => closedAll.push(resolve))),
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

/** BlackHole is a port whose connection attempts go unanswered, as behind a firewall that drops them. */
export interface BlackHole {
  readonly port: number;
  close(): Promise<void>;
}

/**
 * startBlackHole listens in a child process that is then stopped, and fills its accept queue
 * (Linux queues backlog + 1 connections): the kernel drops every further SYN, so a client's
 * connect never completes, as with a firewalled host. Nothing in this process can do that: Node
 * accepts every connection it can.
 */
export async function startBlackHole(): Promise<BlackHole> {
  const child = spawn(
    process.execPath,
    ['-e', "const s = require('net').createServer().listen({ port: 0, host: '127.0.0.1', backlog: 1 }, () => console.log(s.address().port))"],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const port = await new Promise<number>((resolve) => child.stdout!.once('data', (chunk: Buffer) => resolve(Number(chunk.toString().trim()))));
  child.kill('SIGSTOP');
  const fillers = await Promise.all(
    [1, 2].map(
      () =>
        new Promise<net.Socket>((resolve) => {
          const socket = net.connect(port, '127.0.0.1', () => resolve(socket));
          socket.on('error', () => {});
        }),
    ),
  );
  return {
    port,
    async close() {
      for (const socket of fillers) socket.destroy();
      child.kill('SIGKILL');
      await exited;
    },
  };
}

/** plainEndpointOf is how a worker reaches a test server: on loopback, no TLS, no authentication. */
export function plainEndpointOf(server: { readonly port: number }): SmtpEndpoint {
  return { host: '127.0.0.1', port: server.port, security: 'none', authMethod: 'none', fromAddress: 'alerts@example.com', timeoutMs: 5_000 };
}
