import net from 'node:net';
import { expect, it } from 'vitest';
import { ADMIN_TOKEN, startTestApp } from '../test/support/http.js';
import { describeEachDialect } from '../test/support/storage.js';
import { startTestSmtpServer } from '../test/support/smtp-servers.js';
import { openStorage } from './storage/storage.js';

/** roleRequest is a POST creating a role, its head and body apart, so a test can hold back the body's last byte. */
function roleRequest(tenant: string, name: string) {
  const body = JSON.stringify({ name, permissions: [] });
  const head =
    `POST /api/v1/tenants/${tenant}/roles HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer ${ADMIN_TOKEN}\r\n` +
    `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n`;
  return { head, body };
}

/** rawClient is a connection to `port` that keeps all it is answered, and says when it ends. */
async function rawClient(port: number) {
  const socket = net.connect(port, '127.0.0.1');
  await new Promise<void>((resolve) => socket.once('connect', resolve));
  socket.on('error', () => {});
  const client = { socket, answer: '', ended: new Promise<void>((resolve) => socket.once('close', () => resolve())) };
  socket.on('data', (chunk: Buffer) => (client.answer += chunk.toString('utf8')));
  return client;
}

describeEachDialect('graceful close', (dialect) => {
  /** listening starts a Tocsin on a port with one tenant, `tenant`. */
  async function listening(tenant: string) {
    const t = await startTestApp(dialect, {}, { listen: true });
    await t.call('POST', '/api/v1/tenants', { name: tenant });
    return { t, port: Number(new URL(t.tocsin.url!).port) };
  }

  it('records an email whose send was in flight before closing the database, so that it never goes again', async () => {
    // The pipeline stops before the storage closes (server.ts's closers): with its stop run after, every test
    // passed, yet the attempt of a send that the close waited for could no longer be written, and the email
    // went again at the next start, its lease run out.
    const smtp = await startTestSmtpServer();
    const t = await startTestApp(dialect, { TOCSIN_SMTP_URL: `smtp://127.0.0.1:${smtp.port}?from=tocsin@example.com` }, { listen: true });
    const database = await openStorage(t.tocsin.deps.config.databaseUrl, { poolSize: 1 });
    try {
      smtp.holdReplies();
      const { userId } = await t.tenantWithUser('closing');
      await t.enableAlertEmails('closing');
      await t.call('PUT', `/api/v1/tenants/closing/users/${userId}/alert-preferences`, { email: { fatalImmediately: true } });
      expect((await t.call('POST', '/api/v1/tenants/closing/alerts', { severity: 'Fatal', component: 'Jobs', message: 'Payroll failed' })).statusCode).toBe(
        202,
      );
      await smtp.waitForHeld(1);
      // The close goes past what comes before the pipeline's stop (the HTTP server) before the reply comes.
      const httpClosed = new Promise((resolve) => t.tocsin.app.server.once('close', resolve));
      const closing = t.tocsin.close();
      await httpClosed;
      smtp.releaseReplies();
      await closing;
      expect(await database.db.selectFrom('deliveries').select(['status', 'attempts']).execute()).toEqual([{ status: 'sent', attempts: 1 }]);
    } finally {
      await database.close();
      await t.close();
      await smtp.close();
    }
  });

  it('finishes a request in flight before closing the database, refuses new connections, and ends keep-alive', async () => {
    const { t, port } = await listening('closing');

    // The request arrives whole except its last byte, so it is in flight when the close begins.
    const { head, body } = roleRequest('closing', 'Late but kept');
    const client = await rawClient(port);
    const { socket } = client;
    // Node's server emits 'request' once it has read the headers: from then on the request is in flight.
    const inFlight = new Promise<void>((resolve) => t.tocsin.app.server.once('request', () => resolve()));
    socket.write(head + body.slice(0, -1));
    await inFlight;

    const closing = t.tocsin.close();
    const refused = () =>
      new Promise<boolean>((resolve) => {
        const late = net.connect(port, '127.0.0.1');
        late.once('connect', () => {
          late.destroy();
          resolve(false);
        });
        late.once('error', () => resolve(true));
      });
    await expect.poll(refused, { timeout: 15_000 }).toBe(true);

    socket.write(body.slice(-1));
    // The server ends the connection itself once it has answered: no keep-alive while closing.
    await client.ended;
    await closing;
    expect(client.answer).toMatch(/^HTTP\/1\.1 201 /);
    expect(client.answer).toMatch(/\r\nconnection: close\r\n/i);
    expect(client.answer).toContain('"name":"Late but kept"');
    await t.close();
  });

  it('finishes a pipelined request in flight after the one before it on its connection was answered', async () => {
    const { t, port } = await listening('pipelined');
    const { head, body } = roleRequest('pipelined', 'Second in the pipe');
    const accepted: net.Socket[] = [];
    t.tocsin.app.server.on('connection', (socket: net.Socket) => accepted.push(socket));
    const client = await rawClient(port);
    // Another connection reads as one still writing an answer, which the close's sweeps leave to finish:
    // each sweep asks it how much it has left to write, so its questions count the sweeps.
    const writing = await rawClient(port);
    await expect.poll(() => accepted.some((socket) => socket.remotePort === writing.socket.localPort), { timeout: 15_000 }).toBe(true);
    let sweeps = 0;
    const stillWriting = () => {
      sweeps += 1;
      return 1;
    };
    Object.defineProperty(
      accepted.find((socket) => socket.remotePort === writing.socket.localPort),
      'writableLength',
      { get: stillWriting },
    );
    let requests = 0;
    t.tocsin.app.server.on('request', () => (requests += 1));
    // Two requests in one write (HTTP/1.1 pipelining): the first answered at once, the second
    // whole but for its last byte, so it is in flight on a connection that has already answered one.
    client.socket.write(`GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n${head}${body.slice(0, -1)}`);
    await expect.poll(() => requests === 2 && /^HTTP\/1\.1 200 /.test(client.answer), { timeout: 15_000 }).toBe(true);

    const closing = t.tocsin.close();
    // The close's first sweep of connections that carry no request, and two more, pass the request in flight.
    await expect.poll(() => sweeps, { timeout: 15_000 }).toBeGreaterThanOrEqual(3);
    writing.socket.destroy();
    client.socket.write(body.slice(-1));
    await client.ended;
    await closing;
    expect(client.answer).toMatch(/HTTP\/1\.1 201 /);
    expect(client.answer).toContain('"name":"Second in the pipe"');
    await t.close();
  });

  it('does not wait for connections that carry no request: one never used, one whose headers never end', async () => {
    const t = await startTestApp(dialect, {}, { listen: true });
    const port = Number(new URL(t.tocsin.url!).port);
    const accepted: net.Socket[] = [];
    t.tocsin.app.server.on('connection', (socket: net.Socket) => accepted.push(socket));
    const connect = async (bytes?: string) => {
      const socket = net.connect(port, '127.0.0.1');
      await new Promise<void>((resolve) => socket.once('connect', resolve));
      socket.on('error', () => {});
      const ended = new Promise<void>((resolve) => socket.once('close', () => resolve()));
      if (bytes) socket.write(bytes);
      return { ended };
    };
    // A browser's preconnect, and a client that stopped in the middle of its headers.
    const unused = await connect();
    const halfway = await connect('GET /healthz HTTP/1.1\r\nHost: localhost\r\n');
    await expect.poll(() => accepted.length === 2 && accepted[1]!.bytesRead > 0, { timeout: 15_000 }).toBe(true);

    // Node's own close would wait for both until their clients hang up.
    await t.tocsin.close();
    await unused.ended;
    await halfway.ended;
    await t.close();
  });
});

describeEachDialect('graceful close of a request whose body stalls', (dialect) => {
  it('ends the connection of a request whose body stopped arriving, rather than hold the stop past its grace', async () => {
    // A client that sent its headers and part of its body, then nothing (a stalled upload): Node stops
    // timing requests out once the server closes, so the close waited for it until `tocsin serve`'s
    // 15 s grace ran out and the process exited 1, its database and workers never closed.
    const t = await startTestApp(dialect, {}, { listen: true });
    await t.call('POST', '/api/v1/tenants', { name: 'stalled' });
    const port = Number(new URL(t.tocsin.url!).port);
    const { head, body } = roleRequest('stalled', 'Never whole');
    const client = await rawClient(port);
    const inFlight = new Promise<void>((resolve) => t.tocsin.app.server.once('request', () => resolve()));
    client.socket.write(head + body.slice(0, 5));
    await inFlight;
    const started = Date.now();
    await t.tocsin.close();
    await client.ended;
    expect(Date.now() - started).toBeLessThan(12_000);
    await t.close();
  }, 30_000);
});
