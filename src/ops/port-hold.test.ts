import http from 'node:http';
import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { holdFreePort, holdPort } from './port-hold.js';

/** listenOn listens on the port, or answers the error code that refused it. */
async function listenOn(port: number): Promise<net.Server | string> {
  const server = net.createServer();
  return new Promise((resolve) => {
    server.once('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? String(err)));
    server.listen(port, '127.0.0.1', () => resolve(server));
  });
}

describe('a port chosen for a server that listens later', () => {
  it('stays taken until released, so nothing else draws it in the meantime, then is free for the server', async () => {
    const held = await holdFreePort('127.0.0.1');
    expect(held.port).toBeGreaterThan(0);
    expect(await listenOn(held.port)).toBe('EADDRINUSE');
    await Promise.all([held.release(), held.release()]);
    const server = await listenOn(held.port);
    expect(server).toBeInstanceOf(net.Server);
    await new Promise((resolve) => (server as net.Server).close(resolve));
  });

  it('lets go of the port though a client connected to it while held and keeps its connection open', async () => {
    // server.close() waits for the connections it accepted: one left open held the start before listening.
    const held = await holdFreePort('127.0.0.1');
    const client = net.connect(held.port, '127.0.0.1');
    await new Promise((resolve) => client.once('connect', resolve));
    try {
      await held.release();
      const server = await listenOn(held.port);
      expect(server).toBeInstanceOf(net.Server);
      await new Promise((resolve) => (server as net.Server).close(resolve));
    } finally {
      client.destroy();
    }
  });

  it('hands a request sent while the port was held to the server that listens next, which answers it, instead of resetting its connection', async () => {
    // A start holds its port from before its pipeline starts until it serves (a second or more on
    // PostgreSQL); a script that waited for the port to open and sent its POST met "Connection reset by peer".
    const held = await holdPort('127.0.0.1', 0);
    const client = net.connect(held.port, '127.0.0.1');
    let received = '';
    client.on('data', (chunk) => {
      received += chunk;
    });
    const ended = new Promise<string>((resolve) => {
      client.once('close', () => resolve(received));
      client.once('error', (err: NodeJS.ErrnoException) => resolve(`${received}[${err.code}]`));
    });
    await new Promise((resolve) => client.once('connect', resolve));
    client.end('POST /api/v1/tenants HTTP/1.1\r\nhost: x\r\nconnection: close\r\ncontent-length: 15\r\n\r\n{"name":"acme"}');
    await held.release();
    const server = http.createServer((request, response) => {
      let body = '';
      request.on('data', (chunk) => {
        body += chunk;
      });
      request.on('end', () => response.end(`${request.method} ${request.url} ${body}`));
    });
    await new Promise<void>((resolve) => server.listen(held.port, '127.0.0.1', resolve));
    try {
      held.handOver(server);
      const answer = await ended;
      expect(answer).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
      expect(answer).toMatch(/\r\n\r\nPOST \/api\/v1\/tenants \{"name":"acme"\}$/);
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
