import net from 'node:net';
import { expect, it } from 'vitest';
import { ADMIN_TOKEN, startTestApp } from '../test/support/http.js';
import { describeEachDialect } from '../test/support/storage.js';

describeEachDialect('graceful close', (dialect) => {
  it('finishes a request in flight before closing the database, refuses new connections, and ends keep-alive', async () => {
    const t = await startTestApp(dialect, {}, { listen: true });
    const port = Number(new URL(t.tocsin.url!).port);
    await t.call('POST', '/api/v1/tenants', { name: 'closing' });

    // The request arrives whole except its last byte, so it is in flight when the close begins.
    const body = JSON.stringify({ name: 'Late but kept', permissions: [] });
    const head =
      `POST /api/v1/tenants/closing/roles HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer ${ADMIN_TOKEN}\r\n` +
      `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n`;
    const socket = net.connect(port, '127.0.0.1');
    await new Promise<void>((resolve) => socket.once('connect', resolve));
    let answer = '';
    socket.on('data', (chunk: Buffer) => (answer += chunk.toString('utf8')));
    const ended = new Promise<void>((resolve) => socket.once('close', () => resolve()));
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
    await ended;
    await closing;
    expect(answer).toMatch(/^HTTP\/1\.1 201 /);
    expect(answer).toMatch(/\r\nconnection: close\r\n/i);
    expect(answer).toContain('"name":"Late but kept"');
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
