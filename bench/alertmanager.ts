/**
 * Prometheus Alertmanager, the system operations teams would otherwise run, started as a plain
 * process on loopback with clustering off, a temporary storage folder and a config written here.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { startProcess, tempDir, waitUntil, freePort } from './lifecycle.js';

const BINARY = '/usr/bin/prometheus-alertmanager';

/** AlertmanagerRoute: where the alerts of a scenario go. */
export interface AlertmanagerRoute {
  /** The sink's port, or undefined for a receiver that sends nothing (ingestion alone). */
  readonly smtpPort: number | undefined;
  /** `['...']` makes every distinct label set a group of its own: one email per alert. */
  readonly groupBy: readonly string[];
}

/** Alertmanager is a running instance. */
export interface Alertmanager {
  readonly url: string;
  readonly version: string;
  readonly pid: number;
  stop(): Promise<void>;
}

/**
 * ensureAlertmanager installs the Debian package when it is missing (under the shared apt lock)
 * and returns its version line.
 */
export function ensureAlertmanager(): string {
  if (!fs.existsSync(BINARY)) {
    process.stderr.write('bench: installing prometheus-alertmanager with apt-get…\n');
    execFileSync('flock', ['/tmp/tocsin-apt.lock', 'apt-get', 'install', '-y', '--no-install-recommends', 'prometheus-alertmanager'], {
      stdio: ['ignore', 'ignore', 'inherit'],
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    });
  }
  const out = execFileSync(BINARY, ['--version'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  return /version (\S+)/.exec(out)?.[1] ?? out.split('\n')[0]!;
}

/**
 * alertmanagerConfig is the YAML for one scenario: `group_wait: 0s` so a new group is notified at
 * once, one email receiver to the sink without TLS, and nothing resent during a run.
 */
export function alertmanagerConfig(route: AlertmanagerRoute): string {
  const groupBy = `[${route.groupBy.map((l) => `'${l}'`).join(', ')}]`;
  const lines = [
    'global:',
    ...(route.smtpPort === undefined
      ? []
      : [
          `  smtp_smarthost: '127.0.0.1:${route.smtpPort}'`,
          "  smtp_from: 'alertmanager@bench.example.com'",
          "  smtp_hello: 'localhost'",
          '  smtp_require_tls: false',
        ]),
    'route:',
    `  receiver: ${route.smtpPort === undefined ? 'nowhere' : 'email'}`,
    `  group_by: ${groupBy}`,
    '  group_wait: 0s',
    '  group_interval: 5m',
    '  repeat_interval: 24h',
    'receivers:',
    ...(route.smtpPort === undefined
      ? ['  - name: nowhere']
      : ['  - name: email', '    email_configs:', "      - to: 'ops@bench.example.com'", '        send_resolved: false', '        require_tls: false']),
  ];
  return `${lines.join('\n')}\n`;
}

/** startAlertmanager starts one instance for `route` and waits until it is ready. */
export async function startAlertmanager(route: AlertmanagerRoute): Promise<Alertmanager> {
  const version = ensureAlertmanager();
  const dir = tempDir('alertmanager');
  const config = path.join(dir, 'alertmanager.yml');
  fs.writeFileSync(config, alertmanagerConfig(route));
  const port = await freePort();
  const { child, stop } = startProcess(
    'alertmanager',
    BINARY,
    [
      `--config.file=${config}`,
      `--storage.path=${path.join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--cluster.listen-address=',
      '--log.level=warn',
    ],
    { graceMs: 3_000 },
  );
  const url = `http://127.0.0.1:${port}`;
  await waitUntil(
    'Alertmanager to be ready',
    async () => {
      if (child.exitCode !== null) throw new Error(`alertmanager exited with ${child.exitCode}`);
      return fetch(`${url}/-/ready`).then(
        (r) => r.ok,
        () => false,
      );
    },
    20_000,
    50,
  );
  return { url, version, pid: child.pid!, stop };
}

/** amAlert is one Alertmanager alert whose label set is distinct for each `n`. */
export function amAlert(n: number, severity = 'critical', run = 'r'): object {
  return {
    labels: { alertname: 'JobFaulted', severity, instance: `robot-${n % 200}`, job: `job-${run}-${n}`, process: 'Invoices' },
    annotations: { summary: `Job ${n} of process Invoices faulted: System.Exception: the remote server returned 503` },
  };
}
