import type { Generated } from 'kysely';

/** MailSettingsTables are each tenant's mail settings (the seed's Mail tab). */
export interface MailSettingsTables {
  /** One row per tenant that saved mail settings (or changed its time zone); a tenant without a row has the defaults (alert emails off). */
  tenant_mail_settings: {
    tenant_id: string;
    alerts_email_enabled: number;
    use_custom: number;
    daily_report_time: string;
    /** When daily_report_time, or the tenant's time zone, was last changed (ms; null: never): a report instant moved to one already passed waits for the next day (dailyWindowIfDue). */
    daily_report_time_changed_at: number | null;
    send_empty_daily_report: number;
    /** The custom SMTP settings without secrets (JSON), kept while the tenant uses the default. */
    custom_smtp: string | null;
    /** The custom SMTP password, sealed by SecretBox for `tenant:<id>:smtp-password`. */
    custom_password: string | null;
    /** The custom XOAUTH2 access token, sealed for `tenant:<id>:smtp-access-token`. */
    custom_access_token: string | null;
    /** 1: alert emails go through the system default while the custom server fails permanently. */
    fallback_to_default: Generated<number>;
    updated_at: number;
  };
  /** One row per tenant whose deliveries were ever observed; none reads as healthy. */
  tenant_mail_health: {
    tenant_id: string;
    /** `ok` or `failing`. */
    state: string;
    /** When the state began (for `failing`, the first failure of the incident). */
    since: number | null;
    last_code: number | null;
    /** The server's last reply or the error, never a secret. */
    last_error: string | null;
    /** 1 after a permanent failure, until an email gets through or the settings change (what `fallbackToDefault` acts on). */
    permanent: number;
    /** The first transient failure since the last success, while they go on. */
    transient_since: number | null;
    /** Counts the failing incidents; the current or last one. */
    incident: number;
    updated_at: number;
  };
  /** The notices of each incident (`failing`, `recovered`, per channel): at most one row each. */
  mail_health_notices: {
    tenant_id: string;
    incident: number;
    kind: string;
    created_at: number;
  };
  /** When each of a tenant's recent test emails was let through (ms), for the limit of Test Mail Settings; at most 10 a tenant, those over a minute old deleted at its next test. */
  test_mail_turns: {
    tenant_id: string;
    at: number;
  };
  /** The same for the host administrator's tests of the system settings. */
  system_test_mail_turns: {
    at: number;
  };
}
