import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { SendCalledOffError, SmtpDeliveryError, type SmtpEndpoint } from '../contract.js';
import { SessionPool, atConnectionLimit } from './pool.js';
import { until } from '../../../test/support/until.js';
import { type TestSmtpServer, startSilentServer, startTestSmtpServer } from '../../../test/support/smtp-servers.js';

function endpointFor(server: { readonly port: number }): SmtpEndpoint {
  return { host: 'localhost', port: server.port, security: 'none', authMethod: 'none', fromAddress: 'alerts@example.com', timeoutMs: 10_000 };
}

function message(n: number): Buffer {
  return Buffer.from(`From: alerts@example.com\r\nTo: ops@example.com\r\nMessage-ID: <pool-${n}@tocsin.test>\r\nSubject: ${n}\r\n\r\nbody ${n}\r\n`);
}

const envelope = { from: 'alerts@example.com', to: ['ops@example.com'] };

describe('a refusal of a session one too many for the account (atConnectionLimit)', () => {
  const refusal = (response: string, retryable = true) =>
    new SmtpDeliveryError(`refused: ${response}`, 'data', retryable, Number(response.slice(0, 3)), response);

  it("is told by each of Microsoft 365's wordings of it, and no other refusal is", () => {
    for (const said of [
      '432 4.3.2 STOREDRV.ClientSubmit; sender thread limit exceeded',
      '432 4.3.2 concurrent connection limit exceeded',
      // As Exchange Online answers it since 2024 (its log lines: "4.3.2 Concurrent connections limit exceeded. Visit https://aka.ms/concurrent_sending").
      '432 4.3.2 Concurrent connections limit exceeded. Visit https://aka.ms/concurrent_sending for more information. [Hostname=DM4PR18MB4126.namprd18.prod.outlook.com]',
    ]) {
      expect(atConnectionLimit(refusal(said)), said).toBe(true);
    }
    // Refused for good, another server's busy reply, or no SMTP reply at all: nothing for another session to carry.
    expect(atConnectionLimit(refusal('554 5.2.0 concurrent connection limit exceeded', false))).toBe(false);
    expect(atConnectionLimit(refusal('451 4.7.652 The mail server [203.0.113.9] has exceeded the maximum number of connections. (S3115)'))).toBe(false);
    expect(atConnectionLimit(new Error('432 4.3.2 STOREDRV.ClientSubmit; sender thread limit exceeded'))).toBe(false);
  });
});

describe('SessionPool against a real smtp-server', () => {
  const servers: TestSmtpServer[] = [];
  const pools: SessionPool[] = [];
  const start = async (...args: Parameters<typeof startTestSmtpServer>) => {
    const server = await startTestSmtpServer(...args);
    servers.push(server);
    return server;
  };
  const poolFor = (server: TestSmtpServer, options: { maxConnections: number; maxMessages: number }) => {
    const pool = new SessionPool(endpointFor(server), { ...options, warm: false });
    pools.push(pool);
    return pool;
  };
  afterEach(async () => {
    for (const pool of pools.splice(0)) pool.close();
    await Promise.all(servers.splice(0).map((s) => s.close()));
  });

  it('ends a connection still waiting for the greeting when closed, so that a silent server holds no stopping process', async () => {
    const silent = await startSilentServer();
    try {
      const pool = new SessionPool({ ...endpointFor(silent), timeoutMs: 120_000 }, { maxConnections: 1, maxMessages: 100, warm: false });
      const sent = pool.send(envelope, message(0));
      await until(() => silent.openConnections() === 1, 'the pool to connect');
      pool.close();
      await expect(sent).rejects.toThrow('closed');
      // The client's socket is gone: nothing of the pool keeps the event loop alive for the greeting's two minutes.
      await silent.allClosed();
    } finally {
      await silent.close();
    }
  });

  it('fails a send still before its message when the pool closes, rather than putting it back for a session none will open', async () => {
    // A server slow to answer MAIL FROM: the send is under way, nothing of its message written, when the process stops.
    let mailFrom = 0;
    const slow = net.createServer((socket) => {
      socket.on('error', () => {});
      socket.write('220 slow.test ESMTP\r\n');
      socket.on('data', (chunk) => {
        const verb = chunk.toString('latin1').slice(0, 4).toUpperCase();
        if (verb === 'MAIL') mailFrom += 1;
        else socket.write(verb === 'EHLO' ? '250 slow.test\r\n' : '250 ok\r\n');
      });
    });
    await new Promise<void>((resolve) => slow.listen(0, '127.0.0.1', resolve));
    try {
      const pool = new SessionPool(endpointFor({ port: (slow.address() as AddressInfo).port }), { maxConnections: 1, maxMessages: 100, warm: false });
      const sent = pool.send(envelope, message(0));
      await until(() => mailFrom === 1, 'the send to reach MAIL FROM');
      pool.close();
      // Retryable: the outbox sends it again after the restart.
      await expect(sent).rejects.toMatchObject({ retryable: true });
    } finally {
      slow.close();
    }
  });

  it('calls off a queued send whose mayStart says no when a session takes it, and sends the next', async () => {
    const server = await start();
    const pool = poolFor(server, { maxConnections: 1, maxMessages: 100 });
    let asked = 0;
    const first = pool.send(envelope, message(0));
    // Its lease ran out while it waited for the one session: it must not start.
    const refused = pool.send(envelope, message(1), {
      mayStart: () => {
        asked += 1;
        return false;
      },
    });
    const last = pool.send(envelope, message(2), { mayStart: () => true });
    await expect(refused).rejects.toBeInstanceOf(SendCalledOffError);
    expect(await first).toMatch(/^250/);
    expect(await last).toMatch(/^250/);
    expect(asked).toBe(1);
    expect(server.messages.map((m) => m.messageId)).toEqual(['<pool-0@tocsin.test>', '<pool-2@tocsin.test>']);
  });

  it('calls off a started send whose mayFinish says no once the server answers DATA: the server gets nothing of it, the next goes out', async () => {
    // A worker frozen (a paused VM, SIGSTOP) after its send started: its lease ran out before the
    // server's 354 and another worker took the email over (a storm under kill -9 and SIGSTOP saw it
    // delivered twice). The message must not follow.
    const server = await start();
    const pool = poolFor(server, { maxConnections: 1, maxMessages: 100 });
    let asked = 0;
    const stalled = pool.send(envelope, message(0), { mayStart: () => true, mayFinish: () => ++asked === 0 });
    await expect(stalled).rejects.toBeInstanceOf(SendCalledOffError);
    expect(asked).toBe(1);
    expect(await pool.send(envelope, message(1), { mayStart: () => true })).toMatch(/^250/);
    expect(server.messages.map((m) => m.messageId)).toEqual(['<pool-1@tocsin.test>']);
  });

  it('calls off a send whose mayFinish says no once its message is written, before the final ".": the server delivers nothing', async () => {
    // The same stall between the 354 and the message's end (a worker frozen while the message went
    // out to the connection): the "." that would have the server deliver it is not written.
    const server = await start();
    const pool = poolFor(server, { maxConnections: 1, maxMessages: 100 });
    let asked = 0;
    const stalled = pool.send(envelope, message(0), { mayStart: () => true, mayFinish: () => ++asked <= 1 });
    await expect(stalled).rejects.toBeInstanceOf(SendCalledOffError);
    expect(asked).toBe(2);
    expect(await pool.send(envelope, message(1), { mayStart: () => true })).toMatch(/^250/);
    expect(server.messages.map((m) => m.messageId)).toEqual(['<pool-1@tocsin.test>']);
  });

  it('sends an urgent email waiting for the one session ahead of those waiting that are not, urgent ones in their order', async () => {
    // A Fatal alert's email handed to a slow server's pool behind a tenant's daily reports waited for each.
    const server = await start();
    const pool = poolFor(server, { maxConnections: 1, maxMessages: 100 });
    const sends = [0, 1, 2].map((n) => pool.send(envelope, message(n)));
    sends.push(pool.send(envelope, message(3), { urgent: true }), pool.send(envelope, message(4), { urgent: true }));
    await Promise.all(sends);
    // All five waited for the session being opened.
    expect(server.messages.map((m) => m.messageId)).toEqual([3, 4, 0, 1, 2].map((n) => `<pool-${n}@tocsin.test>`));
  });

  it("gives a free session to another tenant's send ahead of the rest of a tenant's backlog, urgent ones still first", async () => {
    // A shared server (the system default): one tenant's sends handed over at once held another's behind all of them.
    const server = await start();
    const pool = poolFor(server, { maxConnections: 1, maxMessages: 100 });
    const sends = [0, 1, 2].map((n) => pool.send(envelope, message(n), { tenantId: 'busy' }));
    sends.push(pool.send(envelope, message(3), { tenantId: 'quiet' }));
    sends.push(pool.send(envelope, message(4), { tenantId: 'busy', urgent: true }), pool.send(envelope, message(5), { tenantId: 'quiet', urgent: true }));
    await Promise.all(sends);
    expect(server.messages.map((m) => m.messageId)).toEqual([4, 5, 0, 3, 1, 2].map((n) => `<pool-${n}@tocsin.test>`));
  });

  it("takes turns between tenants before urgency: one tenant's flood of urgent sends does not hold another's report behind all of it", async () => {
    // A shared server: a tenant's flood of Fatal emails held another tenant's summary behind every one of them (7 s in a probe).
    const server = await start();
    const pool = poolFor(server, { maxConnections: 1, maxMessages: 100 });
    const sends = [0, 1, 2].map((n) => pool.send(envelope, message(n), { tenantId: 'flooded', urgent: true }));
    sends.push(pool.send(envelope, message(3), { tenantId: 'quiet' }), pool.send(envelope, message(4), { tenantId: 'flooded' }));
    await Promise.all(sends);
    // Within a tenant, its urgent ones still go first.
    expect(server.messages.map((m) => m.messageId)).toEqual([0, 3, 1, 2, 4].map((n) => `<pool-${n}@tocsin.test>`));
  });

  it('gives a free session to the tenant with no send under way before one whose send still holds another session', async () => {
    // Turns alone gave a tenant whose message was slow to go out (a large report still rendering) the
    // next free session too, its last turn being older: the other tenant's next email waited behind it.
    const server = await start();
    const pool = poolFor(server, { maxConnections: 2, maxMessages: 100 });
    let writeSlow!: (message: Buffer) => void;
    const slow = new Promise<Buffer>((resolve) => {
      writeSlow = resolve;
    });
    const sends = [
      pool.send(envelope, slow, { tenantId: 'slow' }),
      pool.send(envelope, message(1), { tenantId: 'other' }),
      pool.send(envelope, message(2), { tenantId: 'slow' }),
      pool.send(envelope, message(3), { tenantId: 'other' }),
    ];
    // The slow tenant's first send holds one session; the other carries the rest, the other tenant's first.
    await server.waitForMessages(3);
    writeSlow(message(0));
    await Promise.all(sends);
    expect(server.messages.map((m) => m.messageId)).toEqual([1, 3, 2, 0].map((n) => `<pool-${n}@tocsin.test>`));
  });

  it("gives a send put back (its session dropped before its message) the next session, ahead of another tenant's turn", async () => {
    // It had its turn: put back, it is carried next, rather than wait for each other tenant waiting.
    const server = await start({ dropAtMailFrom: 1 });
    const pool = poolFor(server, { maxConnections: 1, maxMessages: 100 });
    const sends = [pool.send(envelope, message(0), { tenantId: 'first' }), pool.send(envelope, message(1), { tenantId: 'second' })];
    await Promise.all(sends);
    expect(server.messages.map((m) => m.messageId)).toEqual([0, 1].map((n) => `<pool-${n}@tocsin.test>`));
    expect(server.connections()).toBe(2);
  });

  it('says QUIT after maxMessages on a session and sends the rest on a fresh one', async () => {
    const server = await start();
    const pool = poolFor(server, { maxConnections: 1, maxMessages: 3 });
    const replies = await Promise.all(Array.from({ length: 7 }, (_, i) => pool.send(envelope, message(i))));
    expect(replies.every((r) => r.startsWith('250'))).toBe(true);
    expect(server.messages.map((m) => m.messageId)).toEqual(Array.from({ length: 7 }, (_, i) => `<pool-${i}@tocsin.test>`));
    // 3 + 3 + 1 messages: two sessions ended by QUIT, the third still open.
    await server.waitForCommand('QUIT', 2);
    expect(server.connections()).toBe(3);
  });

  it('sends a message refused with 421 at MAIL FROM on a reused session (a per-connection message limit) on a fresh one at once', async () => {
    // The server closes a connection with a 421 to its fourth MAIL FROM; not a byte of that
    // message reached it, so it is no failure of the message, as a drop of a reused session.
    const server = await start({ messagesPerConnection: 3 });
    const pool = poolFor(server, { maxConnections: 1, maxMessages: 100 });
    const replies = await Promise.all(Array.from({ length: 7 }, (_, i) => pool.send(envelope, message(i))));
    expect(replies.every((r) => r.startsWith('250'))).toBe(true);
    expect(server.messages.map((m) => m.messageId).sort()).toEqual(Array.from({ length: 7 }, (_, i) => `<pool-${i}@tocsin.test>`).sort());
    expect(server.connections()).toBe(3);
  });

  it('sends a message refused with 530 at MAIL FROM on a reused signed-in session (its sign-in lapsed) on a fresh one, signed in again', async () => {
    // The server forgets a connection's sign-in after two messages: the third is refused for want of one.
    const server = await start({ auth: { username: 'robot', password: 'S3cret-pw' }, signInLapsesAfter: 2 });
    const endpoint: SmtpEndpoint = { ...endpointFor(server), authMethod: 'auto', username: 'robot', password: 'S3cret-pw', allowPlaintextAuth: true };
    const pool = new SessionPool(endpoint, { maxConnections: 1, maxMessages: 100, warm: false });
    pools.push(pool);
    const replies = await Promise.all(Array.from({ length: 5 }, (_, i) => pool.send(envelope, message(i))));
    expect(replies.every((r) => r.startsWith('250'))).toBe(true);
    expect(server.messages.map((m) => m.messageId).sort()).toEqual(Array.from({ length: 5 }, (_, i) => `<pool-${i}@tocsin.test>`).sort());
    expect(server.connections()).toBe(3);
    expect(server.authSeen).toHaveLength(3);
  });

  it('still refuses at once a 530 on a fresh signed-in session: a new session would be refused alike', async () => {
    const server = await start({
      auth: { username: 'robot', password: 'S3cret-pw' },
      failures: [{ at: 'mail', code: 530, message: '5.7.0 Authentication required' }],
    });
    const endpoint: SmtpEndpoint = { ...endpointFor(server), authMethod: 'auto', username: 'robot', password: 'S3cret-pw', allowPlaintextAuth: true };
    const pool = new SessionPool(endpoint, { maxConnections: 1, maxMessages: 100, warm: false });
    pools.push(pool);
    await expect(pool.send(envelope, message(0))).rejects.toMatchObject({ code: 530, stage: 'auth', retryable: false });
    expect(server.connections()).toBe(1);
  });

  it('sends a message refused with 421 at MAIL FROM on a kept-warm session on a fresh one at once', async () => {
    // The warm session has only said RSET when the server, timing it out, answers the MAIL FROM with a 421.
    const server = await start({ failures: [{ at: 'mail', code: 421, times: 1 }] });
    // A timeout the warm session outlives on a loaded machine: at 0.9 s (an RSET every 0.3 s) an event
    // loop held for a second ended it by the client's own timeout, and the send went out on a fresh
    // session, where a 421 is final (the test's send failed with it).
    const pool = new SessionPool({ ...endpointFor(server), timeoutMs: 6_000 }, { maxConnections: 1, maxMessages: 100, warm: true });
    pools.push(pool);
    await server.waitForCommand('RSET', 1);
    expect(await pool.send(envelope, message(0))).toMatch(/^250/);
    expect(server.messages.map((m) => m.messageId)).toEqual(['<pool-0@tocsin.test>']);
    expect(server.connections()).toBe(2);
  });

  it('opens the successor of a kept-warm session it retires after maxMessages at once, so the next lone email finds a session open', async () => {
    const server = await start();
    // Keepalive ticks a minute apart (the longest): a successor left to the tick comes long after this test's wait.
    const pool = new SessionPool({ ...endpointFor(server), timeoutMs: 180_000 }, { maxConnections: 1, maxMessages: 2, warm: true });
    pools.push(pool);
    expect(await pool.send(envelope, message(0))).toMatch(/^250/);
    expect(await pool.send(envelope, message(1))).toMatch(/^250/);
    await server.waitForCommand('QUIT', 1);
    await until(() => server.connections() === 2, 'the retired session’s successor to be open', { timeoutMs: 10_000 });
    // The next email goes out on it: no connection of its own.
    expect(await pool.send(envelope, message(2))).toMatch(/^250/);
    expect(server.connections()).toBe(2);
  });

  it('opens the kept-warm session again with a backoff, not at every keepalive, when the server keeps ending it while idle', async () => {
    // A server that takes no RSET: each kept-warm session ends at its first keepalive. Opened again
    // at every tick, it was a new connection (and sign-in) every few seconds for as long as it is kept warm.
    const server = await start({ refuseRset: true });
    const pool = new SessionPool({ ...endpointFor(server), timeoutMs: 900 }, { maxConnections: 1, maxMessages: 100, warm: true });
    pools.push(pool);
    await until(() => server.connections() >= 4, 'four kept-warm sessions', { timeoutMs: 30_000 });
    // A keepalive tick is 300 ms; the third session's end waits 300 ms × 2³ at least before the fourth.
    expect(server.connectedAt[3]! - server.connectedAt[2]!).toBeGreaterThanOrEqual(2_400);
    // A send still goes out at once, on a session of its own.
    expect(await pool.send(envelope, message(0))).toMatch(/^250/);
  });

  it('sends a message once when the server answered its DATA with a 250 go-ahead, which nodemailer takes as a 354, and hung up after the "."', async () => {
    // Some servers answer DATA with 250 rather than 354; the message then goes out whole, and a drop
    // after it is in doubt (the server may have queued it), not a drop before it to send again at once.
    let received = 0;
    const raw = net.createServer((socket) => {
      let buffer = '';
      let inData = false;
      socket.on('error', () => {});
      socket.setEncoding('latin1');
      socket.write('220 go-ahead.test ESMTP\r\n');
      socket.on('data', (chunk: string) => {
        buffer += chunk;
        for (;;) {
          if (inData) {
            const end = buffer.indexOf('\r\n.\r\n');
            if (end < 0) return;
            received += 1;
            return void socket.destroy();
          }
          const end = buffer.indexOf('\r\n');
          if (end < 0) return;
          const verb = buffer.slice(0, 4).toUpperCase();
          buffer = buffer.slice(end + 2);
          inData = verb === 'DATA';
          socket.write(inData ? '250 2.0.0 go ahead\r\n' : '250 go-ahead.test\r\n');
        }
      });
    });
    await new Promise<void>((resolve) => raw.listen(0, '127.0.0.1', resolve));
    try {
      const pool = new SessionPool(endpointFor(raw.address() as AddressInfo), { maxConnections: 1, maxMessages: 100, warm: false });
      pools.push(pool);
      await expect(pool.send(envelope, message(0))).rejects.toMatchObject({ stage: 'data', retryable: true });
      expect(received).toBe(1);
    } finally {
      await new Promise<void>((resolve) => raw.close(() => resolve()));
    }
  });

  it("ends a session the server refuses every message on past its limit of connections for the account (Microsoft 365's 432 4.3.2), and sends those messages once on the sessions within it", async () => {
    // Exchange Online takes three connections of a mailbox at once and answers the others' messages 432,
    // keeping them open: they refused every email of a burst they took, each retried half a minute later.
    // Each message takes a moment at the server, so that a burst opens every session the pool may.
    const server = await start({ connectionLimit: 2, dataReplyDelayMs: 50 });
    const pool = poolFor(server, { maxConnections: 5, maxMessages: 100 });
    const sends = await Promise.allSettled(Array.from({ length: 20 }, (_, i) => pool.send(envelope, message(i))));
    expect(sends.filter((send) => send.status === 'rejected')).toEqual([]);
    // Each once: a message answered 432 after its "." was not taken.
    expect(server.messages.map((m) => m.messageId).sort()).toEqual(Array.from({ length: 20 }, (_, i) => `<pool-${i}@tocsin.test>`).sort());
  });

  it('stops opening sessions once the server refuses one beside live ones, and sends the whole queue on those', async () => {
    // The server takes two connections at once; the pool may open five.
    const server = await start({ maxClients: 2 });
    const pool = poolFor(server, { maxConnections: 5, maxMessages: 100 });
    const replies = await Promise.all(Array.from({ length: 20 }, (_, i) => pool.send(envelope, message(i))));
    expect(replies).toHaveLength(20);
    expect(server.messages).toHaveLength(20);
    expect(server.connections()).toBeLessThanOrEqual(2);
    // Only the opens already under way when the first was refused (four at most beside the live
    // session); none after: the pool kept to its live sessions until the queue was empty.
    expect(server.refusedConnections()).toBeGreaterThanOrEqual(1);
    expect(server.refusedConnections()).toBeLessThanOrEqual(4);
  });
});
