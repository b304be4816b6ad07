import { CompiledQuery, type Selectable, sql } from 'kysely';
import { z } from 'zod';
import { fieldError, fieldErrors } from '../http/problem.js';
import type { Clock } from '../shared/clock.js';
import { sameHostName } from '../shared/host-port.js';
import { patchedValue } from '../shared/validation.js';
import { reportsDueNow } from '../reports/schedule.js';
import { retrySystemRouteNow, retryTenantNow } from '../delivery/outbox/leases.js';
import { signsInWithToken } from '../delivery/contract.js';
import { tryOwnServerAgain } from '../mail-health/store.js';
import type { Db } from '../storage/database.js';
import { sqlOnce } from '../storage/sql-once.js';
import { lockTransactionOn } from '../storage/transaction-lock.js';
import { type HostPolicy, RefusedHostError, checkSavedSmtpHost } from './host-guard.js';
import { type SecretBox, SecretDecryptError } from './secret-box.js';
import {
  MergeError,
  type SmtpSecrets,
  type SmtpSettingsInput,
  type SmtpSettingsView,
  type StoredSmtp,
  mergeSmtp,
  parseStoredSmtp,
  showSmtp,
  type UrlSmtp,
  smtpSettingsInput,
  smtpSettingsView,
} from './smtp-settings.js';
import type { MailSettingsTables } from './tables.js';

/** DEFAULT_DAILY_REPORT_TIME is when the daily report goes out, in the tenant's time zone. */
export const DEFAULT_DAILY_REPORT_TIME = '10:00';

const DAILY_REPORT_TIME = /^([01]\d|2[0-3]):[0-5]\d(:[0-5]\d)?$/;

/**
 * mailSettingsInput is the body of `PUT /settings/mail`: fields left out keep their value, `null`
 * sets a field back to a new tenant's value (API.md: null clears; `custom: null` clears the custom values).
 */
export const mailSettingsInput = z
  .object({
    alertsEmailEnabled: z.boolean().nullable(),
    useCustom: z.boolean().nullable(),
    custom: smtpSettingsInput.nullable(),
    dailyReportTime: z.string().regex(DAILY_REPORT_TIME, 'must be a time of day as HH:MM or HH:MM:SS').nullable(),
    sendEmptyDailyReport: z.boolean().nullable(),
    fallbackToDefault: z.boolean().nullable(),
  })
  .partial()
  .strict();

/** MailSettingsInput is a parsed `PUT /settings/mail` body. */
export type MailSettingsInput = z.infer<typeof mailSettingsInput>;

/** TenantMailSettings are a tenant's mail settings without secrets; what the reports need. */
export interface TenantMailSettings {
  readonly alertsEmailEnabled: boolean;
  readonly useCustom: boolean;
  /** `HH:MM` or `HH:MM:SS` in the tenant's time zone. */
  readonly dailyReportTime: string;
  /** When dailyReportTime or the tenant's time zone was last changed (ms; 0: never): see dailyWindowIfDue. */
  readonly dailyReportTimeChangedAt: number;
  readonly sendEmptyDailyReport: boolean;
  /** Alert emails go through the system default while the custom server fails permanently. */
  readonly fallbackToDefault: boolean;
  readonly custom: StoredSmtp | null;
  readonly passwordSet: boolean;
  readonly accessTokenSet: boolean;
}

/** mailSettingsView is the answer of `GET /settings/mail` (API.md `MailSettings`), as the OpenAPI document shows it. */
export const mailSettingsView = z.object({
  alertsEmailEnabled: z.boolean(),
  useCustom: z.boolean(),
  custom: smtpSettingsView.nullable(),
  dailyReportTime: z.string().describe('HH:MM or HH:MM:SS in the tenant time zone'),
  sendEmptyDailyReport: z.boolean(),
  fallbackToDefault: z.boolean(),
});
/** MailSettingsView is the type of mailSettingsView. */
export type MailSettingsView = z.infer<typeof mailSettingsView>;

/** Owners bind each sealed secret to its tenant and purpose. */
export const secretOwner = {
  password: (tenantId: string) => `tenant:${tenantId}:smtp-password`,
  accessToken: (tenantId: string) => `tenant:${tenantId}:smtp-access-token`,
};

type Row = Selectable<Omit<MailSettingsTables['tenant_mail_settings'], 'tenant_id' | 'updated_at'>>;

/**
 * NEW_TENANT_MAIL_SETTINGS are those of a tenant that never saved any: alert emails off until it
 * enables them (API.md), through the system default once enabled. A `null` in a PUT sets a field
 * back to its value here. (Tenants older than this rule got a row saying "on".)
 */
const NEW_TENANT_MAIL_SETTINGS: TenantMailSettings = Object.freeze({
  alertsEmailEnabled: false,
  useCustom: false,
  dailyReportTime: DEFAULT_DAILY_REPORT_TIME,
  dailyReportTimeChangedAt: 0,
  sendEmptyDailyReport: false,
  fallbackToDefault: false,
  custom: null,
  passwordSet: false,
  accessTokenSet: false,
});

function fromRow(row: Row | undefined): TenantMailSettings {
  if (!row) return NEW_TENANT_MAIL_SETTINGS;
  return {
    alertsEmailEnabled: row.alerts_email_enabled === 1,
    useCustom: row.use_custom === 1,
    dailyReportTime: row.daily_report_time,
    // PostgreSQL's bigint comes back as a string.
    dailyReportTimeChangedAt: Number(row.daily_report_time_changed_at ?? 0),
    sendEmptyDailyReport: row.send_empty_daily_report === 1,
    fallbackToDefault: row.fallback_to_default === 1,
    custom: parseStoredSmtp(row.custom_smtp),
    passwordSet: row.custom_password !== null,
    accessTokenSet: row.custom_access_token !== null,
  };
}

async function readRow(db: Db, tenantId: string): Promise<Row | undefined> {
  return db.selectFrom('tenant_mail_settings').selectAll().where('tenant_id', '=', tenantId).executeTakeFirst();
}

/** getMailSettings reads a tenant's mail settings (defaults when never saved), without secrets. */
export async function getMailSettings(db: Db, tenantId: string): Promise<TenantMailSettings> {
  return fromRow(await readRow(db, tenantId));
}

/** getMailSettingsOf is getMailSettings of many tenants by one query; every id asked for is in the answer. */
export async function getMailSettingsOf(db: Db, tenantIds: readonly string[]): Promise<Map<string, TenantMailSettings>> {
  if (tenantIds.length === 0) return new Map();
  const rows = await db.selectFrom('tenant_mail_settings').selectAll().where('tenant_id', 'in', tenantIds).execute();
  const byTenant = new Map(rows.map((r) => [r.tenant_id, r]));
  return new Map(tenantIds.map((id) => [id, fromRow(byTenant.get(id))]));
}

/** showMailSettings is the API answer for a tenant's settings. */
export function showMailSettings(settings: TenantMailSettings): MailSettingsView {
  return {
    alertsEmailEnabled: settings.alertsEmailEnabled,
    useCustom: settings.useCustom,
    custom: settings.custom ? showSmtp(settings.custom, { passwordSet: settings.passwordSet, accessTokenSet: settings.accessTokenSet }) : null,
    dailyReportTime: settings.dailyReportTime,
    sendEmptyDailyReport: settings.sendEmptyDailyReport,
    fallbackToDefault: settings.fallbackToDefault,
  };
}

/** openCustomSecrets decrypts a tenant's stored custom secrets (throws SecretDecryptError if tampered). */
export async function openCustomSecrets(db: Db, secretBox: SecretBox, tenantId: string): Promise<SmtpSecrets> {
  return customSecretsOf(await readRow(db, tenantId), secretBox, tenantId);
}

function customSecretsOf(row: Row | undefined, secretBox: SecretBox, tenantId: string): SmtpSecrets {
  return {
    password: row?.custom_password ? secretBox.open(row.custom_password, secretOwner.password(tenantId)) : null,
    accessToken: row?.custom_access_token ? secretBox.open(row.custom_access_token, secretOwner.accessToken(tenantId)) : null,
  };
}

/**
 * mergeOrExplain merges an SmtpSettings input over stored values, turning a missing required
 * field into a 400 naming it under `prefix`.
 */
export function mergeOrExplain(prefix: string, stored: StoredSmtp | null, secrets: SmtpSecrets, input: SmtpSettingsInput) {
  try {
    return mergeSmtp(stored, secrets, input);
  } catch (err) {
    if (err instanceof MergeError) throw fieldErrors(err.fields.map(({ path, message }) => ({ path: `${prefix}${path}`, message })));
    throw err;
  }
}

/** SECRET_UNREADABLE is the refusal of a saved secret that no longer decrypts, on the field that asks for it again. */
export const SECRET_UNREADABLE = 'the stored value no longer decrypts (the secret key changed): enter it again';

/**
 * mergeOverCustom merges an SmtpSettings input over a tenant's stored custom values. Only the
 * secrets the input keeps are decrypted; one that no longer decrypts (the secret key changed) is a
 * 400 asking for it again rather than a failure.
 */
export async function mergeOverCustom(db: Db, secretBox: SecretBox, tenantId: string, prefix: string, stored: StoredSmtp | null, input: SmtpSettingsInput) {
  const row = await readRow(db, tenantId);
  const kept = (field: 'password' | 'accessToken', sealed: string | null | undefined): string | null => {
    if (input[field] !== undefined || !sealed) return null;
    try {
      return secretBox.open(sealed, secretOwner[field](tenantId));
    } catch (err) {
      if (err instanceof SecretDecryptError) throw fieldError(`${prefix}${field}`, SECRET_UNREADABLE);
      throw err;
    }
  };
  const secrets = { password: kept('password', row?.custom_password), accessToken: kept('accessToken', row?.custom_access_token) };
  return mergeOrExplain(prefix, stored, secrets, input);
}

/** lockMailSettings holds a tenant's mail settings for the transaction `tx`: one save or clear at a time, each reading what the one before wrote. */
export const lockMailSettings = (tx: Db, tenantId: string): Promise<void> => lockTransactionOn(tx, `mail-settings:${tenantId}`);

/**
 * saveMailSettings applies a PUT: fields left out keep their value; `custom` merges over the stored
 * custom values (so switching to the default and back keeps them); `custom: null` clears them and, unless the PUT sets useCustom, goes back to the default.
 * When private hosts are refused, a custom host the connection would refuse is a 400 on
 * `custom.host` (`custom.port` for a port that is not a mail port) with the one generic message of
 * a refused host.
 */
export async function saveMailSettings(
  db: Db,
  secretBox: SecretBox,
  tenantId: string,
  input: MailSettingsInput,
  clock: Clock,
  hosts: HostPolicy,
): Promise<TenantMailSettings> {
  // Checked before the transaction, whose lock a DNS lookup must not hold. A host the input leaves
  // out that another save changes meanwhile was checked by that save.
  if (input.custom && !hosts.allowPrivateHosts) {
    const merged = await mergeOverCustom(db, secretBox, tenantId, 'custom.', (await getMailSettings(db, tenantId)).custom, input.custom);
    try {
      // No longer than a connection with these settings would wait: a resolver that never answers holds no save.
      await checkSavedSmtpHost(merged.smtp.host, merged.smtp.port, AbortSignal.timeout(merged.smtp.timeoutMs), hosts.resolver);
    } catch (err) {
      if (err instanceof RefusedHostError) throw fieldError(`custom.${err.field}`, err.message);
      throw err;
    }
  }
  await db.transaction().execute(async (tx) => {
    // Each save reads the row and writes it back whole: two at once (a script setting the report
    // time while another enables alert emails) would each undo the other's fields.
    await lockMailSettings(tx, tenantId);
    await writeMailSettings(tx, secretBox, tenantId, input, clock);
    if (input.custom !== undefined || input.useCustom !== undefined) await serverChanged(tx, tenantId, clock.now());
  });
  // The report time and the alert emails flag decide the tenant's report windows.
  await reportsDueNow(db, tenantId);
  return getMailSettings(db, tenantId);
}

/**
 * sameSmtpHost tells whether a host typed for a test or a save names the saved one: DNS names
 * compare case-insensitively, a trailing root dot aside. A port change keeps the host.
 */
export function sameSmtpHost(a: string, b: string): boolean {
  return sameHostName(a, b);
}

/** sentSecret is the secret a login with these settings sends, or null when it signs in with none. */
export function sentSecret(smtp: Pick<StoredSmtp, 'username' | 'authMethod'>, secrets: SmtpSecrets): 'password' | 'accessToken' | null {
  if (!smtp.username || smtp.authMethod === 'none') return null;
  return signsInWithToken(smtp.authMethod, secrets) ? 'accessToken' : 'password';
}

/**
 * SECRET_AGAIN words why keepSecretsWithTheirHost asks for a saved secret again: the save or test
 * names another host, or would send it without TLS (inOrchestratorTerms tells the two apart by them).
 */
export const SECRET_AGAIN = {
  host: (doing: 'test' | 'save') => `type it again to ${doing} another host: the saved one is only ever sent to the saved host`,
  tls: (doing: 'test' | 'save') => `type it again to ${doing} it without TLS: the saved one is only ever sent encrypted`,
};

/**
 * keepSecretsWithTheirHost drops from `merged` the saved secrets that a test or a save naming
 * another host than the `saved` one would carry there: else an editor, to whom they are write-only,
 * could name a server of their own and receive them (at once by a test, with the next email by a
 * save). For another host a saved secret counts as not given, and one the login needs is asked
 * for again (400 on `prefix` + its field). So is one saved for an encrypted connection that the
 * saved host would now be sent in clear (security none, allowPlaintextAuth): the editor could read
 * it on the way.
 */
export function keepSecretsWithTheirHost(
  prefix: string,
  doing: 'test' | 'save',
  saved: Pick<StoredSmtp, 'host' | 'security'> | undefined,
  settings: SmtpSettingsInput,
  merged: { smtp: StoredSmtp; secrets: SmtpSecrets },
): void {
  if (saved === undefined) return;
  const needed = sentSecret(merged.smtp, merged.secrets);
  if (settings.host === undefined || sameSmtpHost(settings.host, saved.host)) {
    if (saved.security === 'none' || merged.smtp.security !== 'none' || needed === null) return;
    if (settings[needed] === undefined && merged.secrets[needed] !== null) {
      throw fieldError(`${prefix}${needed}`, SECRET_AGAIN.tls(doing));
    }
    return;
  }
  for (const field of ['password', 'accessToken'] as const) {
    if (settings[field] !== undefined) continue;
    if (field === needed && merged.secrets[field] !== null) {
      throw fieldError(`${prefix}${field}`, SECRET_AGAIN.host(doing));
    }
    merged.secrets[field] = null;
  }
}

/** writeMailSettings merges a PUT over the stored settings and writes the row, in the caller's transaction. */
async function writeMailSettings(tx: Db, secretBox: SecretBox, tenantId: string, input: MailSettingsInput, clock: Clock): Promise<void> {
  const current = await getMailSettings(tx, tenantId);
  let custom = current.custom;
  let sealed: { password: string | null; accessToken: string | null } | undefined;
  if (input.custom === null) {
    custom = null;
    sealed = { password: null, accessToken: null };
  } else if (input.custom !== undefined) {
    const merged = await mergeOverCustom(tx, secretBox, tenantId, 'custom.', current.custom, input.custom);
    keepSecretsWithTheirHost('custom.', 'save', current.custom ?? undefined, input.custom, merged);
    custom = merged.smtp;
    sealed = {
      password: merged.secrets.password === null ? null : secretBox.seal(merged.secrets.password, secretOwner.password(tenantId)),
      accessToken: merged.secrets.accessToken === null ? null : secretBox.seal(merged.secrets.accessToken, secretOwner.accessToken(tenantId)),
    };
  }
  const given = <K extends keyof MailSettingsInput & keyof TenantMailSettings>(field: K) =>
    patchedValue(input[field], current[field], NEW_TENANT_MAIL_SETTINGS[field]) as TenantMailSettings[K];
  // `custom: null` clears the custom values as DELETE /settings/mail/custom does: a tenant that used
  // them goes back to the default, unless the same PUT asks for custom (the 400 below).
  const useCustom = input.custom === null && input.useCustom === undefined ? false : given('useCustom');
  if (useCustom && custom === null) throw fieldError('custom', 'is required when useCustom is true');
  const dailyReportTime = given('dailyReportTime');
  const values = {
    ...choiceColumns({
      alertsEmailEnabled: given('alertsEmailEnabled'),
      useCustom,
      dailyReportTime,
      sendEmptyDailyReport: given('sendEmptyDailyReport'),
      fallbackToDefault: given('fallbackToDefault'),
    }),
    // Only a change of the time: a save of other fields (or of the same time) just after a report
    // time, before that report was decided, must not hold it back until the next day.
    ...(sameReportTime(dailyReportTime, current.dailyReportTime) ? {} : { daily_report_time_changed_at: clock.now() }),
    custom_smtp: custom === null ? null : JSON.stringify(custom),
    ...(sealed ? { custom_password: sealed.password, custom_access_token: sealed.accessToken } : {}),
    updated_at: clock.now(),
  };
  await tx
    .insertInto('tenant_mail_settings')
    .values({ tenant_id: tenantId, custom_password: null, custom_access_token: null, ...values })
    .onConflict((oc) => oc.column('tenant_id').doUpdateSet(values))
    .execute();
}

/**
 * dailyReportInstantMoved records, in the caller's transaction, that a tenant's report instants
 * moved now without its report time changing: a new time zone makes the same wall-clock time
 * another instant. After the 10:00 report in Paris, at 12:30, a zone changed to UTC put today's
 * report at 10:00 UTC (11:00 Paris), already passed, and a second daily report went out at once;
 * recorded as a change of the time, dailyWindowIfDue holds it back until the next day. Only this
 * column: a tenant with no settings saved yet gets the defaults a new tenant has.
 */
export async function dailyReportInstantMoved(tx: Db, tenantId: string, now: number): Promise<void> {
  await tx
    .insertInto('tenant_mail_settings')
    .values({
      tenant_id: tenantId,
      ...choiceColumns(NEW_TENANT_MAIL_SETTINGS),
      daily_report_time_changed_at: now,
      custom_smtp: null,
      custom_password: null,
      custom_access_token: null,
      updated_at: now,
    })
    .onConflict((oc) => oc.column('tenant_id').doUpdateSet({ daily_report_time_changed_at: now }))
    .execute();
}

/** choiceColumns are a tenant's mail choices (all but its custom server) as their columns store them. */
function choiceColumns(s: Pick<TenantMailSettings, 'alertsEmailEnabled' | 'useCustom' | 'dailyReportTime' | 'sendEmptyDailyReport' | 'fallbackToDefault'>) {
  return {
    alerts_email_enabled: s.alertsEmailEnabled ? 1 : 0,
    use_custom: s.useCustom ? 1 : 0,
    daily_report_time: s.dailyReportTime,
    send_empty_daily_report: s.sendEmptyDailyReport ? 1 : 0,
    fallback_to_default: s.fallbackToDefault ? 1 : 0,
  };
}

/** sameReportTime tells whether two daily report times are the same time of day (10:00 is 10:00:00). */
function sameReportTime(a: string, b: string): boolean {
  const seconds = (t: string) => (t.length === 5 ? `${t}:00` : t);
  return seconds(a) === seconds(b);
}

/**
 * serverChanged follows a change of the server a tenant's alert emails go through (its custom
 * values, or custom ↔ default): `fallbackToDefault` stops standing in for the own server, and the
 * emails waiting for a retry try the new settings now. An administrator who fixed the settings
 * that made mail fail sees the queued emails go out, not wait up to 30 minutes for their next try.
 * Run in the save's transaction `tx`: committed apart, a worker could send through the fallback
 * after the new server was saved, and a failure between the writes left the fallback standing in
 * until the next save. The health row before the waiting emails, as the outbox's commit of an
 * outcome takes them on PostgreSQL (its own leased rows, which this leaves alone, then the health
 * row, then the tenant's waiting emails), so that the two cannot deadlock.
 */
async function serverChanged(tx: Db, tenantId: string, now: number): Promise<void> {
  await tryOwnServerAgain(tx, tenantId);
  await retryTenantNow(tx, tenantId, now);
}

/**
 * clearCustomSmtp forgets the stored custom SMTP values and secrets; a tenant using them falls back
 * to the default. It waits for a save under way (saveMailSettings' lock), which writes back the
 * row it read: else that save put the custom server back, switched on, without its secrets.
 */
export async function clearCustomSmtp(db: Db, tenantId: string, clock: Clock): Promise<void> {
  await db.transaction().execute(async (tx) => {
    await lockMailSettings(tx, tenantId);
    await tx
      .updateTable('tenant_mail_settings')
      .set({ custom_smtp: null, custom_password: null, custom_access_token: null, use_custom: 0, updated_at: clock.now() })
      .where('tenant_id', '=', tenantId)
      .execute();
    await serverChanged(tx, tenantId, clock.now());
  });
}

const SYSTEM_KEY = 'system-mail-settings';

/**
 * settingsSavedSince tells whether the settings an email goes by were saved after `since` (ms): the
 * system default, and for an alert email (route `tenant`) its tenant's too. Read only when a send
 * failed for now (the outbox's attempt), so that an email in flight while an administrator fixed
 * the settings tries the fixed ones at once.
 */
export async function settingsSavedSince(db: Db, tenantId: string, route: 'tenant' | 'system', since: number): Promise<boolean> {
  const system = await db.selectFrom('host_settings').select('key').where('key', '=', SYSTEM_KEY).where('updated_at', '>', since).executeTakeFirst();
  if (system || route === 'system') return system !== undefined;
  const own = await db
    .selectFrom('tenant_mail_settings')
    .select('tenant_id')
    .where('tenant_id', '=', tenantId)
    .where('updated_at', '>', since)
    .executeTakeFirst();
  return own !== undefined;
}

function openOrNull(secretBox: SecretBox, sealed: string | null, owner: string): string | null {
  if (!sealed) return null;
  try {
    return secretBox.open(sealed, owner);
  } catch (err) {
    if (err instanceof SecretDecryptError) return null;
    throw err;
  }
}
const systemOwner = { password: 'system:smtp-password', accessToken: 'system:smtp-access-token' };

/** savedSystemSecrets are the sealed password and access token a host administrator saved in the system default, with their owners. */
export async function savedSystemSecrets(db: Db): Promise<[sealed: string, owner: string][]> {
  const row = await db.selectFrom('host_settings').select('value').where('key', '=', SYSTEM_KEY).executeTakeFirst();
  if (!row) return [];
  const saved = JSON.parse(row.value) as { password: string | null; accessToken: string | null };
  return [
    ...(saved.password ? [[saved.password, systemOwner.password] as [string, string]] : []),
    ...(saved.accessToken ? [[saved.accessToken, systemOwner.accessToken] as [string, string]] : []),
  ];
}

/** SystemSmtp are the host's default SMTP settings, with their secrets in clear, and where they come from. */
export interface SystemSmtp {
  readonly smtp: StoredSmtp;
  readonly secrets: SmtpSecrets;
  /** `url`: TOCSIN_SMTP_URL or the built-in catcher; `saved`: a host administrator's PUT. */
  readonly source: 'url' | 'saved';
}

/** getSystemSmtp reads the system default: what a host admin saved, else the start-up URL (read once, at start). */
export async function getSystemSmtp(db: Db, secretBox: SecretBox, startup: UrlSmtp): Promise<SystemSmtp> {
  const row = await db.selectFrom('host_settings').select('value').where('key', '=', SYSTEM_KEY).executeTakeFirst();
  return systemSmtpOf(row?.value ?? null, secretBox, startup);
}

function systemSmtpOf(value: string | null, secretBox: SecretBox, startup: UrlSmtp): SystemSmtp {
  if (value === null) return { smtp: startup.smtp, secrets: startup.secrets, source: 'url' };
  const saved = JSON.parse(value) as { smtp: string; password: string | null; accessToken: string | null };
  return {
    smtp: parseStoredSmtp(saved.smtp)!,
    // A secret sealed under another key reads as unset: the host admin sees passwordSet false and
    // enters it again, and sends fail at AUTH in the delivery log meanwhile.
    secrets: {
      password: openOrNull(secretBox, saved.password, systemOwner.password),
      accessToken: openOrNull(secretBox, saved.accessToken, systemOwner.accessToken),
    },
    source: 'saved',
  };
}

/**
 * savedSystemSmtpAddress is where the system default a host administrator saved (System mail settings,
 * `PUT /system/mail-settings`) sends, as `smtp[s]://host:port`: every email then goes there rather than
 * to TOCSIN_SMTP_URL or the built-in catcher, so the start names it. Undefined when none is saved.
 */
export async function savedSystemSmtpAddress(db: Db): Promise<string | undefined> {
  const row = await db.selectFrom('host_settings').select('value').where('key', '=', SYSTEM_KEY).executeTakeFirst();
  if (!row) return undefined;
  const { host, port, security } = parseStoredSmtp((JSON.parse(row.value) as { smtp: string }).smtp)!;
  return `${security === 'tls' ? 'smtps' : 'smtp'}://${host.includes(':') ? `[${host}]` : host}:${port}`;
}

/** showSystemSmtp is the API answer for the system settings. */
export function showSystemSmtp(system: SystemSmtp): SmtpSettingsView & { source: 'url' | 'saved' } {
  return {
    ...showSmtp(system.smtp, { passwordSet: system.secrets.password !== null, accessTokenSet: system.secrets.accessToken !== null }),
    source: system.source,
  };
}

/** saveSystemSmtp merges a host admin's PUT over the system settings in force and stores them sealed. */
export async function saveSystemSmtp(db: Db, secretBox: SecretBox, startup: UrlSmtp, input: SmtpSettingsInput, clock: Clock): Promise<SystemSmtp> {
  // A PUT that sets no field ({}) changes nothing: the URL's settings in force are not saved in the
  // URL's place, which the next start's TOCSIN_SMTP_URL would then no longer change.
  if (Object.values(input).every((value) => value === undefined)) return getSystemSmtp(db, secretBox, startup);
  await db.transaction().execute(async (tx) => {
    // The row is read and written back whole: two saves at once would undo each other's fields.
    await lockTransactionOn(tx, SYSTEM_KEY);
    const current = await getSystemSmtp(tx, secretBox, startup);
    const merged = mergeOrExplain('', current.smtp, current.secrets, input);
    const value = JSON.stringify({
      smtp: JSON.stringify(merged.smtp),
      password: merged.secrets.password === null ? null : secretBox.seal(merged.secrets.password, systemOwner.password),
      accessToken: merged.secrets.accessToken === null ? null : secretBox.seal(merged.secrets.accessToken, systemOwner.accessToken),
    });
    await tx
      .insertInto('host_settings')
      .values({ key: SYSTEM_KEY, value, updated_at: clock.now() })
      .onConflict((oc) => oc.column('key').doUpdateSet({ value, updated_at: clock.now() }))
      .execute();
  });
  // What waits for a retry through the system default tries the new settings now.
  await retrySystemRouteNow(db, clock.now());
  return getSystemSmtp(db, secretBox, startup);
}

/**
 * SendSettings are a tenant's mail settings and the saved system default as one statement read
 * them for one email (readSendSettings), with their secrets opened on demand.
 */
export interface SendSettings {
  readonly settings: TenantMailSettings;
  /** The tenant's custom secrets in clear; throws SecretDecryptError when one no longer opens. */
  openCustomSecrets(secretBox: SecretBox): SmtpSecrets;
  /** The system default in force: what a host administrator saved, else the start-up URL's. */
  systemSmtp(secretBox: SecretBox, startup: UrlSmtp): SystemSmtp;
}

/**
 * readSendSettings reads what sending one email of a tenant needs of the settings, its own row
 * and the saved system default, by one statement compiled once (they were two, three with
 * custom secrets): every email reads them afresh, never kept, so another process's change (a
 * new password) applies to the next email.
 */
export async function readSendSettings(db: Db, tenantId: string): Promise<SendSettings> {
  const text = sqlOnce(db, 'readSendSettings', () => ({
    compile: () =>
      sql`select m.*, (select value from host_settings where key = ${SYSTEM_KEY}) as system_value
from (select cast(${tenantId} as text) as tid) o left join tenant_mail_settings m on m.tenant_id = o.tid`.compile(db),
  }));
  const { rows } = await db.executeQuery<Row & { tenant_id: string | null; system_value: string | null }>(CompiledQuery.raw(text, [SYSTEM_KEY, tenantId]));
  const { tenant_id, system_value, ...columns } = rows[0]!;
  const row = tenant_id === null ? undefined : (columns as Row);
  return {
    settings: fromRow(row),
    openCustomSecrets: (secretBox) => customSecretsOf(row, secretBox, tenantId),
    systemSmtp: (secretBox, startup) => systemSmtpOf(system_value, secretBox, startup),
  };
}
