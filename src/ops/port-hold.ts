import net from 'node:net';

/** HeldPort is a free port kept listening (and so taken) until the process's own listener needs it. */
export interface HeldPort {
  readonly port: number;
  /** release frees the port for the listener that takes it next; once, however often it is called. */
  release(): Promise<void>;
}

/**
 * holdFreePort picks a free port on `host` and keeps it until released. A port picked and let go
 * at once stays free only by luck until the server listens on it, seconds later (migrations, the
 * retention's first purge, a database still starting): every outgoing connection of the machine
 * in the meantime (this process's own to PostgreSQL and SMTP among them) draws its local port
 * from the same ephemeral range, and one that drew it made the listen fail with EADDRINUSE.
 */
export async function holdFreePort(host: string): Promise<HeldPort> {
  return holdPort(host, 0);
}

/**
 * holdPort takes `port` on `host` (0: any free one) and keeps it until released; it rejects as a
 * listen would (EADDRINUSE) when the port is taken, so a start can learn that before it starts work.
 */
export async function holdPort(host: string, port: number): Promise<HeldPort> {
  // Nothing is served while the port is held: a connection is closed at once, since close() waits
  // for every connection it accepted, and one left open would keep the server from listening.
  const server = net.createServer((socket) => socket.destroy());
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, resolve);
  });
  const held = (server.address() as net.AddressInfo).port;
  let released: Promise<void> | undefined;
  return {
    port: held,
    release: () => {
      released ??= new Promise<void>((resolve) => server.close(() => resolve()));
      return released;
    },
  };
}
