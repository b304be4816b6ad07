import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../config.js';
import { startTocsin } from '../../server.js';
import { createLogger } from '../logger.js';
import { WarmUpSink } from './sink.js';

/** WarmUpOptions bound the warm-up: how many Fatal alerts at most, for how long at most, and a stop signal that ends it early. */
export interface WarmUpOptions {
  readonly alerts: number;
  readonly budgetMs: number;
  readonly signal?: AbortSignal;
}

/** WarmUpResult says how many alerts went through, each with its email taken by the sink. */
export interface WarmUpResult {
  readonly alerts: number;
}

const TENANT = 'warm-up';

/**
 * warmFatalPath runs a start's first Fatal alerts through the real path on a scratch server of its
 * own, before the real one starts: the same modules, on an SQLite database in a temporary folder,
 * with its system SMTP an in-process sink on loopback. Each alert is posted over HTTP on loopback
 * (the route's parse and validation), committed with its immediate email decided in the commit,
 * rendered and sent through nodemailer's pool to the sink, one at a time as a robot's would. V8
 * optimises a function after hundreds of calls: a fresh server's first hundreds of Fatal alerts
 * cost 3-6 CPU-ms more each than its thousandth (bench/hot-paths.md, rv75a), spread over the whole
 * path, which only a real write and a real connection run. The scratch server, its database
 * folder and the sink are gone when it resolves; the real server's database, metrics and log are
 * never touched (its logger is silent). Its database is SQLite whatever the real server's is: a
 * PostgreSQL server's driver and SQL compiler stay cold, the rest of the path is warmed.
 */
export async function warmFatalPath(options: WarmUpOptions): Promise<WarmUpResult> {
  const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'tocsin-warm-up-'));
  const sink = new WarmUpSink();
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  try {
    const smtpPort = await sink.listen();
    const admin = `warm-up-${crypto.randomBytes(16).toString('hex')}`;
    const config = loadConfig({
      DATABASE_URL: `sqlite:${path.join(folder, 'warm-up.db')}`,
      TOCSIN_DATA_DIR: folder,
      PORT: '0',
      HOST: '127.0.0.1',
      TOCSIN_ROLE: 'all',
      TOCSIN_ADMIN_TOKEN: admin,
      TOCSIN_SECRET_KEY: crypto.randomBytes(32).toString('hex'),
      TOCSIN_SMTP_URL: `smtp://127.0.0.1:${smtpPort}?from=tocsin@warm-up.invalid`,
      // No summary window closes during the warm-up.
      TOCSIN_SUMMARY_INTERVAL_SECONDS: '86400',
    });
    const scratch = await startTocsin(config, { logger: createLogger('silent'), mailCatcher: false });
    try {
      const robot = await provision(scratch.app, admin);
      const url = new URL(`${scratch.url}/api/v1/tenants/${TENANT}/alerts`);
      const ends = Date.now() + options.budgetMs;
      let sent = 0;
      while (sent < options.alerts && Date.now() < ends && !options.signal?.aborted) {
        await post(agent, url, robot, fatalAlert(sent));
        sent++;
        await sink.accepted(sent);
      }
      return { alerts: sent };
    } finally {
      agent.destroy();
      await scratch.close();
    }
  } finally {
    await sink.close();
    fs.rmSync(folder, { recursive: true, force: true });
  }
}

/** fatalAlert is the warm-up's alert number i, shaped as a robot's. */
function fatalAlert(i: number): unknown {
  return {
    severity: 'Fatal',
    component: 'Robots',
    event: 'Robot.StatusChanged.NotResponding',
    message: `Robot R${i % 50} is not responding (warm-up ${i})`,
    source: { robot: `R${i % 50}`, process: `Process ${i % 7}` },
  };
}

type Injector = Awaited<ReturnType<typeof startTocsin>>['app'];

/** provision makes the scratch tenant: alert emails on, one operator who asked for Fatal alerts at once, and a robot's token. */
async function provision(app: Injector, admin: string): Promise<string> {
  const call = async (method: 'POST' | 'PUT', url: string, payload: unknown) => {
    const res = await app.inject({ method, url, headers: { authorization: `Bearer ${admin}` }, payload: payload as object });
    if (res.statusCode >= 300) throw new Error(`warm-up: ${method} ${url}: ${res.statusCode} ${res.body}`);
    return res.json() as { id: string; token: string };
  };
  const t = `/api/v1/tenants/${TENANT}`;
  await call('POST', '/api/v1/tenants', { name: TENANT });
  await call('PUT', `${t}/settings/mail`, { alertsEmailEnabled: true, useCustom: false });
  const operator = await call('POST', `${t}/users`, { email: `ops@${TENANT}.invalid`, name: 'Operator', roles: ['Alerts Viewer'] });
  await call('PUT', `${t}/users/${operator.id}/alert-preferences`, { email: { fatalImmediately: true } });
  const robot = await call('POST', `${t}/users`, { email: `robot@${TENANT}.invalid`, name: 'Robot', roles: ['Robot'] });
  return (await call('POST', `${t}/users/${robot.id}/tokens`, { name: 'warm-up' })).token;
}

/** post sends one alert over HTTP on loopback and waits for its answer, failing on any status but 2xx. */
function post(agent: http.Agent, url: URL, token: string, body: unknown): Promise<void> {
  const payload = JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = http.request(
      url,
      {
        method: 'POST',
        agent,
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) },
      },
      (res) => {
        res.resume();
        res.on('end', () => ((res.statusCode ?? 500) < 300 ? resolve() : reject(new Error(`warm-up: POST alert: ${res.statusCode}`))));
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}
