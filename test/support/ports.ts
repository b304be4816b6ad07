import net from 'node:net';

/**
 * freePort is a TCP port on 127.0.0.1 that nothing listens on: it was free a moment ago, so a
 * connection to it is refused (and a server may take it).
 */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** hasIpv6Loopback tells whether this machine can listen on ::1 (a container may have no IPv6 at all). */
export async function hasIpv6Loopback(): Promise<boolean> {
  const server = net.createServer();
  const listening = await new Promise<boolean>((resolve) => {
    server.once('error', () => resolve(false));
    server.listen(0, '::1', () => resolve(true));
  });
  if (listening) await new Promise((resolve) => server.close(resolve));
  return listening;
}
