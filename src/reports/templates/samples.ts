import { componentDisplayName, eventDisplayName, findEvent } from '../../alerts/catalogue.js';
import type { Severity } from '../../alerts/severity.js';
import type { RenderedEmail } from '../../delivery/contract.js';
import { type MailHealthNoticeInput, type MailHealthNoticeKind, renderMailHealthNotice } from '../../mail-health/notices.js';
import type { Language } from '../../i18n/languages.js';
import { renderDailyEmail } from './daily-email.js';
import type { TemplateName } from './email-html.js';
import { renderImmediateEmail } from './immediate-email.js';
import { alertListUrl, mailSettingsUrl, preferencesUrl } from './links.js';
import { renderSummaryEmail } from './summary-email.js';
import { renderTestEmail } from './test-email.js';
import { byTrend } from '../daily-health.js';
import { SourceTally } from '../source-groups.js';
import { latestDailyWindow, parseReportTime, summaryWindowEnd } from '../windows.js';
import type {
  AlertGroupView,
  AlertSourceView,
  DailyEmailView,
  DailyHealthView,
  ImmediateEmailView,
  SourceGroupView,
  SummaryEmailView,
  TenantView,
  TestEmailInput,
} from './view-models.js';

/** SampleContext is what a sample email depends on: the tenant, the reader, the time and the console URL. */
export interface SampleContext {
  readonly tenant: TenantView;
  readonly language: Language;
  readonly timeZone: string;
  readonly now: number;
  /** The base of the links, without a trailing slash (as Config.publicUrl). */
  readonly publicUrl: string;
  /** The length of a summary window, in seconds. */
  readonly summaryIntervalSeconds: number;
  /** The tenant's daily report time (`HH:MM` or `HH:MM:SS` on its clock): the daily sample ends at the latest one. */
  readonly dailyReportTime?: string | undefined;
}

/** SAMPLE_NOW is the instant the samples are rendered at: 27 Nov 2026, 10:03 in Paris, the last summary window 09:50–10:00 there. */
export const SAMPLE_NOW = Date.UTC(2026, 10, 27, 9, 3, 0);

/**
 * sampleContext is the context docs/emails and the email tests render the samples in: the tenant
 * acme ("Acme Finance", Paris), a reader in `language` on Paris time at SAMPLE_NOW, links under
 * https://tocsin.example.com, 10-minute summaries; `overrides` change any of it.
 */
export function sampleContext(language: Language, overrides: Partial<SampleContext> = {}): SampleContext {
  return {
    tenant: { name: 'acme', displayName: 'Acme Finance', timeZone: 'Europe/Paris' },
    language,
    timeZone: 'Europe/Paris',
    now: SAMPLE_NOW,
    publicUrl: 'https://tocsin.example.com',
    summaryIntervalSeconds: 600,
    ...overrides,
  };
}

interface SampleAlert {
  readonly event: string;
  readonly severity?: Severity;
  readonly message: string;
  readonly source: AlertSourceView;
  readonly folder: string;
  readonly count: number;
  /** Minutes into the window of the first occurrence, and between repeats. */
  readonly at: number;
  readonly every?: number;
}

// Alerts as Orchestrator raises them (reference, section 2): robots, jobs, queues, triggers, custom.
const SAMPLE_ALERTS: readonly SampleAlert[] = [
  {
    event: 'Process.JobExecution.Faulted',
    message: "Job 'InvoiceProcessing' faulted: System.TimeoutException: the SAP logon screen did not appear within 30 seconds.",
    source: { process: 'InvoiceProcessing', robot: 'FIN-UNATT-03', job: '7d1e4b52' },
    folder: 'Finance/Invoicing',
    count: 4,
    at: 0.5,
    every: 2,
  },
  {
    event: 'Robot.StatusChanged.Offline',
    message: "Robot 'FIN-UNATT-07' is offline: the machine VM-FIN-07 stopped sending heartbeats.",
    source: { robot: 'FIN-UNATT-07', machine: 'VM-FIN-07' },
    folder: 'Finance/Invoicing',
    count: 1,
    at: 3.2,
  },
  {
    event: 'Queue.TransactionStatus.FailedWithApplicationException',
    message: "Queue item 'INV-2026-0412' failed: UiPath.Core.SelectorNotFoundException: could not find the 'Submit' button.",
    source: { queue: 'Invoices', process: 'InvoiceProcessing' },
    folder: 'Finance/Invoicing',
    count: 7,
    at: 1.1,
    every: 1.2,
  },
  {
    event: 'Schedule.NoJobCreated',
    message: "Trigger 'Nightly payroll export' created no job: no robot is available in folder HR.",
    source: { process: 'PayrollExport' },
    folder: 'HR',
    count: 1,
    at: 6,
  },
  {
    event: 'Process.RaiseAlert',
    severity: 'Error',
    message: 'The bank statement file for yesterday is missing from the SFTP share.',
    source: { process: 'BankReconciliation', robot: 'FIN-UNATT-01' },
    folder: 'Finance/Treasury',
    count: 1,
    at: 8.4,
  },
];

// The day's counts of the daily sample: [event, severity when not the catalogue's default, count].
const SAMPLE_DAY: readonly (readonly [string, Severity | undefined, number])[] = [
  ['Robot.StatusChanged.Offline', undefined, 2],
  ['Process.JobExecution.Faulted', undefined, 14],
  ['Queue.TransactionStatus.FailedWithApplicationException', undefined, 23],
  ['Schedule.NoJobCreated', undefined, 1],
  ['Queue.TransactionStatus.FailedWithBusinessException', undefined, 41],
  ['Queue.Sla.AtRisk', undefined, 3],
  ['Robot.StatusChanged.Available', undefined, 12],
  ['Task.Assigned', undefined, 9],
  ['Process.RaiseAlert', 'Success', 30],
];

// The alerts of each component the day before the daily sample, which its health section compares with.
const SAMPLE_DAY_BEFORE: Readonly<Record<string, number>> = { Transactions: 58, Process: 41, Jobs: 9, Tasks: 11, Robots: 3, Queues: 2 };

const SAMPLE_RECIPIENT_NAME = 'Camille Martin';

function catalogued(event: string, language: Language, severity?: Severity) {
  return {
    event,
    eventDisplayName: eventDisplayName(event, language),
    component: findEvent(event)?.component ?? 'Process',
    componentDisplayName: componentDisplayName(findEvent(event)?.component ?? 'Process', language),
    severity: severity ?? findEvent(event)?.defaultSeverity ?? 'Error',
  };
}

function links(context: SampleContext, kind: string) {
  return {
    preferences: preferencesUrl(context.publicUrl, context.tenant.name),
    unsubscribe: `${context.publicUrl}/unsubscribe/sample-${kind}-token`,
  };
}

/** sampleActions are a recipient's action links (a holder of Alerts.Edit), with readable fake tokens. */
function sampleActions(context: SampleContext, line: string, acknowledge = true) {
  const url = (action: string) => `${context.publicUrl}/actions/sample-${action}-${line}-token`;
  return { mute: url('mute'), snooze: url('snooze'), ...(acknowledge ? { acknowledge: url('acknowledge') } : {}) };
}

const SAMPLE_COLLEAGUE = 'Sam Lee';

/** lastWindow is the last whole summary window before `now`, aligned on the tenant's clock. */
function lastWindow(context: SampleContext): { start: number; end: number } {
  const length = context.summaryIntervalSeconds * 1000;
  const end = summaryWindowEnd(context.now, length, context.tenant.timeZone);
  return { start: end - length, end };
}

function sampleGroups(context: SampleContext, start: number, length: number): AlertGroupView[] {
  const minute = Math.min(60_000, length / 10);
  return SAMPLE_ALERTS.map((alert, index) => {
    const firstAt = start + Math.round(alert.at * minute) + index * 997;
    return {
      ...catalogued(alert.event, context.language, alert.severity),
      message: alert.message,
      source: alert.source,
      folder: alert.folder,
      ...(alert.count > 1 ? { dedupKey: `${alert.event}:${alert.source.process ?? alert.source.robot}` } : {}),
      count: alert.count,
      firstAt,
      lastAt: firstAt + Math.round((alert.count - 1) * (alert.every ?? 0) * minute),
      url: alertListUrl(context.publicUrl, { tenant: context.tenant.name, event: alert.event, since: start, until: start + length }),
      actions: sampleActions(context, String(index)),
      // A colleague took the offline robot on: later summaries say so.
      ...(alert.event === 'Robot.StatusChanged.Offline' ? { acknowledged: { name: SAMPLE_COLLEAGUE, at: firstAt + 120_000 } } : {}),
    };
  });
}

/** sourceViews are the groups of what failed of some lines, each linked to its alerts in the console. */
function sourceViews(context: SampleContext, lines: readonly AlertGroupView[], window: { start: number; end: number }): SourceGroupView[] {
  const tally = new SourceTally();
  for (const line of lines) tally.add(line);
  return tally.totals().map((totals) => ({
    ...totals,
    // A robot that came back after failing; a process or queue still failing; a component says neither.
    health: totals.key.field === 'component' ? undefined : totals.key.field === 'robot' ? 'recovered' : 'stillFailing',
    url: alertListUrl(context.publicUrl, {
      tenant: context.tenant.name,
      severity: 'Error',
      since: window.start,
      until: window.end,
      source: { [totals.key.field]: totals.key.value },
    }),
  }));
}

/** sampleHealth is a realistic health section: a few components against the day before, failing, recovered and noisy sources. */
function sampleHealth(context: SampleContext, period: { start: number; end: number }): DailyHealthView {
  const url = (field: 'process' | 'robot' | 'queue', value: string) =>
    alertListUrl(context.publicUrl, { tenant: context.tenant.name, since: period.start, until: period.end, source: { [field]: value } });
  const source = (field: 'process' | 'robot' | 'queue', value: string) => ({ key: { field, value }, url: url(field, value) });
  // The day's counts per component are those of the event rows above the section, as in a real report.
  const today = new Map<string, number>();
  for (const [event, , count] of SAMPLE_DAY) {
    const { component } = catalogued(event, context.language);
    today.set(component, (today.get(component) ?? 0) + count);
  }
  const components = [...today].map(([component, count]) => ({ component, count, previous: SAMPLE_DAY_BEFORE[component] ?? 0 })).sort(byTrend);
  return {
    components: components.map((trend) => ({ ...trend, componentDisplayName: componentDisplayName(trend.component, context.language) })),
    stillFailing: [
      // Someone is on the queue: the report says who, as a summary's line does.
      {
        ...source('queue', 'Invoices'),
        failures: 23,
        lastFailureAt: period.end - 14 * 60_000,
        acknowledged: { name: SAMPLE_COLLEAGUE, at: period.end - 10 * 60_000 },
        actions: { acknowledge: sampleActions(context, 'invoices').acknowledge },
      },
      // Each source still failing offers the reader's "I'm on it" for its last failure's flood.
      {
        ...source('process', 'PayrollExport'),
        failures: 1,
        lastFailureAt: period.end - 9 * 3_600_000,
        actions: { acknowledge: sampleActions(context, 'payroll').acknowledge },
      },
    ],
    recovered: [
      { ...source('robot', 'FIN-UNATT-07'), lastFailureAt: period.end - 6 * 3_600_000 },
      { ...source('process', 'BankReconciliation'), lastFailureAt: period.start - 3 * 3_600_000 },
    ],
    noisiest: [
      { ...source('queue', 'Invoices'), count: 64 },
      { ...source('process', 'InvoiceProcessing'), count: 31 },
      { ...source('robot', 'FIN-UNATT-07'), count: 14 },
      { ...source('process', 'HRWorkflows'), count: 9 },
      { ...source('process', 'PayrollExport'), count: 1 },
    ],
  };
}

/** sampleSummary is a realistic Error summary of the last window before `now`. */
export function sampleSummary(context: SampleContext): SummaryEmailView {
  const window = lastWindow(context);
  const groups = sampleGroups(context, window.start, window.end - window.start);
  return {
    recipient: { name: SAMPLE_RECIPIENT_NAME, language: context.language, timeZone: context.timeZone },
    tenant: context.tenant,
    window,
    windowCount: 1,
    totalAlerts: groups.reduce((sum, group) => sum + group.count, 0),
    groups,
    sources: sourceViews(context, groups, window),
    links: {
      ...links(context, 'summary'),
      seeMore: alertListUrl(context.publicUrl, {
        tenant: context.tenant.name,
        severity: 'Error',
        since: window.start,
        until: window.end,
      }),
    },
  };
}

/**
 * sampleDaily is a realistic daily report of the tenant's latest daily period (ending at its report
 * time, 23 or 25 hours across a change), or of the 24 hours before `now` without a report time;
 * `quiet` makes it the empty one.
 */
export function sampleDaily(context: SampleContext, quiet = false): DailyEmailView {
  const period =
    context.dailyReportTime === undefined
      ? { start: context.now - 86_400_000, end: context.now }
      : latestDailyWindow(context.now, parseReportTime(context.dailyReportTime), context.tenant.timeZone);
  return {
    recipient: { name: SAMPLE_RECIPIENT_NAME, language: context.language, timeZone: context.timeZone },
    tenant: context.tenant,
    period,
    counts: quiet
      ? []
      : SAMPLE_DAY.map(([event, severity, count], index) => ({
          ...catalogued(event, context.language, severity),
          count,
          // A row of one flood (here, one alert) offers "I'm on it" too, as a summary line does.
          actions: sampleActions(context, String(index), count === 1),
        })),
    mutes: quiet ? [] : [{ what: [{ field: 'robot', value: 'FIN-UNATT-07' }], until: context.now + 5 * 3_600_000, by: SAMPLE_COLLEAGUE, snooze: false }],
    health: quiet ? undefined : sampleHealth(context, period),
    links: {
      ...links(context, 'daily'),
      viewAll: alertListUrl(context.publicUrl, { tenant: context.tenant.name, since: period.start, until: period.end }),
    },
  };
}

/** sampleImmediate is a realistic Fatal alert raised a minute before `now`. */
export function sampleImmediate(context: SampleContext): ImmediateEmailView {
  const occurredAt = context.now - 60_000;
  return {
    recipient: { name: SAMPLE_RECIPIENT_NAME, language: context.language, timeZone: context.timeZone },
    tenant: context.tenant,
    alert: {
      id: '019ac5f0-0000-7000-8000-000000000001',
      ...catalogued('Robot.StatusChanged.Offline', context.language),
      message: "Robot 'FIN-UNATT-07' is offline: the machine VM-FIN-07 stopped sending heartbeats.\nLast job: InvoiceProcessing (running).",
      source: { robot: 'FIN-UNATT-07', machine: 'VM-FIN-07' },
      folder: 'Finance/Invoicing',
      count: 1,
      firstAt: occurredAt,
      lastAt: occurredAt,
      data: { machineName: 'VM-FIN-07', robotType: 'Unattended', lastHeartbeat: new Date(occurredAt - 90_000).toISOString(), runningJobs: 1 },
      actions: sampleActions(context, 'fatal'),
    },
    links: {
      ...links(context, 'immediate'),
      alert: alertListUrl(context.publicUrl, { tenant: context.tenant.name, event: 'Robot.StatusChanged.Offline', since: occurredAt }),
    },
  };
}

/** sampleTest is the Test Mail Settings email as the settings page would send it. */
function sampleTest(context: SampleContext): TestEmailInput {
  return {
    language: context.language,
    tenant: { name: context.tenant.name, displayName: context.tenant.displayName },
    sentAt: context.now,
    timeZone: context.timeZone,
    tested: { host: 'smtp.example.com', port: 587, security: 'starttls', fromAddress: 'alerts@example.com' },
  };
}

/** MAIL_HEALTH_SAMPLES name the samples of the notices to a tenant's mail administrators, by what they tell. */
export const MAIL_HEALTH_SAMPLES = {
  'mail-health-failing': 'failing',
  'mail-health-recovered': 'recovered',
  'mail-health-token': 'token-expiring',
} as const satisfies Record<string, MailHealthNoticeKind>;

/** PreviewKind is every email a preview can show: the alert emails, the test email and the mail-health notices. */
export type PreviewKind = TemplateName | keyof typeof MAIL_HEALTH_SAMPLES;

/** PREVIEW_KINDS are every PreviewKind, in the order the console lists them. */
export const PREVIEW_KINDS: readonly PreviewKind[] = [
  'summary',
  'daily',
  'immediate',
  'test',
  ...(Object.keys(MAIL_HEALTH_SAMPLES) as (keyof typeof MAIL_HEALTH_SAMPLES)[]),
];

/**
 * sampleMailHealth is a notice to an administrator: the tenant's server refusing a changed password
 * for 20 minutes, mail working again now, or an XOAUTH2 token expiring in 5 hours.
 */
function sampleMailHealth(context: SampleContext, kind: MailHealthNoticeKind): MailHealthNoticeInput {
  const at = { failing: context.now - 20 * 60_000, recovered: context.now, 'token-expiring': context.now + 5 * 3_600_000 }[kind];
  return {
    transition: kind,
    language: context.language,
    timeZone: context.timeZone,
    tenantName: context.tenant.name,
    tenantDisplayName: context.tenant.displayName,
    at,
    lastError: kind === 'failing' ? '535 5.7.8 Authentication credentials invalid' : null,
    settingsUrl: mailSettingsUrl(context.publicUrl, context.tenant.name),
    unsubscribeUrl: links(context, 'mail-health').unsubscribe,
  };
}

/** renderPreview renders the sample of any email a preview shows: renderSample's, or a mail-health notice. */
export function renderPreview(kind: PreviewKind, context: SampleContext): RenderedEmail {
  return kind in MAIL_HEALTH_SAMPLES
    ? renderMailHealthNotice(sampleMailHealth(context, MAIL_HEALTH_SAMPLES[kind as keyof typeof MAIL_HEALTH_SAMPLES]))
    : renderSample(kind as TemplateName, context);
}

/** renderSample renders the sample of one kind of email, as the preview and the docs show it. */
export function renderSample(kind: TemplateName, context: SampleContext): RenderedEmail {
  switch (kind) {
    case 'summary':
      return renderSummaryEmail(sampleSummary(context));
    case 'daily':
      return renderDailyEmail(sampleDaily(context));
    case 'immediate':
      return renderImmediateEmail(sampleImmediate(context));
    case 'test':
      return renderTestEmail(sampleTest(context));
  }
}
