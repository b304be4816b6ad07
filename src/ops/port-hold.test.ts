import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { holdFreePort } from './port-hold.js';

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
});
