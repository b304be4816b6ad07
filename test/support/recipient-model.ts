/**
 * A model of "who gets which alert email, with which alerts in it", written from PRODUCT.md and
 * API.md alone (not from src/), for the scenario test that drives the real server with the same
 * plan and compares every email received with what this model expects. Pure: a plan in, the
 * expected emails and the expected answer of each step out.
 *
 * The spec's words it rests on:
 * - PRODUCT §1.2/§1.7: a recipient needs a valid address, `Alerts.View` and the tenant's alert
 *   emails enabled; §2: groups carry roles to their members; a user has an active flag.
 * - API.md preferences: every component subscribed, both reports on, Fatal-immediately off by
 *   default; an event entry overrides its component's entry. PRODUCT §2: groups carry default
 *   rules (a user's own choice wins; several groups' rules are a union, orchestrator.md row 25).
 *   A user's own entry for a component beats a group's entry for one of its events: "an event
 *   entry overrides its component's entry" is read within one set of preferences, and a group's
 *   are defaults, which the user's own choice of the whole component stands above.
 * - PRODUCT §3: the summary holds a window's Fatal and Error alerts the recipient subscribes to
 *   and may see, not sent when empty; the daily report the last 24 hours up to the report time,
 *   every severity subscribed, not sent when empty unless "all quiet" is asked; Fatal immediately
 *   one email per Fatal alert. PRODUCT §1.9: a group address gets the group's own language; a
 *   group expanded to its members is mailed through them.
 * - An alert that arrives late (its occurredAt minutes or days back) is in the summary of the
 *   window it arrived in and in the daily report of the 24 hours it arrived in: by the time it
 *   occurred, the email of its window may be gone already, and a user expects to hear of it.
 * - PRODUCT §3: "repeats of one dedup key collapse into one line with a count" in a summary, the
 *   count of the repeats in its window; the daily report counts each alert. A flood (a dedup key's
 *   repeats less than README's 10 minutes apart) is one alert repeated: one Fatal email per flood
 *   and recipient, the first its recipient is to get (an earlier repeat muted or unsubscribed
 *   for them, the next one is emailed).
 * - PRODUCT §3: "after downtime, missed 10-minute windows are sent as one catch-up summary and a
 *   missed daily report once": the windows that ended while the server was stopped are one
 *   summary at its start, and a report time passed meanwhile one daily report. Either is judged as
 *   at its window's end, as it would have gone out without the stop (one email per window "across
 *   restarts"): a mute in force then still leaves its alerts out, though it ended since.
 * - API.md mail health: while the tenant's mail is failing, an Error alert (component `Tocsin`,
 *   event `Mail.DeliveryFailing`) and one email to its administrators (README: the active users
 *   holding Settings.Edit) through the system default, and one more when mail works again.
 * - API.md mutes: a tenant mute stops every email about matching alerts for everyone; a user mute
 *   only for its owner; muted alerts are still stored, listed and counted. Acknowledged alerts
 *   still show "in later summaries"; read state is per user and the spec ties no email to it.
 */

export type Severity = 'Info' | 'Success' | 'Warn' | 'Error' | 'Fatal';
export type Language = 'en' | 'fr' | 'de' | 'es' | 'ja';
export type EmailKind = 'summary' | 'daily' | 'immediate' | 'mail-health';
/** ReportKind is an email about alerts, which a recipient's switches and one-click links turn off. */
export type ReportKind = Exclude<EmailKind, 'mail-health'>;

/** CUSTOM_ROLES are the roles each scenario's tenant makes (API.md `POST /roles`), one with Alerts.View and one without. */
export const CUSTOM_ROLES: Readonly<Record<string, readonly string[]>> = { Watchers: ['Alerts.View'], Clerks: ['Settings.View', 'Users.View'] };

/** The built-in roles that hold Alerts.View (PRODUCT §2). */
const BUILT_IN_VIEWING_ROLES: readonly string[] = ['Administrator', 'Alerts Viewer', 'Robot'];

export interface AlertSpec {
  readonly key: string;
  readonly severity: Severity;
  readonly component: string;
  readonly event: string;
  readonly robot?: string;
  readonly queue?: string;
  /** How long before it was received it occurred (its occurredAt), for an alert that arrives late. */
  readonly lateMs?: number;
  /** Its dedup key, which its repeats (the same event and source) share. */
  readonly dedupKey?: string;
}

/** The process of an alert: its dedup key or its key, so that each alert (or dedup key) is a source of its own in the summaries. */
export const processOf = (alert: AlertSpec): string => `proc-${alert.dedupKey ?? alert.key}`;
/** The message of an alert, carrying its key where an email shows it. */
export const messageOf = (alert: AlertSpec): string => `msg-${alert.key} went wrong`;

export interface MuteMatch {
  readonly component?: string;
  readonly event?: string;
  readonly process?: string;
  readonly robot?: string;
  readonly queue?: string;
}

export interface PreferencesBody {
  readonly subscriptions?: Readonly<Record<string, boolean | null>>;
  readonly email?: Readonly<Partial<Record<'tenMinuteSummary' | 'dailyReport' | 'fatalImmediately', boolean>>>;
}

export interface UserSpec {
  readonly email: string;
  readonly language?: Language;
  readonly roles: readonly string[];
  readonly active: boolean;
  readonly preferences?: PreferencesBody;
}

export interface GroupSpec {
  readonly name: string;
  readonly email?: string;
  readonly language?: Language;
  readonly roles: readonly string[];
  readonly members: readonly number[];
  readonly expandMembers: boolean;
  readonly rules?: PreferencesBody;
}

export type Step = { readonly at: number } & (
  | { readonly do: 'raise'; readonly alerts: readonly AlertSpec[] }
  | { readonly do: 'preferences'; readonly user: number; readonly body: PreferencesBody }
  | { readonly do: 'group-rules'; readonly group: number; readonly body: PreferencesBody }
  | { readonly do: 'mute'; readonly key: string; readonly match: MuteMatch; readonly until: number }
  | { readonly do: 'snooze'; readonly user: number; readonly key: string; readonly match: MuteMatch; readonly until: number }
  | { readonly do: 'unmute'; readonly key: string }
  | { readonly do: 'acknowledge' | 'read'; readonly user: number; readonly alert: string }
  | {
      readonly do: 'patch-user';
      readonly user: number;
      readonly patch: { readonly active?: boolean; readonly roles?: readonly string[]; readonly language?: Language };
    }
  | { readonly do: 'members'; readonly group: number; readonly members: readonly number[] }
  | { readonly do: 'alerts-email'; readonly enabled: boolean }
  | { readonly do: 'delete-alert'; readonly alert: string }
  | { readonly do: 'delete-user'; readonly user: number }
  | { readonly do: 'delete-group'; readonly group: number }
  /** A custom role's permissions replaced (PATCH /roles/{roleId}). */
  | { readonly do: 'role-permissions'; readonly role: string; readonly permissions: readonly string[] }
  | { readonly do: 'tenant-language'; readonly language: Language }
  | {
      readonly do: 'patch-group';
      readonly group: number;
      readonly patch: { readonly language?: Language; readonly expandMembers?: boolean; readonly roles?: readonly string[] };
    }
  /** The tenant's own server starts refusing every email for good (a 554), or takes them again. */
  | { readonly do: 'smtp'; readonly failing: boolean }
  /** The recipient's one-click unsubscribe link of the last email of that kind it got, followed (if it got one). */
  | { readonly do: 'unsubscribe'; readonly to: string; readonly kind: ReportKind }
  /** The server stopped at `at` and started again at `until` (nothing else happens meanwhile). */
  | { readonly do: 'restart'; readonly until: number }
);

/** Plan is one scenario: a tenant, its people, and what happens over its summary windows and its first daily report. */
export interface Plan {
  readonly seed: number;
  readonly tenant: string;
  readonly timeZone: string;
  readonly language: Language;
  readonly alertsEmailEnabled: boolean;
  readonly sendEmptyDailyReport: boolean;
  /** Whether the tenant sends through its own SMTP server (which the 'smtp' steps break and mend) rather than the system default. */
  readonly ownSmtp: boolean;
  /** The start of the first summary window (epoch ms); the tenant is created 30 s after it. */
  readonly start: number;
  readonly windowMs: number;
  readonly windows: number;
  /** The instant of the tenant's first daily report (after the last window). */
  readonly dailyAt: number;
  readonly users: readonly UserSpec[];
  readonly groups: readonly GroupSpec[];
  /** In time order, all inside the windows (none on a window's edge). */
  readonly steps: readonly Step[];
}

/** ExpectedEmail is one email the model says someone gets. */
export interface ExpectedEmail {
  readonly to: string;
  readonly kind: EmailKind;
  readonly language: Language;
  /** A summary's window start or the daily report's end (epoch ms); an immediate email's alert time. */
  readonly at: number;
  /**
   * Summary and immediate: its lines, sorted: an alert's key, or a flood's dedup key with its
   * count in a summary (`d0×2`), without it in an immediate email (`d0`).
   */
  readonly alerts?: readonly string[];
  /** Daily: the count of each row (event and severity), largest first. */
  readonly rows?: readonly number[];
}

/** StepAnswer is whether the model expects the step's request to be taken or refused (a 4xx). */
export type StepAnswer = 'ok' | 'refused';

interface Layer {
  subscriptions: Record<string, boolean>;
  email: Partial<Record<'tenMinuteSummary' | 'dailyReport' | 'fatalImmediately', boolean>>;
}
interface Mute {
  readonly key: string;
  readonly owner?: number;
  readonly match: MuteMatch;
  readonly from: number;
  readonly until: number;
  deleted?: number;
}
interface Raised extends AlertSpec {
  readonly at: number;
  /** The flood it belongs to (an alert with a dedup key): the first alert's key. */
  readonly flood?: string;
}

/**
 * Repeats of a dedup key less than this apart are one flood (README's TOCSIN_FLOOD_WINDOW_SECONDS
 * default): PRODUCT §3 collapses "repeats of one dedup key" into one line, and says not how far apart.
 */
const FLOOD_MS = 600_000;
interface Recipient {
  readonly address: string;
  readonly language: Language;
  /** The user it is (its snoozes apply), or undefined for a group's mailbox. */
  readonly user?: number;
  readonly layers: readonly Layer[][];
  /** A group mailbox's one-click opt-outs, which stand above its rules. */
  readonly unsubscribed?: ReadonlySet<ReportKind>;
}

const emptyLayer = (): Layer => ({ subscriptions: {}, email: {} });

/** apply puts a PUT's body on a layer: a field left out keeps its value, null clears an entry (API.md conventions). */
function apply(layer: Layer, body: PreferencesBody | undefined): void {
  for (const [name, value] of Object.entries(body?.subscriptions ?? {})) {
    if (value === null) delete layer.subscriptions[name];
    else layer.subscriptions[name] = value;
  }
  Object.assign(layer.email, body?.email ?? {});
}

/** A layer's answer for an alert: its event entry, else its component entry, else none (API.md). */
const layerSays = (layer: Layer, alert: AlertSpec): boolean | undefined => layer.subscriptions[alert.event] ?? layer.subscriptions[alert.component];

/** Layers are tried in order (own, then groups); within a tier of several groups the union (any true) decides. */
function decide(tiers: readonly Layer[][], answer: (layer: Layer) => boolean | undefined, fallback: boolean): boolean {
  for (const tier of tiers) {
    const said = tier.map(answer).filter((a) => a !== undefined);
    if (said.length > 0) return said.some((a) => a);
  }
  return fallback;
}

const matches = (match: MuteMatch, alert: AlertSpec): boolean =>
  (match.component === undefined || match.component === alert.component) &&
  (match.event === undefined || match.event === alert.event) &&
  (match.process === undefined || match.process === processOf(alert)) &&
  (match.robot === undefined || match.robot === alert.robot) &&
  (match.queue === undefined || match.queue === alert.queue);

/**
 * expectedEmails runs a plan through the model: every email the spec says is sent, and whether each
 * step is taken. An alert is left out of a recipient's email when a mute of theirs matched it as it
 * arrived (it is a muted alert: API.md's "muted alerts are still stored, listed and counted") or
 * matches it when the email is decided (a mute "stops every email about matching alerts" while it
 * lasts); a mute deleted or ended before the alert arrived does neither.
 */
export function expectedEmails(plan: Plan): { emails: ExpectedEmail[]; answers: StepAnswer[] } {
  const users = plan.users.map((u) => ({ ...u, roles: [...u.roles], own: emptyLayer(), deleted: false }));
  plan.users.forEach((u, i) => {
    apply(users[i]!.own, u.preferences);
  });
  const groups = plan.groups.map((g) => ({ ...g, members: [...g.members], rules: emptyLayer(), unsubscribed: new Set<ReportKind>(), deleted: false }));
  plan.groups.forEach((g, i) => {
    apply(groups[i]!.rules, g.rules);
  });
  let enabled = plan.alertsEmailEnabled;
  let tenantLanguage = plan.language;
  const roles = new Map<string, readonly string[]>(Object.entries(CUSTOM_ROLES));
  const views = (roleNames: readonly string[]) => roleNames.some((r) => BUILT_IN_VIEWING_ROLES.includes(r) || roles.get(r)?.includes('Alerts.View'));
  const mutes = new Map<string, Mute>();
  const raised: Raised[] = [];
  const emails: ExpectedEmail[] = [];
  const answers: StepAnswer[] = [];

  const groupsOf = (user: number) => groups.filter((g) => !g.deleted && g.members.includes(user));
  const userMaySee = (user: number) => {
    const u = users[user]!;
    return u.active && !u.deleted && [u.roles, ...groupsOf(user).map((g) => g.roles)].some(views);
  };
  const recipients = (): Recipient[] => {
    const list: Recipient[] = [];
    users.forEach((u, i) => {
      if (userMaySee(i)) list.push({ address: u.email, language: u.language ?? tenantLanguage, user: i, layers: [[u.own], groupsOf(i).map((g) => g.rules)] });
    });
    for (const g of groups) {
      if (g.email !== undefined && !g.deleted && !g.expandMembers && views(g.roles)) {
        list.push({ address: g.email, language: g.language ?? tenantLanguage, layers: [[g.rules]], unsubscribed: g.unsubscribed });
      }
    }
    return list;
  };
  const wants = (r: Recipient, alert: AlertSpec) => decide(r.layers, (layer) => layerSays(layer, alert), true);
  const SWITCH_OF = { summary: 'tenMinuteSummary', daily: 'dailyReport', immediate: 'fatalImmediately' } as const;
  const emailOn = (r: Recipient, kind: ReportKind, fallback: boolean) =>
    !r.unsubscribed?.has(kind) && decide(r.layers, (layer) => layer.email[SWITCH_OF[kind]], fallback);
  const muted = (r: Recipient, alert: Raised, at: number) =>
    [...mutes.values()].some((m) => {
      const liveAt = (t: number) => m.from <= t && t < m.until && (m.deleted === undefined || t < m.deleted);
      return (m.owner === undefined || m.owner === r.user) && matches(m.match, alert) && (liveAt(alert.at) || liveAt(at));
    });
  /** A summary's lines: each lone alert's key, each flood's dedup key with the count of its alerts here. */
  const linesOf = (alerts: readonly Raised[]) => {
    const floods = new Map<string, { dedupKey: string; count: number }>();
    const lines: string[] = [];
    for (const a of alerts) {
      if (a.flood === undefined || a.dedupKey === undefined) lines.push(a.key);
      else floods.set(a.flood, { dedupKey: a.dedupKey, count: (floods.get(a.flood)?.count ?? 0) + 1 });
    }
    for (const { dedupKey, count } of floods.values()) lines.push(`${dedupKey}×${count}`);
    return lines.sort();
  };
  /** The floods and addresses already sent (or refused) their one immediate email. */
  const immediateOf = new Set<string>();

  /** A report is sent this long after its window's end or report time (the test holds its clock there while it is sent). */
  const SENT_AFTER = 1_500;
  let smtpFailing = false;
  /** The administrators told of the incident in progress (users' indexes), told again when it ends, each in its language of then. */
  let incident: number[] | undefined;
  const administrators = () =>
    users.flatMap((u, i) =>
      u.active && !u.deleted && [u.roles, ...groupsOf(i).map((g) => g.roles)].some((roles) => roles.includes('Administrator')) ? [i] : [],
    );
  const notice = (at: number) => (i: number) => {
    emails.push({ to: users[i]!.email, kind: 'mail-health', language: users[i]!.language ?? tenantLanguage, at });
  };
  /** send is an email going out at `at`: through a failing server it fails, and the first failure starts an incident; the first taken after ends it. */
  const send = (email: ExpectedEmail, at: number) => {
    if (smtpFailing) {
      if (incident) return;
      incident = administrators();
      raised.push({ key: 'health', severity: 'Error', component: 'Tocsin', event: 'Mail.DeliveryFailing', at });
      incident.forEach(notice(at));
      return;
    }
    emails.push(email);
    incident?.forEach(notice(at));
    incident = undefined;
  };

  /**
   * summaries decides the summaries of the window(s) from start to end, sent at `decidedAt`: its
   * end, or a restart's for a catch-up, which is judged as at its end all the same (the email the
   * stop held back: its mutes are those of the window's end, not those of the restart).
   */
  const summaries = (start: number, end: number, decidedAt = end) => {
    if (!enabled) return;
    for (const r of recipients()) {
      if (!emailOn(r, 'summary', true)) continue;
      const alerts = raised.filter(
        (a) => a.at >= start && a.at < end && (a.severity === 'Fatal' || a.severity === 'Error') && wants(r, a) && !muted(r, a, end),
      );
      if (alerts.length > 0) send({ to: r.address, kind: 'summary', language: r.language, at: start, alerts: linesOf(alerts) }, decidedAt + SENT_AFTER);
    }
  };
  /** daily decides the daily report ending at `end`, sent at `decidedAt`: its time, or a restart's after it ("a missed daily report once"), judged as at its time all the same. */
  const daily = (end: number, decidedAt: number) => {
    if (!enabled) return;
    for (const r of recipients()) {
      if (!emailOn(r, 'daily', true)) continue;
      const alerts = raised.filter((a) => a.at >= end - 86_400_000 && a.at < end && wants(r, a) && !muted(r, a, end));
      if (alerts.length === 0 && !plan.sendEmptyDailyReport) continue;
      const rows = new Map<string, number>();
      for (const a of alerts) rows.set(`${a.event} ${a.severity}`, (rows.get(`${a.event} ${a.severity}`) ?? 0) + 1);
      send({ to: r.address, kind: 'daily', language: r.language, at: end, rows: [...rows.values()].sort((x, y) => y - x) }, decidedAt + SENT_AFTER);
    }
  };

  let window = 0;
  /** When the server last started again (0: it ran throughout). */
  let restarted = 0;
  const windowEnd = (w: number) => plan.start + (w + 1) * plan.windowMs;
  for (const step of plan.steps) {
    while (step.at >= windowEnd(window)) {
      summaries(windowEnd(window) - plan.windowMs, windowEnd(window));
      window += 1;
    }
    answers.push(take(step));
  }
  for (; window < plan.windows; window++) summaries(windowEnd(window) - plan.windowMs, windowEnd(window));
  daily(plan.dailyAt, Math.max(plan.dailyAt, restarted));
  return { emails, answers };

  function take(step: Step): StepAnswer {
    switch (step.do) {
      case 'raise':
        for (const alert of step.alerts) {
          const before = raised.findLast((a) => alert.dedupKey !== undefined && a.dedupKey === alert.dedupKey);
          const flood = alert.dedupKey === undefined ? undefined : before && step.at - before.at < FLOOD_MS ? before.flood : alert.key;
          const it: Raised = { ...alert, at: step.at, ...(flood ? { flood } : {}) };
          raised.push(it);
          if (alert.severity !== 'Fatal' || !enabled) continue;
          for (const r of recipients()) {
            // "One email per Fatal alert", and a flood is one alert repeated (PRODUCT §3): one email per flood and recipient.
            if (flood && immediateOf.has(`${flood} ${r.address}`)) continue;
            if (emailOn(r, 'immediate', false) && wants(r, alert) && !muted(r, it, step.at)) {
              if (flood) immediateOf.add(`${flood} ${r.address}`);
              send({ to: r.address, kind: 'immediate', language: r.language, at: step.at, alerts: [alert.dedupKey ?? alert.key] }, step.at);
            }
          }
        }
        return 'ok';
      case 'preferences':
        apply(users[step.user]!.own, step.body);
        return 'ok';
      case 'group-rules':
        apply(groups[step.group]!.rules, step.body);
        return 'ok';
      case 'mute':
        mutes.set(step.key, { key: step.key, match: step.match, from: step.at, until: step.until });
        return 'ok';
      case 'snooze':
        if (!userMaySee(step.user)) return 'refused';
        mutes.set(step.key, { key: step.key, owner: step.user, match: step.match, from: step.at, until: step.until });
        return 'ok';
      case 'unmute': {
        const mute = mutes.get(step.key);
        if (mute && mute.deleted === undefined) mute.deleted = step.at;
        return 'ok';
      }
      case 'acknowledge':
      case 'read':
        return userMaySee(step.user) ? 'ok' : 'refused';
      case 'patch-user': {
        const u = users[step.user]!;
        if (step.patch.active !== undefined) u.active = step.patch.active;
        if (step.patch.roles !== undefined) u.roles = [...step.patch.roles];
        if (step.patch.language !== undefined) u.language = step.patch.language;
        return 'ok';
      }
      case 'members':
        groups[step.group]!.members = [...step.members];
        return 'ok';
      case 'alerts-email':
        enabled = step.enabled;
        return 'ok';
      case 'delete-alert':
        raised.splice(
          raised.findIndex((a) => a.key === step.alert),
          1,
        );
        return 'ok';
      case 'delete-user':
        users[step.user]!.deleted = true;
        for (const g of groups) g.members = g.members.filter((m) => m !== step.user);
        return 'ok';
      case 'delete-group':
        groups[step.group]!.deleted = true;
        return 'ok';
      case 'role-permissions':
        roles.set(step.role, step.permissions);
        return 'ok';
      case 'tenant-language':
        tenantLanguage = step.language;
        return 'ok';
      case 'patch-group': {
        const g = groups[step.group]!;
        if (step.patch.language !== undefined) g.language = step.patch.language;
        if (step.patch.expandMembers !== undefined) g.expandMembers = step.patch.expandMembers;
        if (step.patch.roles !== undefined) g.roles = [...step.patch.roles];
        return 'ok';
      }
      case 'smtp':
        smtpFailing = step.failing;
        return 'ok';
      case 'restart': {
        // PRODUCT §3: "after downtime, missed 10-minute windows are sent as one catch-up summary".
        // The windows after the plan's last have no alerts: the catch-up ends with the last.
        restarted = step.until;
        const first = window;
        while (window < plan.windows && windowEnd(window) <= step.until) window += 1;
        if (window > first) summaries(windowEnd(first) - plan.windowMs, windowEnd(window - 1), step.until);
        return 'ok';
      }
      case 'unsubscribe': {
        if (!emails.some((e) => e.to === step.to && e.kind === step.kind)) return 'ok';
        const user = users.findIndex((u) => u.email === step.to);
        if (user >= 0) users[user]!.own.email[SWITCH_OF[step.kind]] = false;
        else groups.find((g) => g.email === step.to)?.unsubscribed.add(step.kind);
        return 'ok';
      }
    }
  }
}
