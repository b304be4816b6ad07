/**
 * A Fatal alert's email waits for its server's replies with the event loop idle: the SQLite idle
 * upkeep (V8's scavenge, the WAL's checkpoint), due 20 ms after the last commit, took that for an
 * idle moment and ran while the email was at its server, whose replies were then read only once
 * it was done (15-57 ms of scavenge inside a send at load 20). The process's worker tells the
 * upkeep of its urgent sends, so that it waits for their servers' answers.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { type ListeningApp, startListeningApp } from '../../../test/support/http.js';
import { type TestSmtpServer, startTestSmtpServer } from '../../../test/support/smtp-servers.js';
import { until } from '../../../test/support/until.js';
import { IdleUpkeep } from '../../storage/idle-upkeep.js';

// SQLite only: PostgreSQL checkpoints on its server, and its storage has no idle upkeep.
describe('the idle upkeep of a process sending a Fatal alert’s email (SQLite)', () => {
  let server: TestSmtpServer;
  let app: ListeningApp;
  let pressing: (() => boolean) | undefined;
  beforeAll(async () => {
    const waitWhile = IdleUpkeep.prototype.waitWhile;
    vi.spyOn(IdleUpkeep.prototype, 'waitWhile').mockImplementation(function (this: IdleUpkeep, given) {
      pressing = given;
      waitWhile.call(this, given);
    });
    server = await startTestSmtpServer();
    app = await startListeningApp('sqlite', `smtp://127.0.0.1:${server.port}?from=alerts@example.com`);
  });
  afterAll(async () => {
    vi.restoreAllMocks();
    await app?.close();
    await server?.close();
  });

  it('waits while the email is at its server, and no longer once the server has answered', async () => {
    await app.api('POST', '', { name: 'oncall', timeZone: 'UTC' });
    await app.api('PUT', '/oncall/settings/mail', { alertsEmailEnabled: true, useCustom: false });
    const { id } = await app.api('POST', '/oncall/users', { email: 'on-call@oncall.example', name: 'On call', roles: ['Alerts Viewer'] });
    await app.api('PUT', `/oncall/users/${id}/alert-preferences`, { email: { fatalImmediately: true, tenMinuteSummary: false, dailyReport: false } });
    expect(pressing?.()).toBe(false);

    server.holdReplies();
    const raised = app.api('POST', '/oncall/alerts', { severity: 'Fatal', component: 'Robots', message: 'robot 7 died' });
    // The message is at the server, its 250 held back: the send is under way.
    await server.waitForHeld(1, 10_000);
    expect(pressing?.()).toBe(true);

    server.releaseReplies();
    await raised;
    await until(async () => (await app.api('GET', '/oncall/deliveries?kind=immediate')).items[0]?.status === 'sent', 'the Fatal email recorded as sent');
    expect(pressing?.()).toBe(false);
  });
});
