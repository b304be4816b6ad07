import cluster, { type Worker } from 'node:cluster';
import net from 'node:net';
import type { Logger } from 'pino';
import { ensureAdminToken } from '../access/credentials.js';
import type { Config } from '../config.js';
import { AggregatorRegistry } from 'prom-client';
import { catcherEnv, shareCatcher } from '../delivery/catcher/cluster-catcher.js';
import { shareMetrics } from '../ops/cluster-metrics.js';
import { MailCatcher } from '../delivery/catcher/mail-catcher.js';
import { savedSystemSmtpAddress } from '../settings/mail-settings.js';
import { systemClock } from '../shared/clock.js';
import { ConfigError } from '../shared/config-error.js';
import { migrateWhenFree, openStorageWhenReachable } from '../storage/connect.js';

/** ApiCluster is the primary of several `api` processes sharing one port. */
export interface ApiCluster {
  /** The admin token when this start generated it (print it once), else undefined. */
  readonly generatedAdminToken: string | undefined;
  /** Where the data lives, without credentials. */
  readonly database: string;
  /** The address of the system default saved in System mail settings, used instead of TOCSIN_SMTP_URL or the catcher; undefined when none is. */
  readonly systemSmtpSaved: string | undefined;
  /** The port of the built-in mail catcher the processes share, when no TOCSIN_SMTP_URL is set. */
  readonly mailCatcherPort: number | undefined;
  /** The port the processes listen on: PORT, or the free one chosen for PORT=0. */
  readonly port: number;
  /** The pids of the api processes, in the order they were started. */
  readonly pids: readonly number[];
  /** exited resolves with the exit code the primary should end with: 0 after stop(), 1 when an api process died on its own. */
  readonly exited: Promise<number>;
  /** stop asks every api process to finish its requests in flight and exit (SIGTERM), killing any still running after `graceMs`. */
  stop(): void;
}

/** The signals that stop a process gracefully (serve.ts's listenForStop). */
const STOP_SIGNALS: readonly string[] = ['SIGTERM', 'SIGINT', 'SIGHUP'];

/** How long an api process's exit by a stop signal waits for this primary's own, sent to the whole group. */
const GROUP_SIGNAL_WAIT_MS = 1_000;

/** heard resolves true once `signal` is aborted, or false after `ms` without. */
function heard(signal: AbortSignal | undefined, ms: number): Promise<boolean> {
  if (!signal || signal.aborted || ms === 0) return Promise.resolve(signal?.aborted ?? false);
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', aborted);
      resolve(false);
    }, ms);
    const aborted = () => {
      clearTimeout(timer);
      resolve(true);
    };
    signal.addEventListener('abort', aborted, { once: true });
  });
}

/**
 * startApiCluster runs `config.apiProcesses` copies of this command as `api` processes on one
 * port (node:cluster: this primary accepts the connections and hands them to the processes in
 * turn), so that reading, parsing and validating requests runs on every core. Each process
 * group-commits its own requests; on SQLite the processes take the one write lock in turn
 * (immediate transactions, busy_timeout), so one's disk flush overlaps the others' parsing.
 * Migrations and the admin token are settled here once, before any process starts, so that they
 * do not race a first start. Without TOCSIN_SMTP_URL this primary runs the one built-in mail
 * catcher that every process sends to and reads (cluster-catcher.ts). When one process dies on its
 * own the others are stopped and the primary exits non-zero: the orchestrator restarts the whole,
 * as it would a single process. `signal`, once aborted, ends the wait for the database (a SIGTERM meanwhile).
 */
export async function startApiCluster(config: Config, logger: Logger, graceMs: number, signal?: AbortSignal): Promise<ApiCluster> {
  const storage = await openStorageWhenReachable(config.databaseUrl, { poolSize: 1, setting: config.databaseSetting, logger, signal });
  let generatedAdminToken: string | undefined;
  let systemSmtpSaved: string | undefined;
  try {
    await migrateWhenFree(storage, { setting: config.databaseSetting, logger, signal });
    generatedAdminToken = (await ensureAdminToken(storage.db, config.adminToken, systemClock)).generated;
    // For the banner, which named TOCSIN_SMTP_URL's server (or the catcher) while the saved one took every email.
    systemSmtpSaved = await savedSystemSmtpAddress(storage.db);
  } finally {
    await storage.close();
  }

  // PORT=0: each process would build its links from port 0 (the port is chosen when the first one
  // listens), so one free port is chosen here and given to them all.
  const port = config.port === 0 ? await freePortOn(config.host) : config.port;
  const catcher = config.systemSmtp ? undefined : new MailCatcher();
  const mailCatcherPort = await catcher?.listen(config.mailCatcherPort);

  const aggregator = new AggregatorRegistry();
  const workers: Worker[] = [];
  let stopping = false;
  let code = 0;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    for (const w of workers) if (!w.isDead()) w.process.kill('SIGTERM');
    setTimeout(() => {
      for (const w of workers) if (!w.isDead()) w.process.kill('SIGKILL');
    }, graceMs).unref();
  };
  const started: Promise<void>[] = [];
  const exits: Promise<void>[] = [];
  for (let i = 0; i < config.apiProcesses; i++) {
    const worker = cluster.fork({ TOCSIN_ROLE: 'api', PORT: String(port), ...(mailCatcherPort === undefined ? {} : catcherEnv(mailCatcherPort)) });
    if (catcher) shareCatcher(catcher, worker);
    shareMetrics(aggregator, worker);
    workers.push(worker);
    started.push(
      new Promise<void>((resolve, reject) => {
        worker.once('listening', () => resolve());
        // A process that exits prints why, and the primary says only what it did about it; one killed
        // by a signal (the OOM killer) printed nothing, and its exit code is null.
        worker.once('exit', (exitCode, signal) => {
          const what = exitCode === null ? `was killed by ${signal} before it listened` : `exited with ${exitCode} before it listened (its reason is above)`;
          reject(new ConfigError(`an api process ${what}; the others were stopped`));
        });
      }),
    );
    exits.push(
      new Promise<void>((resolve) => {
        worker.once('exit', (exitCode, killedBy) => {
          // A stop signal sent to the whole group (systemd, Ctrl-C) reaches the api processes with this
          // one, whose own may be heard after their exits: a process stopped by one waits a moment for it.
          const stoppedBySignal = exitCode === 0 || (killedBy !== null && STOP_SIGNALS.includes(killedBy));
          void heard(signal, stoppedBySignal ? GROUP_SIGNAL_WAIT_MS : 0).then((groupStop) => {
            if (!stopping && !groupStop) {
              logger.error({ apiPid: worker.process.pid, code: exitCode, signal: killedBy }, 'an api process exited; stopping the others');
              code = 1;
              stop();
            }
            resolve();
          });
        });
      }),
    );
  }
  const exited = Promise.all(exits).then(async () => {
    await catcher?.close();
    return code;
  });
  // A stop signal while the processes start (the group's, or this one's alone) stops them: the start ends as a stop, not a failure.
  signal?.addEventListener('abort', stop, { once: true });
  try {
    await Promise.all(started);
  } catch (err) {
    stop();
    await exited;
    throw signal?.aborted ? signal.reason : err;
  } finally {
    signal?.removeEventListener('abort', stop);
  }
  return { generatedAdminToken, database: storage.description, systemSmtpSaved, mailCatcherPort, port, pids: workers.map((w) => w.process.pid!), exited, stop };
}

/** freePortOn is a port free on `host` now, for the api processes to listen on together. */
function freePortOn(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once('error', reject);
    probe.listen(0, host, () => {
      const { port } = probe.address() as net.AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}
