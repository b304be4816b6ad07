import type { CompiledQuery } from 'kysely';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { newAlert } from '../../../test/support/alerts.js';
import { type TestApp, startTestApp } from '../../../test/support/http.js';
import { describeEachDialect } from '../../../test/support/storage.js';
import { HOUR_MS } from '../kind-hours.js';
import { type Severity, severityRank } from '../severity.js';
import { writeAlerts } from '../store.js';

// Hours of alerts, 40 of them, ending two hours ago.
const HOURS = 40;
const T0 = Math.floor(Date.now() / HOUR_MS) * HOUR_MS - (HOURS + 2) * HOUR_MS;
const ACTIONS = '/odata/Alerts/UiPath.Server.Configuration.OData';

/** Listed is what the test knows of a stored alert, to say which a filter lists. */
interface Listed {
  readonly id: string;
  readonly severity: number;
  readonly component: string;
  readonly event: string;
  readonly createdAt: number;
  read: boolean;
}

describeEachDialect('GET /odata/Alerts filtered on kinds', (dialect) => {
  let t: TestApp;
  let token: string;
  const all: Listed[] = [];

  beforeAll(async () => {
    t = await startTestApp(dialect);
    const reader = await t.tenantWithUser('odata-kinds', ['Alerts Viewer']);
    token = reader.token;
    const db = t.tocsin.deps.storage.db;
    // Each hour: 15 Error alerts of Jobs and 15 of Queues, 10 Info of Robots; a Fatal of Robots every fifth
    // hour; a Schedules disk_full in hours 3 and 37 only. Errors fill more than one server-driven page.
    for (let h = 0; h < HOURS; h++) {
      const kinds: [Severity, string, string][] = [
        ...Array.from({ length: 15 }, (): [Severity, string, string] => ['Error', 'Jobs', 'Process.JobExecution.Faulted']),
        ...Array.from({ length: 15 }, (): [Severity, string, string] => ['Error', 'Queues', 'Queue.Sla.Breached']),
        ...Array.from({ length: 10 }, (): [Severity, string, string] => ['Info', 'Robots', 'Robot.StatusChanged.Available']),
        ...(h % 5 === 0 ? [['Fatal', 'Robots', 'Robot.StatusChanged.Offline'] as [Severity, string, string]] : []),
        ...(h === 3 || h === 37 ? [['Error', 'Schedules', 'disk_full'] as [Severity, string, string]] : []),
      ];
      const at = T0 + h * HOUR_MS + 60_000;
      const ids = await db.transaction().execute((tx) =>
        writeAlerts(
          tx,
          reader.tenantId,
          kinds.map(([severity, component, event]) => newAlert({ severity, component, event, message: `${event} ${h}` })),
          at,
          undefined,
          { undecided: false },
        ),
      );
      ids.forEach((id, i) => {
        const [severity, component, event] = kinds[i]!;
        all.push({ id, severity: severityRank(severity), component, event, createdAt: at, read: false });
      });
    }
    // Newest first: by time, then id (a commit's alerts share their time).
    all.sort((a, b) => b.createdAt - a.createdAt || (a.id < b.id ? 1 : -1));
    const read = all.filter((_, i) => i % 3 === 0);
    for (const a of read) a.read = true;
    const marked = await t.call('POST', `${ACTIONS}.MarkAsRead`, { ids: read.map((a) => a.id) }, token);
    expect(marked.statusCode, marked.body).toBe(200);
  });
  afterAll(() => t.close());

  const list = async (query: string) => {
    const res = await t.call('GET', `/odata/Alerts?${query}`, undefined, token);
    expect(res.statusCode, `${query}: ${res.body}`).toBe(200);
    return res.json() as { value: { Id: string; State: string }[]; '@odata.nextLink'?: string };
  };
  /** everyPage follows the @odata.nextLinks of a list without $top, giving every id listed with its state. */
  const everyPage = async (query: string) => {
    const seen: string[] = [];
    let page = await list(query);
    for (;;) {
      seen.push(...page.value.map((a) => `${a.Id} ${a.State}`));
      const next = page['@odata.nextLink'];
      if (!next) return seen;
      page = await list(next.slice(next.indexOf('?') + 1));
    }
  };

  const hour = (h: number) => new Date(T0 + h * HOUR_MS).toISOString();
  const FILTERS: [filter: string, lists: (a: Listed) => boolean][] = [
    ["Component eq 'Triggers'", () => false],
    ["NotificationName eq 'node_down'", () => false],
    ["NotificationName eq 'disk_full'", (a) => a.event === 'disk_full'],
    ["Component eq 'schedules'", (a) => a.component === 'Schedules'],
    ["Severity eq 'Error'", (a) => a.severity === severityRank('Error')],
    ["Severity gt 'Error'", (a) => a.severity === severityRank('Fatal')],
    ['Severity ge 3', (a) => a.severity >= severityRank('Error')],
    ["Component eq 'Robots' and Severity eq 'Fatal'", (a) => a.component === 'Robots' && a.severity === severityRank('Fatal')],
    ["Component eq 'Jobs' and State eq 'Unread'", (a) => a.component === 'Jobs' && !a.read],
    [
      `NotificationName eq 'Queue.Sla.Breached' and CreationTime ge ${hour(10)} and CreationTime lt ${hour(20)}`,
      (a) => a.event === 'Queue.Sla.Breached' && a.createdAt >= T0 + 10 * HOUR_MS && a.createdAt < T0 + 20 * HOUR_MS,
    ],
    ["Component eq 'Queues' and contains(NotificationName, 'Sla') and not (State eq 'Read')", (a) => a.component === 'Queues' && !a.read],
    ["(Component eq 'Jobs' or Component eq 'Schedules') and Severity eq 'Error'", (a) => ['Jobs', 'Schedules'].includes(a.component)],
  ];

  it.each(FILTERS)('lists for %s, with $top, $skip and page after page, what it lists read as one query', async (filter, lists) => {
    const want = all.filter(lists).map((a) => `${a.id} ${a.read ? 'Read' : 'Unread'}`);
    const $filter = `$filter=${encodeURIComponent(filter)}`;
    const ids = async (query: string) => (await list(`${$filter}&${query}`)).value.map((a) => `${a.Id} ${a.State}`);
    expect(await everyPage($filter)).toEqual(want);
    for (const [top, skip] of [
      [7, 0],
      [7, 3],
      [1_000, 0],
      [50, 500],
    ] as const) {
      expect(await ids(`$top=${top}&$skip=${skip}`), `$top=${top}&$skip=${skip}`).toEqual(want.slice(skip, skip + top));
    }
    expect(await ids('$skip=13')).toEqual(want.slice(13, 13 + 1_000));
  });

  it('answers a Component or NotificationName no alert has, or had in the hours asked, without reading any alert', async () => {
    const executor = t.tocsin.deps.storage.db.getExecutor();
    const execute = executor.executeQuery.bind(executor);
    const texts: string[] = [];
    executor.executeQuery = (<R>(query: CompiledQuery<R>, ...rest: unknown[]) => {
      texts.push(query.sql);
      return (execute as (...args: unknown[]) => Promise<never>)(query, ...rest);
    }) as typeof executor.executeQuery;
    try {
      for (const filter of [
        "Component eq 'Triggers'",
        "NotificationName eq 'node_down'",
        `NotificationName eq 'disk_full' and CreationTime ge ${hour(4)} and CreationTime lt ${hour(37)}`,
      ]) {
        texts.length = 0;
        expect((await list(`$top=50&$filter=${encodeURIComponent(filter)}`)).value).toEqual([]);
        expect(
          texts.filter((text) => /from "alerts"/.test(text)),
          filter,
        ).toEqual([]);
      }
    } finally {
      executor.executeQuery = execute;
    }
  });
});
