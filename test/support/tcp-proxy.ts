import net from 'node:net';

/**
 * TcpProxy forwards connections to a real server (PostgreSQL in the tests) and can cut them: a
 * real outage as the client sees one (its connections dropped, new ones hung up on at once), which
 * ends when the proxy is restored.
 */
export interface TcpProxy {
  readonly port: number;
  /** cut drops every open connection and hangs up on the new ones until restore(). */
  cut(): void;
  /**
   * stall keeps every connection open but forwards nothing either way, and takes new ones only to
   * hold them: a server that stopped answering (a network partition, a frozen host). The
   * connections held meanwhile stay silent; restore() forwards the ones opened after it.
   */
  stall(): void;
  restore(): void;
  /** connections is how many client connections it forwards now (each until the client or the server closes it). */
  connections(): number;
  /** refused resolves once `count` connections have been hung up on since the last cut (an event, not a pause). */
  refused(count: number): Promise<void>;
  close(): Promise<void>;
}

/** startTcpProxy listens on a free local port and forwards to `port` on `host`. */
export async function startTcpProxy(port: number, host = '127.0.0.1'): Promise<TcpProxy> {
  const open = new Set<net.Socket>();
  let down = false;
  let stalled = false;
  let refusals = 0;
  const waiting: { count: number; resolve: () => void }[] = [];
  const piped = new Map<net.Socket, net.Socket>();
  const server = net.createServer((client) => {
    client.on('error', () => {});
    if (down) {
      refusals += 1;
      client.destroy();
      for (const w of waiting.filter((w) => refusals >= w.count)) {
        waiting.splice(waiting.indexOf(w), 1);
        w.resolve();
      }
      return;
    }
    if (stalled) {
      open.add(client);
      client.on('close', () => open.delete(client));
      return;
    }
    const upstream = net.connect(port, host);
    upstream.on('error', () => client.destroy());
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
    for (const socket of [client, upstream]) {
      open.add(socket);
      socket.on('close', () => open.delete(socket));
    }
    client.pipe(upstream).pipe(client);
    piped.set(client, upstream);
    client.on('close', () => piped.delete(client));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    cut() {
      down = true;
      refusals = 0;
      for (const socket of open) socket.destroy();
    },
    stall() {
      stalled = true;
      for (const [client, upstream] of piped) {
        client.unpipe(upstream);
        upstream.unpipe(client);
      }
    },
    restore() {
      down = false;
      stalled = false;
    },
    connections: () => piped.size,
    refused: (count) => (refusals >= count ? Promise.resolve() : new Promise((resolve) => waiting.push({ count, resolve }))),
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of open) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

/** proxyFor is a TcpProxy in front of the server a postgres:// URL names (port 5432 when it names none). */
export function proxyFor(url: string): Promise<TcpProxy> {
  const server = new URL(url);
  return startTcpProxy(Number(server.port || 5432), server.hostname);
}

/** viaProxy rewrites a postgres:// URL to reach its server through the proxy. */
export function viaProxy(url: string, proxy: TcpProxy): string {
  const parsed = new URL(url);
  parsed.hostname = '127.0.0.1';
  parsed.port = String(proxy.port);
  return parsed.toString();
}
