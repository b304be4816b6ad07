import http from 'node:http';
import { Registry } from 'prom-client';
import { UNAVAILABLE_RETRY_AFTER_SECONDS, problemTypeFor, titleFor } from '../http/problem.js';
import { type NotReadyCause, readinessGauges } from './readiness.js';

/**
 * NotReady is why a starting process is not ready, as /readyz says it: the database cannot be used
 * (`reason`), or its migrations are being applied (`pending`, the shapes of the app's own /readyz 503).
 */
export type NotReady =
  | { readonly status: 'unavailable'; readonly reason: string; readonly cause: NotReadyCause }
  | { readonly status: 'migrating'; readonly pending: readonly string[] };

/** StartupProbe is the stand-in listener of a process still waiting for its database or its migrations. */
export interface StartupProbe {
  /** The port it listens on (the configured one, or the one chosen for port 0). */
  readonly port: number;
  /** The listener, which takes over the connections that arrived while the port was held. */
  readonly server: http.Server;
  /** setState changes why the process is not ready yet. */
  setState(state: NotReady): void;
  close(): Promise<void>;
}

/**
 * listenStartupProbe answers on the process's own port while it cannot reach its database or applies
 * its migrations (or waits for another process applying them), so an orchestrator sees it alive
 * (/healthz 200) but not ready (/readyz 503 with the reason or the pending migrations, /metrics
 * tocsin_ready 0 with the cause) instead of a crash loop or a port that refuses connections; any other request is a 503 problem document asking
 * to come back. The real app takes the port over once the database is ready.
 */
export async function listenStartupProbe(port: number, host: string, state: NotReady): Promise<StartupProbe> {
  let current = state;
  // Prometheus reads why too: a start waiting on a full disk showed only as a failed scrape.
  const metrics = new Registry();
  readinessGauges(metrics, async () => (current.status === 'migrating' ? 'migrating' : current.cause));
  const server = http.createServer((request, response) => {
    const path = (request.url ?? '/').split('?')[0];
    if (path === '/healthz') return answer(response, 200, 'application/json', { status: 'ok' });
    if (path === '/readyz') return answer(response, 503, 'application/json', readyzAnswer(current));
    if (path === '/metrics') {
      // The gauges read the state and never fail.
      void metrics.metrics().then((text) => send(response, 200, metrics.contentType, text));
      return;
    }
    response.setHeader('retry-after', String(UNAVAILABLE_RETRY_AFTER_SECONDS));
    answer(response, 503, 'application/problem+json', {
      // The API's own problem type, as the app's 503 names it once it serves.
      type: problemTypeFor(503),
      title: titleFor(503),
      status: 503,
      detail:
        current.status === 'migrating'
          ? `Tocsin is starting and applying its database migrations (${current.pending.length} pending).`
          : `Tocsin is starting and waiting for its database: ${current.reason}.`,
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const address = server.address();
  return {
    port: typeof address === 'object' && address ? address.port : port,
    server,
    setState: (next) => {
      current = next;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

// `connection: close`: the stand-in goes away when the real app takes the port, so a client must
// not keep a connection to it (its next request would meet a closed socket).
function answer(response: http.ServerResponse, status: number, type: string, body: object): void {
  send(response, status, type, JSON.stringify(body));
}

function send(response: http.ServerResponse, status: number, type: string, text: string): void {
  response.writeHead(status, { 'content-type': type, 'cache-control': 'no-store', connection: 'close' });
  response.end(text);
}

/** readyzAnswer is what the app's /readyz would answer in this state: its reason, not its cause (a /metrics label). */
function readyzAnswer(state: NotReady): object {
  if (state.status === 'migrating') return state;
  return { status: state.status, reason: state.reason };
}
