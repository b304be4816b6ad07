import http from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * PathProxy is a reverse proxy that serves Tocsins under paths of one host, as nginx's
 * `location /tocsin/ { proxy_pass http://127.0.0.1:8080/; }` does: a request under a prefix goes
 * to its Tocsin without the prefix (or with it, as Traefik's PathPrefix rule without its StripPrefix
 * middleware and Caddy's `handle` send it: `keepPrefix`), the prefix without its slash is sent there by a 301 (but
 * with `keepPrefix`, which forwards it as it is), and any
 * other path is another application's (a 404 here), listed in `outside` so that a test sees what
 * missed the prefixes.
 */
export interface PathProxy {
  /** The proxy's origin, such as http://127.0.0.1:41234 (a Tocsin's public URL is this and its prefix). */
  readonly origin: string;
  /** Where each prefix (`/tocsin`) is forwarded to, such as http://127.0.0.1:8080: set once that Tocsin listens. */
  readonly targets: Map<string, string>;
  /** The paths asked for outside the prefixes, oldest first. */
  readonly outside: string[];
  close(): Promise<void>;
}

/** startPathProxy listens on a free local port and serves each Tocsin of `targets` under its prefix. */
export async function startPathProxy({ keepPrefix = false } = {}): Promise<PathProxy> {
  const targets = new Map<string, string>();
  const outside: string[] = [];
  const server = http.createServer((request, response) => {
    const url = request.url ?? '/';
    const prefix = [...targets.keys()].find((p) => url === p || url.startsWith(`${p}/`) || url.startsWith(`${p}?`));
    if (prefix === undefined) {
      outside.push(url);
      response.writeHead(404, { 'content-type': 'text/plain' }).end('not Tocsin');
      return;
    }
    // nginx's own redirect of a location's path without its slash; Traefik and Caddy's `handle` send it on as it is.
    if (!url.startsWith(`${prefix}/`) && !keepPrefix) {
      response.writeHead(301, { location: `${prefix}/${url.slice(prefix.length)}` }).end();
      return;
    }
    const forwarded = http.request(
      new URL(keepPrefix ? url : url.slice(prefix.length), targets.get(prefix)),
      { method: request.method, headers: { ...request.headers, 'x-forwarded-for': request.socket.remoteAddress ?? '', 'x-forwarded-proto': 'http' } },
      (answer) => {
        response.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(response);
      },
    );
    forwarded.on('error', () => response.writeHead(502).end());
    request.pipe(forwarded);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    targets,
    outside,
    close() {
      server.closeAllConnections();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
