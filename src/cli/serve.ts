import cluster from 'node:cluster';
import type { Logger } from 'pino';
import { type Config, httpOrigin, loadConfig } from '../config.js';
import { ConfigError } from '../shared/config-error.js';
import { createLogger } from '../ops/logger.js';
import { startTocsin } from '../server.js';
import { displaySmtpUrl } from '../shared/redact.js';
import { metricsFromPrimary } from '../ops/cluster-metrics.js';
import { type ApiCluster, startApiCluster } from './api-cluster.js';
import { servingHeap } from './heap.js';
import { SERVE_ARGUMENTS, parseCommandArgs } from './arguments.js';
import { type StopSignals, listenForStop } from './stop-signals.js';
import { primaryCatcherOf } from '../delivery/catcher/cluster-catcher.js';
import { catcherSmtpUrl } from '../settings/smtp-settings.js';

/** How long a SIGTERM waits for in-flight work before the process exits anyway. */
const SHUTDOWN_GRACE_MS = 15_000;

/**
 * serveCommand runs Tocsin until SIGTERM, SIGINT or SIGHUP, then shuts down gracefully. With
 * `--processes N` (or TOCSIN_API_PROCESSES) and the api role it runs N api processes on one port.
 * `stop` hears the stop signals: main.ts starts listening before this module loads.
 */
export async function serveCommand(args: string[], stop: StopSignals = listenForStop()): Promise<number> {
  const parsed = parseCommandArgs(SERVE_ARGUMENTS, args, process.env);
  if (parsed.refusal !== undefined) {
    process.stderr.write(parsed.refusal);
    return 2;
  }
  const { values } = parsed;
  const env = { ...process.env };
  if (values.role) env.TOCSIN_ROLE = values.role;
  if (values.processes) env.TOCSIN_API_PROCESSES = values.processes;
  const config = loadConfig(env);
  if (config.apiProcesses > 1 && config.role !== 'api') {
    // Named as the operator set it: the option, or the variable alone (no --processes was typed).
    const setting = values.processes ? '--processes (TOCSIN_API_PROCESSES)' : 'TOCSIN_API_PROCESSES';
    throw new ConfigError(`invalid configuration:\n  ${setting}: several processes on one port are for the api role only (TOCSIN_ROLE=api or --role api)`);
  }
  // Stopped while its modules loaded: there is nothing to finish, so nothing is started (an api
  // process of several lets go of its channel to the primary, which would keep it alive). Node 22 and
  // later load those modules without a turn of the event loop, which is where a signal that came
  // meanwhile reaches listenForStop's handler: one turn first, or the service started regardless.
  await new Promise((resolve) => setImmediate(resolve));
  if (stop.signal.aborted) {
    cluster.worker?.disconnect();
    return 0;
  }
  servingHeap(config.role, config.leanHeap);
  if (config.apiProcesses > 1 && cluster.isPrimary) return serveCluster(config, stop);

  const log = createLogger(config.logLevel);
  // Before the real server starts, so that its first Fatal alerts run code V8 has compiled; a worker
  // takes no alert (its claim path is not what the warm-up runs).
  if (config.warmUpAlerts > 0 && config.role !== 'worker') await warmUp(config.warmUpAlerts, stop.signal, log);
  // One of several api processes sends to and reads its primary's catcher rather than run its own.
  const primaryCatcher = cluster.isWorker ? primaryCatcherOf(process.env) : undefined;
  const tocsin = await startTocsin(config, {
    logger: log,
    signal: stop.signal,
    ...(primaryCatcher ? { mailCatcher: primaryCatcher } : {}),
    // It answers /metrics with every api process's counts, which its primary gathers, not its own share.
    ...(cluster.isWorker ? { wholeMetrics: metricsFromPrimary } : {}),
  }).catch(async (err: unknown) => {
    if (await stoppedWaiting(err, stop, log)) return undefined;
    // An api process that cannot start (its port taken) lets go of its channel to the primary, which
    // would keep it alive: it exits, and the primary stops the others and exits too.
    cluster.worker?.disconnect();
    throw err;
  });
  if (tocsin) {
    log.info(
      { url: tocsin.url, database: tocsin.deps.storage.description, smtp: tocsin.systemSmtpSaved ?? displaySmtpUrl(tocsin.systemSmtpUrl), role: config.role },
      'tocsin is serving',
    );
    // One of several api processes: the primary prints the banner once for all.
    if (cluster.isPrimary) {
      process.stdout.write(
        banner(config, {
          url: `${tocsin.url}/`,
          database: tocsin.deps.storage.description,
          smtp: shownSystemSmtp(tocsin.systemSmtpUrl, tocsin.deps.mailCatcher !== undefined, tocsin.systemSmtpSaved),
          mailCatcherPage: tocsin.deps.mailCatcher && config.role !== 'worker' ? `${tocsin.url}/#/host/catcher` : undefined,
          generatedAdminToken: tocsin.generatedAdminToken,
        }),
      );
    }
    log.info({ signal: await stop.received }, 'shutting down');
    // One of several api processes hears a Ctrl-C twice by design (the terminal's, then its primary's
    // SIGTERM): only a process on its own says that a signal came again.
    if (!cluster.isWorker) {
      stop.onRepeat((signal) =>
        log.warn(
          { signal },
          `already stopping: finishing what is in flight (at most ${SHUTDOWN_GRACE_MS / 1000} s) so that no email is sent twice; SIGKILL stops at once`,
        ),
      );
    }
    const force = setTimeout(() => {
      log.error('shutdown took too long; exiting');
      process.exit(1);
    }, SHUTDOWN_GRACE_MS);
    force.unref();
    await tocsin.close().catch((err: unknown) => log.error({ err }, 'error while shutting down'));
    // The close ended in time: the bound must not outlive it where the process goes on (serveCommand
    // called in a process that has more to do, as a test runner's).
    clearTimeout(force);
  }
  // An api process of several: its channel to the primary would keep it alive.
  cluster.worker?.disconnect();
  return 0;
}

/** WARM_UP_BUDGET_MS bounds the warm-up: on a loaded machine its alerts stop there, the start goes on. */
const WARM_UP_BUDGET_MS = 30_000;

/** warmUp runs the Fatal path's warm-up (TOCSIN_WARM_UP_ALERTS); a failure of it is said and the start goes on, as without it. */
async function warmUp(alerts: number, signal: AbortSignal, log: Logger): Promise<void> {
  // Loaded only where asked for: a start without it keeps the module out of its memory.
  const { warmFatalPath } = await import('../ops/warm-up/fatal-path.js');
  const began = performance.now();
  try {
    const done = await warmFatalPath({ alerts, budgetMs: WARM_UP_BUDGET_MS, signal });
    log.debug({ alerts: done.alerts, ms: Math.round(performance.now() - began) }, 'warmed the Fatal path up');
  } catch (err) {
    log.warn({ err }, 'the warm-up of the Fatal path failed; starting without it');
  }
}

/**
 * stoppedWaiting tells whether a start failed because a stop signal ended its wait for the database
 * (the start closed what it had opened, and stopping is what was asked), and logs so.
 */
async function stoppedWaiting(err: unknown, stop: StopSignals, log: Logger): Promise<boolean> {
  if (!stop.signal.aborted || (err as Error | undefined)?.name !== 'AbortError') return false;
  log.info({ signal: await stop.received }, 'stopped waiting for the database; exiting');
  return true;
}

/** serveCluster runs the api processes and passes SIGTERM, SIGINT or SIGHUP on to them. */
async function serveCluster(config: Config, stop: StopSignals): Promise<number> {
  const log = createLogger(config.logLevel);
  let api: ApiCluster;
  try {
    api = await startApiCluster(config, log, SHUTDOWN_GRACE_MS, stop.signal);
  } catch (err) {
    if (await stoppedWaiting(err, stop, log)) return 0;
    throw err;
  }
  const url = httpOrigin(config.host, api.port);
  log.info({ url, processes: api.pids.length, pids: api.pids, role: config.role }, 'tocsin is serving');
  process.stdout.write(
    banner(config, {
      url: `${url}/ (${api.pids.length} api processes)`,
      database: api.database,
      smtp: shownSystemSmtp(config.systemSmtp ? config.systemSmtp.url : catcherSmtpUrl(api.mailCatcherPort!), !config.systemSmtp, api.systemSmtpSaved),
      mailCatcherPage: config.systemSmtp ? undefined : `${url}/#/host/catcher`,
      generatedAdminToken: api.generatedAdminToken,
    }),
  );
  void stop.received.then((signal) => {
    log.info({ signal }, 'shutting down');
    api.stop();
  });
  return api.exited;
}

/**
 * shownSystemSmtp is the banner's System SMTP: TOCSIN_SMTP_URL's server or the built-in catcher, or,
 * when a host administrator saved one in System mail settings, that one, which every email goes through.
 */
export function shownSystemSmtp(url: string, catcher: boolean, saved: string | undefined): string {
  const configured = `${catcher ? 'built-in mail catcher at ' : ''}${displaySmtpUrl(url)}`;
  return saved ? `${saved}, saved in System mail settings (used instead of ${catcher ? 'the ' : 'TOCSIN_SMTP_URL '}${configured})` : configured;
}

/** banner is what `tocsin serve` prints once serving: where, on what, and the admin token generated on first start (or whence the one kept comes). */
export function banner(
  config: Config,
  shown: { url: string; database: string; smtp: string; generatedAdminToken: string | undefined; mailCatcherPage?: string | undefined },
): string {
  // A worker's URL answers only its probes: one opened in a browser would be a 404 with no word why.
  const served = config.role === 'worker' ? ' (worker: /healthz, /readyz and /metrics only; the console is on the api processes)' : '';
  const lines = [
    '',
    `  Tocsin is running: ${shown.url}${served}`,
    `  Database:          ${shown.database}`,
    `  System SMTP:       ${shown.smtp}`,
    // The catcher's SMTP address says where emails go, not where a person reads them.
    ...(shown.mailCatcherPage
      ? [`  Caught emails:     ${shown.mailCatcherPage} (signed in with the admin token), or GET /api/v1/system/mail-catcher/messages`]
      : []),
    shown.generatedAdminToken
      ? `  Admin token:       ${shown.generatedAdminToken}\n                     (shown once; set TOCSIN_ADMIN_TOKEN to choose your own)`
      : `  Admin token:       ${config.adminToken ? 'from TOCSIN_ADMIN_TOKEN' : 'kept from an earlier start: the one generated then, or TOCSIN_ADMIN_TOKEN as it was then (set TOCSIN_ADMIN_TOKEN to replace it)'}`,
    '',
  ];
  return `${lines.join('\n')}\n`;
}
