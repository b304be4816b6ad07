/**
 * An older backup restored (README: Backups): the restored database knows nothing of the windows
 * decided after it, so Tocsin decides them again, as after a stop as long: one catch-up summary and
 * one catch-up daily report per reader, never one email per window or per day missed.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { loadConfig } from '../config.js';
import { ADMIN_TOKEN, REPORTS_SOON } from '../../test/support/http.js';
import { type Tocsin, startTocsin } from '../server.js';
import { FakeClock } from '../shared/clock.js';
import { type TestDatabase, copyTestDatabase, createTestDatabase, describeEachDialect } from '../../test/support/storage.js';
import { until } from '../../test/support/until.js';

const DAY = 86_400_000;
// Within the 09:00 window: a scheduler that first looked before the alert at 09:01 (a loaded machine)
// began the tenant's windows at 08:50 when it was created at 08:58, one that looked after it at 09:00.
const CREATED = Date.parse('2026-11-02T09:00:30Z');
const at = (time: string, days = 0) => Date.parse(`2026-11-02T${time}Z`) + days * DAY;
const VIEWERS = ['ana@example.com', 'bo@example.com'];

describeEachDialect('an older backup restored', (dialect) => {
  const databases: TestDatabase[] = [];
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tocsin-restored-'));
  const clock = new FakeClock(CREATED);
  const running = new Set<Tocsin>();

  async function start(database: TestDatabase): Promise<Tocsin> {
    const config = loadConfig({
      DATABASE_URL: database.url,
      TOCSIN_ADMIN_TOKEN: ADMIN_TOKEN,
      TOCSIN_DATA_DIR: dataDir,
      TOCSIN_SMTP_URL: 'smtp://127.0.0.1:1',
      PORT: '0',
      LOG_LEVEL: 'silent',
    });
    const tocsin = await startTocsin(config, { ...REPORTS_SOON, listen: false, clock, logger: pino({ level: 'silent' }) });
    running.add(tocsin);
    return tocsin;
  }
  async function stop(tocsin: Tocsin) {
    running.delete(tocsin);
    await tocsin.close();
  }
  const call = (tocsin: Tocsin, method: 'POST' | 'PUT', url: string, payload: object) =>
    tocsin.app.inject({ method, url: `/api/v1/tenants${url}`, headers: { authorization: `Bearer ${ADMIN_TOKEN}` }, payload });
  const raiseError = async (tocsin: Tocsin, message: string) =>
    expect((await call(tocsin, 'POST', '/restored/alerts', { severity: 'Error', component: 'Jobs', message })).statusCode).toBe(202);
  /** emails lists the reports decided, as `kind recipient window-start`, in order. */
  const emails = async (tocsin: Tocsin) =>
    (
      await tocsin.deps.storage.db
        .selectFrom('deliveries')
        .select(['kind', 'recipient_address', 'window_start'])
        .where('kind', 'in', ['summary', 'daily'])
        .execute()
    )
      .map((d) => `${d.kind} ${d.recipient_address} ${new Date(Number(d.window_start)).toISOString()}`)
      .sort();
  /** decideAt sets the clock past a window's end and waits for `count` reports in all. */
  const decideAt = async (tocsin: Tocsin, time: number, count: number) => {
    clock.set(time + 1_500);
    await until(async () => (await emails(tocsin)).length >= count, `${count} reports decided`);
  };

  beforeAll(async () => {
    databases.push(await createTestDatabase(dialect, { migrated: true }));
  });
  afterAll(async () => {
    for (const tocsin of running) await tocsin.close();
    for (const database of databases) await database.drop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('sends each reader one catch-up summary and one catch-up daily report, days after, not one per window or day the backup missed', async () => {
    const [installed] = databases;
    let tocsin = await start(installed!);
    await call(tocsin, 'POST', '', { name: 'restored' });
    await call(tocsin, 'PUT', '/restored/settings/mail', { alertsEmailEnabled: true });
    for (const email of VIEWERS) await call(tocsin, 'POST', '/restored/users', { email, name: email, roles: ['Alerts Viewer'] });
    clock.set(at('09:01:00'));
    await raiseError(tocsin, 'reported before the backup');
    await decideAt(tocsin, at('09:10:00'), 2);
    clock.set(at('09:12:00'));
    await raiseError(tocsin, 'in the backup, reported after it');

    // The backup, then the installation goes on: the 09:10 window and the day's report are sent.
    await stop(tocsin);
    const backup = await copyTestDatabase(installed!);
    databases.push(backup);
    tocsin = await start(installed!);
    await decideAt(tocsin, at('10:00:00'), 6);
    await stop(tocsin);

    // Three days later the backup is restored and Tocsin started on it.
    tocsin = await start(backup);
    await decideAt(tocsin, at('11:00:00', 3), 6);
    // The scheduler has looked again since: nothing more is due until the next window ends.
    await tocsin.reportsTicked();
    await tocsin.reportsTicked();
    expect(await emails(tocsin)).toEqual(
      VIEWERS.flatMap((viewer) => [
        `daily ${viewer} 2026-11-01T10:00:00.000Z`,
        `summary ${viewer} 2026-11-02T09:00:00.000Z`,
        `summary ${viewer} 2026-11-02T09:10:00.000Z`,
      ]).sort(),
    );
    await stop(tocsin);
  }, 60_000);
});
