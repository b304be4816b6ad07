import { describe, expect, it } from 'vitest';
import { normaliseAlert } from '../../alerts/input.js';
import {
  LEASE_MS,
  MAX_BACKOFF_MS,
  OVERLAP_MS,
  type UpstreamAlert,
  afterPoll,
  alertsUrl,
  backoffMs,
  claimable,
  claimed,
  deliveryKey,
  initialState,
  readAlertsPage,
  readState,
  retryAfterMs,
  toAlertInput,
} from './odata.js';

// Shaped like the documented AlertDto (reference sources.md §2): Data is a JSON string.
const FAULTED: UpstreamAlert = {
  Id: '7c1e8d4a-54b3-4f8e-9a51-0f5c1a3b2d10',
  NotificationName: 'Process.JobExecution.Faulted',
  Component: 'Jobs',
  Severity: 'Error',
  CreationTime: '2026-03-01T08:15:30.1234567Z',
  Data: JSON.stringify({ ProcessName: 'Invoices', RobotName: 'robot-7', JobKey: 'b1a5', FolderName: 'Finance', ErrorMessage: 'Invoice portal timed out' }),
  DeepLinkRelativeUrl: '/jobs?fid=4&jobKey=b1a5',
};

describe('pull connector decisions', () => {
  it('asks for the page after the cursor minus the overlap, oldest first, ids breaking ties', () => {
    const url = new URL(alertsUrl('https://orch.example.com/', Date.parse('2026-03-01T08:00:00Z'), 1000, Date.parse('2026-03-01T07:00:00Z')));
    expect(url.pathname).toBe('/odata/Alerts');
    expect(url.searchParams.get('$filter')).toBe(`CreationTime gt ${new Date(Date.parse('2026-03-01T08:00:00Z') - OVERLAP_MS).toISOString()}`);
    expect(url.searchParams.get('$orderby')).toBe('CreationTime asc,Id asc');
    expect(url.searchParams.get('$top')).toBe('1000');
    expect(url.searchParams.get('$skip')).toBe('1000');
    expect(alertsUrl('https://cloud.uipath.com/org/tenant/orchestrator_', 0, 0, 0)).toMatch(
      /^https:\/\/cloud\.uipath\.com\/org\/tenant\/orchestrator_\/odata\/Alerts\?/,
    );
  });

  it("never reaches back before the source's since, which it includes", () => {
    const since = Date.parse('2026-03-01T08:00:00Z');
    const filter = (cursor: number) => new URL(alertsUrl('https://orch.example.com', cursor, 0, since)).searchParams.get('$filter');
    expect(filter(since)).toBe('CreationTime ge 2026-03-01T08:00:00.000Z');
    expect(filter(since + OVERLAP_MS - 1)).toBe('CreationTime ge 2026-03-01T08:00:00.000Z');
    expect(filter(since + OVERLAP_MS + 1)).toBe('CreationTime gt 2026-03-01T08:00:00.001Z');
    // The overlap reaching back exactly to since: since itself is still included.
    expect(filter(since + OVERLAP_MS)).toBe('CreationTime ge 2026-03-01T08:00:00.000Z');
  });

  it('goes on with a backlog from the cursor itself, alerts created at it included, never before since', () => {
    const since = Date.parse('2026-03-01T08:00:00Z');
    const continuing = (cursor: number) => new URL(alertsUrl('https://orch.example.com', cursor, 0, since, true)).searchParams.get('$filter');
    expect(continuing(since + 3_600_000)).toBe('CreationTime ge 2026-03-01T09:00:00.000Z');
    expect(continuing(since - 3_600_000)).toBe('CreationTime ge 2026-03-01T08:00:00.000Z');
  });

  it('maps an AlertDto: message, process, robot, job and folder from Data, the rest from its fields', () => {
    expect(toAlertInput(FAULTED)).toEqual({
      severity: 'Error',
      component: 'Jobs',
      event: 'Process.JobExecution.Faulted',
      message: 'Invoice portal timed out',
      data: { ...JSON.parse(FAULTED.Data!), upstreamId: FAULTED.Id, deepLink: FAULTED.DeepLinkRelativeUrl },
      source: { process: 'Invoices', robot: 'robot-7', job: 'b1a5' },
      folder: 'Finance',
      occurredAt: '2026-03-01T08:15:30.123Z',
    });
  });

  it("reads Data's keys in any case: camelCase (processName, errorMessage, folderName) as PascalCase", () => {
    const camel = JSON.stringify({
      processName: 'Invoices',
      robotName: 'robot-7',
      jobKey: 'b1a5',
      folderName: 'Finance',
      errorMessage: 'Invoice portal timed out',
    });
    expect(toAlertInput({ ...FAULTED, Data: camel })).toMatchObject({
      message: 'Invoice portal timed out',
      source: { process: 'Invoices', robot: 'robot-7', job: 'b1a5' },
      folder: 'Finance',
    });
  });

  it('falls back to the notification name for the message, Info for an unknown severity and Process for an unknown component', () => {
    const bare = toAlertInput({ ...FAULTED, Data: null, Severity: 'Loud', Component: 'Quantum', NotificationName: 'Robot.StatusChanged.Offline' });
    expect(bare).toMatchObject({ message: 'Robot.StatusChanged.Offline', severity: 'Info', component: 'Process', data: { upstreamId: FAULTED.Id } });
    expect(toAlertInput({ ...FAULTED, Data: 'not json' })!.message).toBe('not json');
    expect(toAlertInput({ ...FAULTED, Data: JSON.stringify({ Message: 'Robot went offline' }) })!.message).toBe('Robot went offline');
    const huge = toAlertInput({ ...FAULTED, Data: JSON.stringify({ Message: 'big', Stack: 'x'.repeat(40_000) }) });
    expect(JSON.stringify(huge!.data).length).toBeLessThan(16 * 1024);
  });

  it("cuts an upstream Data too big to keep within the alert's 16 KiB of UTF-8 in any script, never inside a character", () => {
    // A Japanese stack trace, emoji, quotes (each one escaped in the stored JSON): cut to 8,192 UTF-16 units, such
    // a Data was up to 24 KiB, over the bound the alert is then checked against, and the alert was skipped.
    const lone = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
    for (const filler of ['x', 'あ', '🚨', '"']) {
      const input = toAlertInput({ ...FAULTED, Data: JSON.stringify({ Message: 'bigs', Stack: filler.repeat(40_000) }) })!;
      expect(Buffer.byteLength(JSON.stringify(input.data)), filler).toBeLessThanOrEqual(16 * 1024);
      const kept = (input.data as { dataTruncated: string }).dataTruncated;
      expect(kept.length, filler).toBeGreaterThan(1_000);
      expect(lone.test(kept), filler).toBe(false);
    }
  });

  it('keeps within the 16 KiB of data an alert whose Id or deep link is longer than that, rather than skip it', () => {
    // Copied whole beside Data, they made data too large whatever Data was cut to: the alert
    // failed its check and was skipped for good (its key stored), never imported.
    const long = { ...FAULTED, Id: `id-${'i'.repeat(20_000)}`, DeepLinkRelativeUrl: `/jobs?q=${'q'.repeat(20_000)}` };
    for (const alert of [long, { ...long, Data: JSON.stringify({ Message: 'big', Stack: 'x'.repeat(40_000) }) }]) {
      const input = toAlertInput(alert)!;
      expect(normaliseAlert(input)).not.toHaveProperty('errors');
      expect(input.data).toMatchObject({ upstreamId: expect.stringMatching(/^id-i+$/), deepLink: expect.stringMatching(/^\/jobs\?q=q+$/) });
    }
  });

  it('files a notification name that is no valid event name as Process.RaiseAlert, and takes a key spelled exactly as asked over another spelling of it', () => {
    const odd = toAlertInput({ ...FAULTED, NotificationName: 'Robot went away!' });
    expect(odd).toMatchObject({ event: 'Process.RaiseAlert' });
    expect('alert' in normaliseAlert(odd!)).toBe(true);
    const both = toAlertInput({ ...FAULTED, Data: JSON.stringify({ processName: 'camel', ProcessName: 'Pascal' }) });
    expect(both?.source).toMatchObject({ process: 'Pascal' });
  });

  it("applies the source's per-event overrides by notification name, and raises nothing for one set to alert: false", () => {
    expect(toAlertInput(FAULTED, { 'Process.JobExecution.Faulted': { severity: 'Fatal', component: 'Queues' } })).toMatchObject({
      severity: 'Fatal',
      component: 'Queues',
    });
    expect(toAlertInput(FAULTED, { 'Process.JobExecution.Faulted': { alert: false } })).toBeUndefined();
    expect(toAlertInput(FAULTED, { 'Robot.StatusChanged.Offline': { alert: false } })).toMatchObject({ severity: 'Error' });
  });

  it('reads an OData page, skipping rows it could not import once, and refuses a body without value', () => {
    const page = readAlertsPage({ '@odata.context': 'x', value: [FAULTED, { Id: 42, CreationTime: FAULTED.CreationTime }, { NotificationName: 'no id' }] });
    expect(page).toMatchObject({ rows: 3, alerts: [{ Id: FAULTED.Id }, { Id: '42', NotificationName: 'Process.RaiseAlert' }] });
    expect(readAlertsPage({ error: 'nope' })).toEqual({ invalid: expect.stringContaining('value') });
    // An Id too long for an index entry is keyed by its hash.
    expect(deliveryKey({ ...FAULTED, Id: 'x'.repeat(5_000) }).length).toBeLessThan(100);
    expect(deliveryKey(FAULTED)).toBe(`orch-alert:${FAULTED.Id}`);
  });

  it('skips a row whose CreationTime is beyond the year 9999, which no ISO-8601 reader takes back and would carry the cursor past every later alert', () => {
    const page = readAlertsPage({ value: [{ ...FAULTED, Id: 'far', CreationTime: '+275760-09-13T00:00:00Z' }, FAULTED] });
    expect(page).toMatchObject({ rows: 2, alerts: [{ Id: FAULTED.Id }] });
    expect((page as { alerts: unknown[] }).alerts).toHaveLength(1);
  });

  it("reads a CreationTime without a zone as UTC, whatever the server's time zone", () => {
    const zone = process.env.TZ;
    process.env.TZ = 'Asia/Tokyo';
    try {
      const page = readAlertsPage({ value: [{ ...FAULTED, CreationTime: '2026-03-01T08:15:30.1234567' }] });
      expect(page).toMatchObject({ alerts: [{ CreationTime: '2026-03-01T08:15:30.123Z' }] });
    } finally {
      if (zone === undefined) delete process.env.TZ;
      else process.env.TZ = zone;
    }
  });

  it('backs off exponentially after failures, capped, and honours Retry-After (seconds or a date)', () => {
    expect(backoffMs(60_000, 1)).toBe(120_000);
    expect(backoffMs(60_000, 2)).toBe(240_000);
    expect(backoffMs(60_000, 30)).toBe(MAX_BACKOFF_MS);
    expect(backoffMs(1_000, 0)).toBe(1_000);
    const now = Date.parse('2026-03-01T08:00:00Z');
    expect(retryAfterMs('7', now)).toBe(7_000);
    expect(retryAfterMs('Sun, 01 Mar 2026 08:00:30 GMT', now)).toBe(30_000);
    expect(retryAfterMs('soon', now)).toBeUndefined();
    // A date already past is no wait at all, not a negative one.
    expect(retryAfterMs('Sun, 01 Mar 2026 07:59:00 GMT', now)).toBe(0);
    const state = initialState('2026-02-28T08:00:00Z');
    expect(afterPoll(state, { ok: false, retryAfterMs: 7_000 }, 1_000, now).nextPollAt).toBe(now + 7_000);
    expect(afterPoll(state, { ok: false }, 1_000, now)).toMatchObject({ failures: 1, nextPollAt: now + 2_000 });
    // A Retry-After shorter than the interval does not make the source poll more often than its interval.
    expect(afterPoll(state, { ok: false, retryAfterMs: 500 }, 60_000, now).nextPollAt).toBe(now + 60_000);
  });

  it("never moves the cursor past now, whatever date the upstream's newest alert carries", () => {
    const now = Date.parse('2026-03-01T08:00:00Z');
    const ahead = afterPoll(
      initialState('2026-02-28T08:00:00Z'),
      { ok: true, cursorTime: now + 3_600_000, cursorId: 'ahead', imported: 1, newestImported: now + 3_600_000, more: false },
      60_000,
      now,
    );
    expect(ahead.cursorTime).toBe(now);
  });

  it('moves the cursor forward only, polls again at once while a backlog remains, and records the lag', () => {
    const now = Date.parse('2026-03-01T08:00:00Z');
    const state = { ...initialState('2026-02-28T08:00:00Z'), failures: 3 };
    const done = afterPoll(state, { ok: true, cursorTime: now - 5_000, cursorId: 'a', imported: 2, newestImported: now - 5_000, more: false }, 60_000, now);
    expect(done).toMatchObject({ failures: 0, cursorTime: now - 5_000, cursorId: 'a', nextPollAt: now + 60_000, imported: 2, lagMs: 5_000, leaseOwner: null });
    const backlog = afterPoll(done, { ok: true, cursorTime: now - 9_000, cursorId: 'b', imported: 0, newestImported: null, more: true }, 60_000, now);
    expect(backlog).toMatchObject({ cursorTime: now - 5_000, cursorId: 'a', nextPollAt: now, lagMs: 5_000 });
  });

  it('schedules the next poll an interval after the poll started, so that its own length and the 1 s tick do not stretch intervalSeconds', () => {
    // A worker looks for due sources once a second: a poll started by the tick at `started` and
    // ended 30 ms later was due again 30 ms after the next tick, so intervalSeconds 1 polled every 2 s.
    const started = Date.parse('2026-03-01T08:00:00Z');
    const ended = started + 30;
    const state = claimed(initialState('2026-02-28T08:00:00Z'), 'worker-a', started);
    const done = afterPoll(
      state,
      { ok: true, cursorTime: started - 5_000, cursorId: 'a', imported: 1, newestImported: started - 5_000, more: false },
      1_000,
      ended,
      started,
    );
    expect(done.nextPollAt).toBe(started + 1_000);
    expect(claimable(done, started + 1_000)).toBe(true);
    // A poll longer than the interval is followed at once, not an interval after it ended.
    const slow = afterPoll(
      state,
      { ok: true, cursorTime: started, cursorId: 'a', imported: 0, newestImported: null, more: false },
      1_000,
      started + 4_000,
      started,
    );
    expect(claimable(slow, started + 4_000)).toBe(true);
    // Failures still wait from when they were known (a Retry-After counts from the answer).
    expect(afterPoll(state, { ok: false, retryAfterMs: 7_000 }, 1_000, ended, started).nextPollAt).toBe(ended + 7_000);
  });

  it('counts what a failed poll imported before it failed, and leaves a poll cut short by its worker stopping due at once, with no failure', () => {
    const started = Date.parse('2026-03-01T08:00:00Z');
    const state = claimed({ ...initialState('2026-02-28T08:00:00Z'), imported: 10, nextPollAt: started - 500 }, 'worker-a', started);
    // Two pages imported, the third answered 500: the next poll re-reads them, finding them imported.
    const failed = afterPoll(state, { ok: false, imported: 2_000, newestImported: started - 60_000 }, 60_000, started + 5_000, started);
    expect(failed).toMatchObject({ failures: 1, imported: 2_010, lastImportedAt: started + 5_000, lagMs: 65_000, leaseOwner: null });
    // A deploy stopping the worker is not the upstream's failure: no backoff, due at once for the next.
    const cut = afterPoll(state, { ok: false, interrupted: true, imported: 1_000, newestImported: started - 1_000 }, 60_000, started + 5_000, started);
    expect(cut).toMatchObject({ failures: 0, nextPollAt: started - 500, imported: 1_010, leaseOwner: null, leaseUntil: 0 });
    expect(claimable(cut, started + 5_000)).toBe(true);
  });

  it('lets one worker hold a due poll until its lease ends, and restarts the cursor when since changes', () => {
    const now = Date.parse('2026-03-01T08:00:00Z');
    const state = initialState('2026-02-28T08:00:00Z');
    expect(claimable(state, now)).toBe(true);
    const held = claimed(state, 'worker-a', now);
    expect(claimable(held, now + LEASE_MS - 1)).toBe(false);
    expect(claimable(held, now + LEASE_MS)).toBe(true);
    const moved = { ...held, cursorTime: now, imported: 5 };
    expect(readState(JSON.stringify(moved), '2026-02-28T08:00:00Z')).toEqual(moved);
    expect(readState(JSON.stringify(moved), '2026-01-01T00:00:00Z')).toMatchObject({
      cursorTime: Date.parse('2026-01-01T00:00:00Z'),
      imported: 0,
      leaseOwner: 'worker-a',
    });
  });
});
