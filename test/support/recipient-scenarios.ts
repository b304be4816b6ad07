import type { AlertSpec, GroupSpec, Language, MuteMatch, Plan, PreferencesBody, Step, UserSpec } from './recipient-model.js';
import { seededRandom } from './seeded-random.js';

/**
 * The events scenarios raise: each (severity, component) pair names one event, so that a daily
 * report's rows (per event and severity) can be told apart by count alone.
 */
const EVENTS: readonly Omit<AlertSpec, 'key'>[] = [
  { severity: 'Fatal', component: 'Robots', event: 'Robot.StatusChanged.Offline' },
  { severity: 'Error', component: 'Robots', event: 'Robot.StatusChanged.NotResponding' },
  { severity: 'Info', component: 'Robots', event: 'Robot.StatusChanged.Available' },
  { severity: 'Error', component: 'Jobs', event: 'Process.JobExecution.Faulted' },
  { severity: 'Warn', component: 'Transactions', event: 'Queue.TransactionStatus.FailedWithBusinessException' },
  { severity: 'Error', component: 'Transactions', event: 'Queue.TransactionStatus.FailedWithApplicationException' },
  { severity: 'Fatal', component: 'Process', event: 'Process.RaiseAlert' },
  { severity: 'Error', component: 'Process', event: 'Process.RaiseAlert' },
  { severity: 'Success', component: 'Process', event: 'Process.RaiseAlert' },
  { severity: 'Error', component: 'Schedules', event: 'Schedule.NoJobCreated' },
];
/** The components subscriptions name: the events' and Tocsin's own (its mail-health alert). */
const COMPONENTS = [...new Set(EVENTS.map((e) => e.component)), 'Tocsin'];
const EVENT_NAMES = [...new Set(EVENTS.map((e) => e.event))];
const LANGUAGES: readonly Language[] = ['en', 'fr', 'de', 'es', 'ja'];
/** Zones whose offsets are whole or half hours, so that the windows stay on the UTC ten minutes. */
const ZONES = ['UTC', 'Europe/Paris', 'Asia/Tokyo', 'Asia/Kolkata', 'America/New_York'];
const ROLE_SETS: readonly (readonly string[])[] = [
  ['Alerts Viewer'],
  ['Alerts Viewer'],
  ['Administrator'],
  ['Robot'],
  [],
  ['Watchers'],
  ['Clerks'],
  ['Clerks', 'Watchers'],
];
const MINUTE = 60_000;
const WINDOW = 10 * MINUTE;
const DAY = 86_400_000;
/** Scenario n starts on day n after this (12:00 UTC, far from the default 10:00 daily reports). */
const EPOCH = Date.parse('2027-01-04T12:00:00Z');

/**
 * scenarioPlan is the seeded random scenario `seed`: 2–4 people and 1–2 groups in a tenant of its
 * own, 2–4 summary windows with 5–30 alerts among changes of preferences, rules, mutes, snoozes,
 * roles, activity, membership and the alerts-email switch, then the tenant's first daily report.
 */
export function scenarioPlan(seed: number): Plan {
  const next = seededRandom(seed * 7919 + 17);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)]!;
  const chance = (p: number) => next() < p;
  const between = (low: number, high: number) => low + Math.floor(next() * (high - low + 1));
  const tenant = `model-${seed}`;
  const start = EPOCH + seed * DAY;
  const windows = between(2, 4);
  const ownSmtp = chance(0.3);
  const people = between(2, 4);

  const preferences = (groupRules: boolean): PreferencesBody | undefined => {
    const body: { subscriptions?: Record<string, boolean | null>; email?: Record<string, boolean> } = {};
    if (chance(0.5)) {
      body.subscriptions = {};
      for (let i = between(1, 2); i > 0; i--) {
        // Groups' rules name components only: which layer an event entry beats is left out of the model.
        const name = groupRules || chance(0.5) ? pick(COMPONENTS) : pick(EVENT_NAMES);
        body.subscriptions[name] = chance(groupRules ? 0.3 : 0.6) ? !chance(0.5) : chance(0.2) ? null! : false;
      }
    }
    if (chance(0.5)) {
      body.email = {};
      for (const which of ['tenMinuteSummary', 'dailyReport', 'fatalImmediately'] as const) if (chance(0.4)) body.email[which] = chance(0.5);
    }
    return Object.keys(body).length > 0 ? (body as PreferencesBody) : undefined;
  };
  const users: UserSpec[] = Array.from({ length: people }, (_, i) => ({
    email: `u${i}@${tenant}.example.com`,
    ...(chance(0.7) ? { language: pick(LANGUAGES) } : {}),
    roles: pick(ROLE_SETS),
    active: chance(0.9),
    ...(chance(0.6) ? { preferences: preferences(false) } : {}),
  }));
  const groups: GroupSpec[] = Array.from({ length: between(1, 2) }, (_, i) => ({
    name: `Group ${i}`,
    ...(chance(0.7) ? { email: `g${i}@${tenant}.example.com` } : {}),
    ...(chance(0.6) ? { language: pick(LANGUAGES) } : {}),
    roles: chance(0.6) ? ['Alerts Viewer'] : [],
    members: users.map((_, u) => u).filter(() => chance(0.5)),
    expandMembers: chance(0.3),
    ...(chance(0.5) ? { rules: preferences(true) } : {}),
  }));

  const match = (): MuteMatch => {
    const event = pick(EVENTS);
    switch (between(0, 3)) {
      case 0:
        return { component: event.component };
      case 1:
        return { event: event.event };
      case 2:
        return { robot: pick(['R1', 'R2']) };
      default:
        return { queue: 'Q1', component: 'Transactions' };
    }
  };
  const steps: Step[] = [];
  const alertKeys: string[] = [];
  const alive = users.map((_, u) => u);
  const someone = () => pick(alive);
  const liveGroups = groups.map((_, g) => g);
  const someGroup = () => pick(liveGroups);
  const muteKeys: string[] = [];
  const alertCount = between(5, 30);
  let made = 0;
  for (let w = 0; w < windows; w++) {
    const from = start + w * WINDOW + 40_000;
    const times = Array.from({ length: between(2, 6) }, () => between(from, from + WINDOW - 75_000)).sort((a, b) => a - b);
    for (const at of times) {
      const kind = next();
      if (kind < 0.42 || alertKeys.length === 0) {
        const room = Math.max(1, Math.ceil((alertCount - made) / Math.max(1, windows - w)));
        const alerts = Array.from({ length: between(1, Math.min(3, room)) }, () => {
          const event = pick(EVENTS);
          const key = `a${alertKeys.length}`;
          alertKeys.push(key);
          made += 1;
          return {
            key,
            ...event,
            ...(chance(0.7) ? { robot: pick(['R1', 'R2']) } : {}),
            ...(event.component === 'Transactions' && chance(0.7) ? { queue: 'Q1' } : {}),
            ...(chance(0.1) ? { lateMs: between(1, 120) * MINUTE } : {}),
          } satisfies AlertSpec;
        });
        steps.push({ at, do: 'raise', alerts });
      } else if (kind < 0.5) {
        steps.push({ at, do: 'preferences', user: someone(), body: preferences(false) ?? { email: { fatalImmediately: true } } });
      } else if (kind < 0.55) {
        steps.push({ at, do: 'group-rules', group: someGroup(), body: preferences(true) ?? { email: { dailyReport: false } } });
      } else if (kind < 0.62) {
        const key = `m${muteKeys.length}`;
        muteKeys.push(key);
        steps.push({ at, do: 'mute', key, match: match(), until: at + between(1, 40) * MINUTE });
      } else if (kind < 0.69) {
        const key = `m${muteKeys.length}`;
        muteKeys.push(key);
        steps.push({ at, do: 'snooze', user: someone(), key, match: match(), until: at + between(1, 40) * MINUTE });
      } else if (kind < 0.72 && muteKeys.length > 0) {
        steps.push({ at, do: 'unmute', key: pick(muteKeys) });
      } else if (kind < 0.78) {
        if (chance(0.15)) {
          const alert = pick(alertKeys);
          alertKeys.splice(alertKeys.indexOf(alert), 1);
          steps.push({ at, do: 'delete-alert', alert });
        } else steps.push({ at, do: chance(0.5) ? 'acknowledge' : 'read', user: someone(), alert: pick(alertKeys) });
      } else if (kind < 0.84) {
        const patch = pick([{ active: chance(0.5) }, { roles: pick(ROLE_SETS) }, { language: pick(LANGUAGES) }]);
        steps.push({ at, do: 'patch-user', user: someone(), patch });
      } else if (kind < 0.87) {
        steps.push({ at, do: 'members', group: someGroup(), members: alive.filter(() => chance(0.5)) });
      } else if (kind < 0.89) {
        const patch = pick([{ language: pick(LANGUAGES) }, { expandMembers: chance(0.5) }, { roles: chance(0.5) ? ['Watchers'] : ['Clerks'] }]);
        steps.push({ at, do: 'patch-group', group: someGroup(), patch });
      } else if (kind < 0.92) {
        const to = pick([...users.filter((_, u) => alive.includes(u)).map((u) => u.email), ...groups.flatMap((g) => (g.email ? [g.email] : []))]);
        steps.push({ at, do: 'unsubscribe', to, kind: chance(0.7) ? 'summary' : 'immediate' });
      } else if (kind < 0.93 && alive.length > 1) {
        const user = someone();
        alive.splice(alive.indexOf(user), 1);
        steps.push({ at, do: 'delete-user', user });
      } else if (kind < 0.94) {
        steps.push({ at, do: 'alerts-email', enabled: chance(0.5) });
      } else if (kind < 0.955 && liveGroups.length > 1) {
        const group = pick(liveGroups);
        liveGroups.splice(liveGroups.indexOf(group), 1);
        steps.push({ at, do: 'delete-group', group });
      } else if (kind < 0.98) {
        steps.push({ at, do: 'role-permissions', role: 'Watchers', permissions: chance(0.5) ? ['Alerts.View'] : ['Users.View'] });
      } else {
        steps.push({ at, do: 'tenant-language', language: pick(LANGUAGES) });
      }
      if (ownSmtp && chance(0.15)) steps.push({ at, do: 'smtp', failing: chance(0.6) });
    }
  }
  return {
    seed,
    tenant,
    timeZone: pick(ZONES),
    language: pick(LANGUAGES),
    alertsEmailEnabled: chance(0.93),
    sendEmptyDailyReport: chance(0.2),
    ownSmtp,
    start,
    windowMs: WINDOW,
    windows,
    dailyAt: start + windows * WINDOW + 5 * MINUTE,
    users,
    groups,
    steps,
  };
}
