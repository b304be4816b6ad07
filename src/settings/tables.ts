/** MailSettingsTables are each tenant's mail settings (the seed's Mail tab). */
export interface MailSettingsTables {
  /** One row per tenant that saved mail settings; a tenant without a row has the defaults (alert emails off). */
  tenant_mail_settings: {
    tenant_id: string;
    alerts_email_enabled: number;
    use_custom: number;
    daily_report_time: string;
    send_empty_daily_report: number;
    /** The custom SMTP settings without secrets (JSON), kept while the tenant uses the default. */
    custom_smtp: string | null;
    /** The custom SMTP password, sealed by SecretBox for `tenant:<id>:smtp-password`. */
    custom_password: string | null;
    /** The custom XOAUTH2 access token, sealed for `tenant:<id>:smtp-access-token`. */
    custom_access_token: string | null;
    updated_at: number;
  };
}
