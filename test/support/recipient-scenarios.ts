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
 * own, 2–4 summary windows with 5–30 alerts (some repeating a dedup key, some days late) among
 * changes of preferences, rules, mutes, snoozes, roles, activity, membership and the alerts-email
 * switch, perhaps a stop of the server across window ends, then the tenant's first daily report.
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
        // An event's component or the event itself, or Tocsin (its mail-health alert's component). Users' entries name
        // components more, groups' events more: so that a user's own component entry meets a group's event entry.
        const event = pick(EVENTS);
        const name = chance(0.1) ? 'Tocsin' : chance(groupRules ? 0.4 : 0.6) ? event.component : event.event;
        body.subscriptions[name] = chance(0.6) ? !chance(0.5) : chance(0.2) ? null! : false;
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
  /** The first alert of each dedup key, which its repeats copy. */
  const floods: AlertSpec[] = [];
  const end = start + windows * WINDOW;
  /** While the server is stopped nothing happens: the steps drawn before this instant are left out. */
  let stoppedUntil = 0;
  let made = 0;
  for (let w = 0; w < windows; w++) {
    const from = start + w * WINDOW + 40_000;
    const times = Array.from({ length: between(2, 6) }, () => between(from, from + WINDOW - 75_000)).sort((a, b) => a - b);
    for (const at of times) {
      if (at < stoppedUntil) continue;
      const kind = next();
      if (kind < 0.42 || alertKeys.length === 0) {
        const room = Math.max(1, Math.ceil((alertCount - made) / Math.max(1, windows - w)));
        const alerts = Array.from({ length: between(1, Math.min(3, room)) }, (): AlertSpec => {
          // Counted by all alerts made: a deleted alert's key is not made again.
          const key = `a${made}`;
          alertKeys.push(key);
          made += 1;
          // A repeat of a dedup key is the same alert again: its event, source and key.
          if (floods.length > 0 && chance(0.25)) return { ...pick(floods), key };
          const event = pick(EVENTS);
          const alert: AlertSpec = {
            key,
            ...event,
            ...(chance(0.7) ? { robot: pick(['R1', 'R2']) } : {}),
            ...(event.component === 'Transactions' && chance(0.7) ? { queue: 'Q1' } : {}),
            ...(chance(0.2) ? { dedupKey: `d${floods.length}` } : chance(0.1) ? { lateMs: between(1, chance(0.3) ? 4320 : 120) * MINUTE } : {}),
          };
          if (alert.dedupKey) floods.push(alert);
          return alert;
        });
        steps.push({ at, do: 'raise', alerts });
      } else if (kind < 0.5) {
        steps.push({ at, do: 'preferences', user: someone(), body: preferences(false) ?? { email: { fatalImmediately: true } } });
      } else if (kind < 0.55) {
        const group = someGroup();
        const member = groups[group]!.members.find((m) => alive.includes(m));
        if (member !== undefined && chance(0.6)) {
          // The group's event entry against its member's own entry for the event's component: which one decides?
          const event = pick(EVENTS);
          const subscribed = chance(0.5);
          steps.push({ at, do: 'group-rules', group, body: { subscriptions: { [event.event]: subscribed } } });
          steps.push({ at, do: 'preferences', user: member, body: { subscriptions: { [event.component]: !subscribed } } });
        } else steps.push({ at, do: 'group-rules', group, body: preferences(true) ?? { email: { dailyReport: false } } });
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
      } else if (kind < 0.99 || stoppedUntil > 0) {
        steps.push({ at, do: 'tenant-language', language: pick(LANGUAGES) });
      } else {
        // Stopped for up to three windows, perhaps over the daily report's time (10 minutes after it at most).
        stoppedUntil = Math.min(at + between(1, 30) * MINUTE + between(0, 59_000), end + 15 * MINUTE);
        steps.push({ at, do: 'restart', until: stoppedUntil });
      }
      if (ownSmtp && at >= stoppedUntil && chance(0.15)) steps.push({ at, do: 'smtp', failing: chance(0.6) });
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
