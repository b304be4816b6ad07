/**
 * The ingestion benchmarks' load generator: keep-alive HTTP/1.1 POSTs of prepared bodies through
 * node:http, one socket per concurrent client. It is what robots do, at a fraction of fetch's CPU:
 * on a 2-core machine the generator's thread shares the cores with the server it measures, so
 * every CPU-µs it spends per request is taken from the server under test (Tocsin or Alertmanager
 * alike) and its queue adds to each request's latency.
 */
import http from 'node:http';

/** PostClient posts a body to one URL and resolves with the status and the milliseconds it took. */
export interface PostClient {
  post(body: string): Promise<{ status: number; ms: number }>;
  close(): void;
}

/** postClient opens a keep-alive client for `url` with at most `sockets` connections and fixed headers. */
export function postClient(url: string, sockets: number, headers: Record<string, string>): PostClient {
  const agent = new http.Agent({ keepAlive: true, maxSockets: sockets });
  const target = new URL(url);
  return {
    post: (body) =>
      new Promise((resolve, reject) => {
        const started = performance.now();
        const req = http.request(
          target,
          { method: 'POST', agent, headers: { ...headers, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } },
          (res) => {
            res.on('data', () => {});
            res.on('end', () => resolve({ status: res.statusCode ?? 0, ms: performance.now() - started }));
            res.on('error', reject);
          },
        );
        req.on('error', reject);
        req.end(body);
      }),
    close: () => agent.destroy(),
  };
}
