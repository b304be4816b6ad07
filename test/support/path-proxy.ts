import http from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * PathProxy is a reverse proxy that serves Tocsin under a path of the host, as nginx's
 * `location /tocsin/ { proxy_pass http://127.0.0.1:8080/; }` does: a request under the prefix goes
 * to Tocsin without it, the prefix without its slash is sent there by a 301, and any other path is
 * another application's (a 404 here), listed in `outside` so that a test sees what missed the prefix.
 */
export interface PathProxy {
  /** The proxy's origin, such as http://127.0.0.1:41234 (Tocsin's public URL is this and the prefix). */
  readonly origin: string;
  /** Where to forward to, such as http://127.0.0.1:8080: set once Tocsin listens. */
  target: string;
  /** The paths asked for outside the prefix, oldest first. */
  readonly outside: string[];
  close(): Promise<void>;
}

/** startPathProxy listens on a free local port and serves Tocsin (its `target`) under `prefix` (`/tocsin`). */
export async function startPathProxy(prefix: string): Promise<PathProxy> {
  const outside: string[] = [];
  const proxy: PathProxy = {
    origin: '',
    target: '',
    outside,
    close() {
      server.closeAllConnections();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  const server = http.createServer((request, response) => {
    const url = request.url ?? '/';
    if (url === prefix || url.startsWith(`${prefix}?`)) {
      response.writeHead(301, { location: `${prefix}/${url.slice(prefix.length)}` }).end();
      return;
    }
    if (!url.startsWith(`${prefix}/`)) {
      outside.push(url);
      response.writeHead(404, { 'content-type': 'text/plain' }).end('not Tocsin');
      return;
    }
    const forwarded = http.request(
      new URL(url.slice(prefix.length), proxy.target),
      {
        method: request.method,
        headers: { ...request.headers, 'x-forwarded-for': request.socket.remoteAddress ?? '', 'x-forwarded-proto': 'http', 'x-forwarded-prefix': prefix },
      },
      (answer) => {
        response.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(response);
      },
    );
    forwarded.on('error', () => response.writeHead(502).end());
    request.pipe(forwarded);
  });
  server.keepAliveTimeout = 1_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  Object.assign(proxy, { origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}` });
  return proxy;
}
