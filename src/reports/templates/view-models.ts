import type { Severity } from '../../alerts/severity.js';
import type { SmtpSecurity } from '../../delivery/contract.js';
import type { AlertActionUrls } from '../../actions/links.js';
import type { Language } from '../../i18n/languages.js';
import type { ComponentTrend, FailingSource, NoisySource, RecoveredSource, SourceHealth } from '../daily-health.js';
import type { SourceKey, SourceTotals } from '../source-groups.js';

/**
 * The view models are what the reports code hands to the renderers: plain data, already decided
 * (who, which alerts, which window) and already resolved (display names in the recipient's
 * language, absolute links), so that rendering is a pure function of them. Times are epoch ms.
 */

/** RecipientView is who one email is for: a user, or a group mailbox in the group's language. */
export interface RecipientView {
  /** Shown in the greeting; a group's name for a group mailbox; omitted means no name. */
  readonly name?: string | undefined;
  /** A group's own address (a shared mailbox) rather than a user: its footer does not say "you subscribed". */
  readonly group?: boolean | undefined;
  readonly language: Language;
  /** IANA zone the times are shown in: the user's, else the tenant's. */
  readonly timeZone: string;
}

/** TenantView is the tenant an email is about. */
export interface TenantView {
  /** The tenant's name (`[a-z0-9-]`), used in `X-Tocsin-Tenant` and in threading ids. */
  readonly name: string;
  readonly displayName: string;
  /** The tenant's IANA zone: the day of the threading id is the tenant's day. */
  readonly timeZone: string;
}

/** AlertSourceView is where an alert came from; every part is optional, as in AlertInput. */
export interface AlertSourceView {
  readonly process?: string | undefined;
  readonly robot?: string | undefined;
  readonly machine?: string | undefined;
  readonly queue?: string | undefined;
  readonly job?: string | undefined;
}

/**
 * AlertGroupView is one line of a summary: one alert, or every alert of the window sharing a
 * dedup key (collapsed to "×count", showing the first one’s message, source and event, and the first and last times).
 */
export interface AlertGroupView {
  readonly severity: Severity;
  readonly component: string;
  /** The component's name in the recipient's language (`componentDisplayName` of the catalogue). */
  readonly componentDisplayName: string;
  readonly event: string;
  /** The event's name in the recipient's language (`eventDisplayName` of the catalogue). */
  readonly eventDisplayName: string;
  readonly message: string;
  readonly source?: AlertSourceView | undefined;
  readonly folder?: string | undefined;
  readonly dedupKey?: string | undefined;
  /** How many alerts this line stands for (1 when there is no dedup key). */
  readonly count: number;
  readonly firstAt: number;
  readonly lastAt: number;
  /** The console's alert list filtered to this line's source (e.g. its event and the window), see alertListUrl. */
  readonly url?: string | undefined;
  /** The recipient's own links to mute (for everyone), snooze (for itself) or acknowledge this line. */
  readonly actions?: AlertActionUrls | undefined;
  /** Who acknowledged the line's flood ("I'm on it"), and when. */
  readonly acknowledged?: { readonly name: string; readonly at: number } | undefined;
}

/** AlertView is one alert in full, as the Fatal-immediately email shows it. */
export interface AlertView extends AlertGroupView {
  readonly id: string;
  /** The alert's JSON data, shown as a few key/value lines. */
  readonly data?: Readonly<Record<string, unknown>> | undefined;
}

/** ReportLinks are the links every report carries; `unsubscribe` is the one-click URL. */
export interface ReportLinks {
  /** The recipient's alert preferences in the console. */
  readonly preferences: string;
  /** One-click unsubscribe from this kind of email (RFC 8058); also the `List-Unsubscribe` URL. */
  readonly unsubscribe: string;
}

/**
 * SourceGroupView is one group of "what failed" (a process, robot or queue, else a component; see
 * sourceKeyOf) over a whole period: its worst severity, count, first and last time, and a link.
 */
export interface SourceGroupView extends SourceTotals {
  /** The key's value for people: a component's display name; a source's own value when left out. */
  readonly label?: string | undefined;
  /** The console's alert list filtered to this source and period (see alertListUrl). */
  readonly url?: string | undefined;
  /** Whether this process, robot or queue was still failing at the period's end or recovered (a Success or Info alert came after its last failure). */
  readonly health?: SourceHealth | undefined;
}

/** SummaryEmailView is one recipient's 10-minute Error summary, or a catch-up of several windows. */
export interface SummaryEmailView {
  readonly recipient: RecipientView;
  readonly tenant: TenantView;
  /** The most bytes of HTML it may have (fitUnderBudget's); SHORTER_HTML_BUDGET after a server refused it as too large. */
  readonly htmlBudget?: number | undefined;
  /** Start (inclusive) and end (exclusive) of the period; several windows long for a catch-up. */
  readonly window: { readonly start: number; readonly end: number };
  /** How many summary windows the period covers: more than 1 makes it a catch-up summary. */
  readonly windowCount: number;
  /** Every Fatal and Error alert of the period for this recipient, counting collapsed repeats. */
  readonly totalAlerts: number;
  /** How many of totalAlerts are Fatal, which the subject names; left out, those of the groups. */
  readonly fatalAlerts?: number | undefined;
  /**
   * The lines, in any order (the renderer sorts them, most severe first); it shows at most
   * SUMMARY_MAX_LINES of them, so the caller needs to load no more than that.
   */
  readonly groups: readonly AlertGroupView[];
  /**
   * The figures of every source group of the period (all its alerts, not only the lines shown),
   * with their links; the lines are shown under them. Left out, groups are made from the lines.
   */
  readonly sources?: readonly SourceGroupView[] | undefined;
  /**
   * The Fatal and Error alerts of the period (collapsed repeats counted) that the recipient
   * subscribes to but that mutes or its own snoozes keep out of emails, and those mutes; left out, none.
   */
  readonly muted?: { readonly alerts: number; readonly mutes: readonly MuteLineView[] } | undefined;
  readonly links: ReportLinks & {
    /** The console's alert list filtered to this period, severity Error and above (see alertListUrl). */
    readonly seeMore: string;
  };
}

/** EventCountView is one row of the daily report: how many alerts of one event and severity. */
export interface EventCountView {
  readonly severity: Severity;
  readonly component: string;
  readonly componentDisplayName: string;
  readonly event: string;
  readonly eventDisplayName: string;
  readonly count: number;
  /** The recipient's links to mute or snooze this event, and to acknowledge its alerts' flood when they are all of one. */
  readonly actions?: AlertActionUrls | undefined;
}

/** MatchPartView is one value a mute matches: `robot` R7, or `event` "Robot went offline". */
export interface MatchPartView {
  readonly field: 'component' | 'event' | 'process' | 'robot' | 'queue';
  readonly value: string;
}

/** MuteLineView is one mute in force that the daily report lists. */
export interface MuteLineView {
  /** What it matches, each part with the field's name (display names for component and event). */
  readonly what: readonly MatchPartView[];
  readonly until: number;
  /** Who made it. */
  readonly by: string;
  /** The recipient's own snooze, rather than a mute for everyone. */
  readonly snooze: boolean;
}

/** HealthSourceLink is a source the health section names, with the console's list of its alerts in the period. */
interface HealthSourceLink {
  readonly key: SourceKey;
  readonly url?: string | undefined;
}

/**
 * DailyHealthView is the daily report's health section (see dailyHealth): alerts per component
 * against the day before, the sources still failing and those recovered, the noisiest sources.
 */
export interface DailyHealthView {
  readonly components: readonly (ComponentTrend & { readonly componentDisplayName: string })[];
  /**
   * Each with who acknowledged the flood of its last failure ("I'm on it"), and when, if someone did,
   * and the recipient's link to acknowledge that flood (none for a group mailbox).
   */
  readonly stillFailing: readonly (FailingSource &
    HealthSourceLink & { readonly acknowledged?: AlertGroupView['acknowledged']; readonly actions?: AlertActionUrls | undefined })[];
  /** How many more sources are still failing than the list names (see HEALTH_LIST_MAX). */
  readonly moreStillFailing?: number | undefined;
  readonly recovered: readonly (RecoveredSource & HealthSourceLink)[];
  /** How many more sources recovered than the list names. */
  readonly moreRecovered?: number | undefined;
  readonly noisiest: readonly (NoisySource & HealthSourceLink)[];
}

/** DailyEmailView is one recipient's daily Alerts summary; no rows makes it the "all quiet" report. */
export interface DailyEmailView {
  readonly recipient: RecipientView;
  readonly tenant: TenantView;
  /** The most bytes of HTML it may have (fitUnderBudget's); SHORTER_HTML_BUDGET after a server refused it as too large. */
  readonly htmlBudget?: number | undefined;
  /** The 24 hours (23 or 25 across a daylight-saving change) ending at the report time. */
  readonly period: { readonly start: number; readonly end: number };
  /** Counts per event and severity of the period; empty for the "all quiet" report. */
  readonly counts: readonly EventCountView[];
  /** The mutes in force that cover the recipient: the tenant's, and its own snoozes. */
  readonly mutes?: readonly MuteLineView[] | undefined;
  /** How many alerts of the period the recipient subscribes to were left out as muted for it. */
  readonly mutedAlerts?: number | undefined;
  /** The health section; left out (or with no components) the report has none. */
  readonly health?: DailyHealthView | undefined;
  readonly links: ReportLinks & {
    /** The console's alert list over the period (see alertListUrl). */
    readonly viewAll: string;
  };
}

/** ImmediateEmailView is one Fatal alert, sent at once to those who opted in. */
export interface ImmediateEmailView {
  readonly recipient: RecipientView;
  readonly tenant: TenantView;
  /** The alert; `count` more than 1 says repeats of its dedup key were held back by flood control. */
  readonly alert: AlertView;
  readonly links: ReportLinks & {
    /** The console's alert list showing this alert (see alertListUrl). */
    readonly alert: string;
  };
}

/** TestedSettings are what the test email says it tested: the server, its security and the sender. */
export interface TestedSettings {
  readonly host: string;
  readonly port: number;
  readonly security: SmtpSecurity;
  readonly fromAddress: string;
}

/** TestEmailInput is what Test Mail Settings knows when it sends its email. */
export interface TestEmailInput {
  readonly language: Language;
  /** The tenant whose settings are tested; none for the host's system default. */
  readonly tenant?: { readonly name: string; readonly displayName: string } | undefined;
  readonly sentAt: number;
  readonly timeZone: string;
  /** The settings tested, written out in the email in the user's language. */
  readonly tested: TestedSettings;
}
