import net from 'node:net';

/** HeldPort is a free port kept listening (and so taken) until the process's own listener needs it. */
export interface HeldPort {
  readonly port: number;
  /** release frees the port for the listener that takes it next; once, however often it is called. */
  release(): Promise<void>;
  /**
   * handOver gives the connections that arrived while the port was held to `server`, now listening
   * on it, which reads and answers their requests; `undefined` (the start failed) closes them.
   */
  handOver(server: net.Server | undefined): void;
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
  // A connection that arrives while the port is held (a script that waited for the port to open, a
  // load balancer's probe) is accepted but not read (pauseOnConnect), and handed over to the server
  // that listens once the start is done: resetting it made that script's first request fail.
  // Each waiting connection, with its listener that forgets it when the client gives up (its
  // 'error' handled, not thrown).
  const waiting = new Map<net.Socket, () => void>();
  const server = net.createServer({ pauseOnConnect: true }, (socket) => {
    const leave = () => {
      waiting.delete(socket);
      socket.destroy();
    };
    waiting.set(socket, leave);
    socket.once('close', leave).once('error', leave);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, resolve);
  });
  const held = (server.address() as net.AddressInfo).port;
  let released: Promise<void> | undefined;
  return {
    port: held,
    release: () => {
      // Connections the kernel completed but Node has not accepted yet are reset when the listening
      // socket closes: a turn of the event loop first accepts them (a start that ran without one,
      // SQLite's synchronous calls chained by promises, lost a client that connected meanwhile).
      // close() frees the port at once but calls back only when the connections it accepted end,
      // which the held ones do only once served: resolve when the listening socket is closed.
      released ??= new Promise<void>((resolve) => {
        setImmediate(() => {
          server.close();
          setImmediate(resolve);
        });
      });
      return released;
    },
    handOver: (next) => {
      for (const [socket, leave] of waiting) {
        socket.off('close', leave).off('error', leave);
        if (!next) socket.destroy();
        else {
          next.emit('connection', socket);
          socket.resume();
        }
      }
      waiting.clear();
    },
  };
}
