import { type FilterNode, FilterSyntaxError, applyFold, matchesFunction } from '../alerts/odata/filter.js';
import { orderByTerms } from '../alerts/odata/options.js';
import type { SmtpAuthMethod } from '../delivery/contract.js';
import { type FieldError, HttpError, badRequest } from '../http/problem.js';
import { type MailSettingsInput, SECRET_AGAIN, type TenantMailSettings } from './mail-settings.js';
import { type SmtpSettingsInput, smtpSettingsInput } from './smtp-settings.js';

/** SETTING_KEYS are the Orchestrator setting names Tocsin maps onto its mail settings. */
const SETTING_KEYS = {
  enabled: 'Alerts.Email.Enabled',
  host: 'Abp.Net.Mail.Smtp.Host',
  port: 'Abp.Net.Mail.Smtp.Port',
  userName: 'Abp.Net.Mail.Smtp.UserName',
  password: 'Abp.Net.Mail.Smtp.Password',
  domain: 'Abp.Net.Mail.Smtp.Domain',
  enableSsl: 'Abp.Net.Mail.Smtp.EnableSsl',
  useDefaultCredentials: 'Abp.Net.Mail.Smtp.UseDefaultCredentials',
  fromAddress: 'Abp.Net.Mail.DefaultFromAddress',
  fromDisplayName: 'Abp.Net.Mail.DefaultFromDisplayName',
  timeZone: 'Abp.Timing.TimeZone',
} as const;

/** PASSWORD_MASK stands for a stored password in `GET /odata/Settings`; sending it back keeps the password. */
const PASSWORD_MASK = '********';

/**
 * isPasswordMask is whether a password sent is a mask, not a password: Tocsin's asterisks, or
 * Orchestrator's bullets ('••••••••••••' in its GET /odata/Settings), which settings copied from an
 * Orchestrator carry; either keeps the stored password.
 */
const isPasswordMask = (value: unknown): boolean => typeof value === 'string' && /^(?:\*+|\u2022+)$/.test(value);

/** SettingDto is one Orchestrator setting. */
export interface SettingDto {
  Id: string;
  Name: string;
  Value: string;
  Scope: 'Tenant';
}

/**
 * settingDtos lists a tenant's mail settings as Orchestrator's setting keys, all values strings.
 * The SMTP keys show the stored custom server (empty when there is none); the password is masked.
 */
export function settingDtos(settings: TenantMailSettings, timeZone: string): SettingDto[] {
  const c = settings.custom;
  const values: [string, string][] = [
    [SETTING_KEYS.enabled, String(settings.alertsEmailEnabled)],
    [SETTING_KEYS.host, c?.host ?? ''],
    [SETTING_KEYS.port, c ? String(c.port) : ''],
    [SETTING_KEYS.userName, c?.username ?? ''],
    [SETTING_KEYS.password, settings.passwordSet ? PASSWORD_MASK : ''],
    [SETTING_KEYS.domain, c?.domain ?? ''],
    [SETTING_KEYS.enableSsl, String(c ? c.security !== 'none' : false)],
    [SETTING_KEYS.useDefaultCredentials, String(c?.authMethod === 'none')],
    [SETTING_KEYS.fromAddress, c?.fromAddress ?? ''],
    [SETTING_KEYS.fromDisplayName, c?.fromDisplayName ?? ''],
    [SETTING_KEYS.timeZone, timeZone],
  ];
  return values.map(([Name, Value]) => ({ Id: Name, Name, Value, Scope: 'Tenant' }));
}

const SETTING_PROPERTIES = ['Id', 'Name', 'Value', 'Scope'] as const;

/**
 * matchesSetting evaluates a `$filter` of GET /odata/Settings (parsed by parseFilter) on one setting:
 * its string properties (or their tolower/toupper) compared with eq or ne (and `in`), or tested with
 * contains, startswith or endswith, joined by and/or/not. Anything else is a
 * FilterSyntaxError, so a filter is never ignored (the whole list read as the one setting asked for).
 */
export function matchesSetting(node: FilterNode, setting: SettingDto): boolean {
  switch (node.kind) {
    case 'and':
      return matchesSetting(node.left, setting) && matchesSetting(node.right, setting);
    case 'or':
      return matchesSetting(node.left, setting) || matchesSetting(node.right, setting);
    case 'not':
      return !matchesSetting(node.operand, setting);
    case 'compare': {
      const property = filterProperty(node.property);
      if (node.op !== 'eq' && node.op !== 'ne') throw new FilterSyntaxError(`${property} can only be compared with eq or ne`, 0);
      if (node.value.kind !== 'string') throw new FilterSyntaxError(`${property} must be compared with a 'quoted string'`, 0);
      return (applyFold(setting[property], node.fold) === node.value.value) === (node.op === 'eq');
    }
    case 'function':
      return matchesFunction(node.name, applyFold(setting[filterProperty(node.property)], node.fold), node.value);
  }
}

function filterProperty(name: string): (typeof SETTING_PROPERTIES)[number] {
  const property = settingProperty(name);
  if (!property) throw new FilterSyntaxError(`cannot filter on "${name}"; use ${SETTING_PROPERTIES.join(', ')}`, 0);
  return property;
}

function settingProperty(name: string): (typeof SETTING_PROPERTIES)[number] | undefined {
  return SETTING_PROPERTIES.find((p) => p.toLowerCase() === name.trim().toLowerCase());
}

/**
 * selectSettingProperties reads `$select` of GET /odata/Settings (`Name,Value`, any case, `*` for
 * all) into the properties to answer with, in SettingDto order, undefined for all.
 */
export function selectSettingProperties(value: string | undefined): (keyof SettingDto)[] | undefined {
  if (value === undefined || value.trim() === '' || value.trim() === '*') return undefined;
  const named = value.split(',').map((part) => {
    const property = settingProperty(part);
    if (!property) throw new FilterSyntaxError(`cannot select "${part.trim()}"; use ${SETTING_PROPERTIES.join(', ')}`, 0);
    return property;
  });
  return SETTING_PROPERTIES.filter((p) => named.includes(p));
}

/**
 * orderSettings sorts settings by `$orderby` of GET /odata/Settings (`Name desc, Value`), each
 * term a property and asc (the default) or desc, at most 5 as on Alerts; the list's own order when there is none.
 */
export function orderSettings(settings: readonly SettingDto[], value: string | undefined): SettingDto[] {
  const terms = orderByTerms(value).map((part) => {
    const match = /^\s*(\w+)(?:\s+(asc|desc))?\s*$/i.exec(part);
    const property = match ? settingProperty(match[1]!) : undefined;
    if (!property) throw new FilterSyntaxError(`cannot order by "${part.trim()}"; use ${SETTING_PROPERTIES.join(', ')}, then asc or desc`, 0);
    return { property, sign: match![2]?.toLowerCase() === 'desc' ? -1 : 1 };
  });
  const compare = (a: SettingDto, b: SettingDto) => {
    for (const { property, sign } of terms) if (a[property] !== b[property]) return a[property] < b[property] ? -sign : sign;
    return 0;
  };
  return [...settings].sort(compare);
}

/** OrchestratorSmtpModel is Orchestrator's SMTP settings with each value as received (strings or not). */
export interface OrchestratorSmtpModel {
  host?: unknown;
  port?: unknown;
  username?: unknown;
  password?: unknown;
  domain?: unknown;
  enablessl?: unknown;
  usedefaultcredentials?: unknown;
  defaultfromaddress?: unknown;
  defaultfromdisplayname?: unknown;
}

const MODEL_FIELDS: Record<keyof OrchestratorSmtpModel, keyof SmtpSettingsInput> = {
  host: 'host',
  port: 'port',
  username: 'username',
  password: 'password',
  domain: 'domain',
  enablessl: 'enableSsl',
  usedefaultcredentials: 'authMethod',
  defaultfromaddress: 'fromAddress',
  defaultfromdisplayname: 'fromDisplayName',
};

/**
 * TOKEN_AGAIN words, for an Orchestrator client, a saved OAuth access token asked for again
 * (SECRET_AGAIN) under the field whose change asked for it: no Orchestrator setting or SMTP model
 * carries an access token, so "type it again" on `custom.accessToken` named nothing it could send.
 */
const TOKEN_AGAIN: readonly { readonly field: keyof OrchestratorSmtpModel; readonly asked: (doing: 'test' | 'save') => string; readonly why: string }[] = [
  { field: 'host', asked: SECRET_AGAIN.host, why: 'is only ever sent to the saved host' },
  { field: 'enablessl', asked: SECRET_AGAIN.tls, why: 'is only ever sent encrypted' },
];

function tokenAgain(message: string): { field: keyof OrchestratorSmtpModel; message: string } | undefined {
  for (const doing of ['save', 'test'] as const) {
    const cause = TOKEN_AGAIN.find((c) => c.asked(doing) === message);
    if (cause)
      return {
        field: cause.field,
        message: `the saved OAuth access token (XOAUTH2) ${cause.why}, and no Orchestrator setting carries another: ${doing} this change with its token in Tocsin's Settings > Mail or its REST API (custom.accessToken of /settings/mail)`,
      };
  }
  return undefined;
}

/**
 * inOrchestratorTerms runs a save or a test whose 400s name Tocsin fields under `prefix`
 * (`custom.username`) and renames those fields as Orchestrator's form names them, through `nameOf`;
 * a saved access token asked for again is named by the field that asked for it (tokenAgain); a
 * field Orchestrator has no name for (`allowPlaintextAuth`) keeps its Tocsin name.
 */
export async function inOrchestratorTerms<T>(prefix: string, nameOf: (field: keyof OrchestratorSmtpModel) => string, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (err) {
    if (!(err instanceof HttpError) || err.status !== 400 || !err.errors) throw err;
    const errors = err.errors.map(({ path, message }) => {
      const tocsinField = path.startsWith(prefix) ? path.slice(prefix.length) : undefined;
      const field = tocsinField === undefined ? undefined : MODEL_FIELD_OF[tocsinField as keyof SmtpSettingsInput];
      if (field) return { path: nameOf(field), message };
      const token = tocsinField === 'accessToken' ? tokenAgain(message) : undefined;
      return token ? { path: nameOf(token.field), message: token.message } : { path, message };
    });
    throw badRequest(`${errors[0]!.path}: ${errors[0]!.message}`, errors);
  }
}

const MODEL_FIELD_OF = Object.fromEntries(Object.entries(MODEL_FIELDS).map(([model, input]) => [input, model])) as Partial<
  Record<keyof SmtpSettingsInput, keyof OrchestratorSmtpModel>
>;

function asBoolean(value: unknown): unknown {
  if (typeof value === 'boolean') return value;
  if (typeof value === 'string' && /^(true|false)$/i.test(value.trim())) return value.trim().toLowerCase() === 'true';
  return value;
}

function asText(value: unknown): unknown {
  if (value === null || value === undefined) return undefined;
  return value;
}

/**
 * smtpInputFromModel converts Orchestrator's SMTP model (lower-cased keys, string or typed values)
 * into an SmtpSettingsInput. Empty user name, domain and display name clear them (an empty user
 * name the password too); otherwise an empty or masked password keeps the stored one;
 * UseDefaultCredentials means no AUTH, and switched off again (`storedAuthMethod` 'none') AUTH as
 * the server offers it; off over another stored method keeps that method. Errors name the
 * Orchestrator field through `nameOf`.
 */
export function smtpInputFromModel(
  model: OrchestratorSmtpModel,
  nameOf: (field: keyof OrchestratorSmtpModel) => string,
  storedAuthMethod?: SmtpAuthMethod,
): { input: SmtpSettingsInput; errors: FieldError[] } {
  const raw: Record<string, unknown> = {};
  const origin = new Map<string, keyof OrchestratorSmtpModel>();
  // Orchestrator's two flags are booleans: another value is named as such, not by what Tocsin maps it to.
  // Such a flag is left out of what is read, so the other fields' errors are named beside it.
  const badFlags = (['enablessl', 'usedefaultcredentials'] as const).filter(
    (field) => asText(model[field]) !== undefined && typeof asBoolean(model[field]) !== 'boolean',
  );
  const flagErrors = badFlags.map((field) => ({ path: nameOf(field), message: 'must be "true" or "false"' }));
  for (const [field, target] of Object.entries(MODEL_FIELDS) as [keyof OrchestratorSmtpModel, keyof SmtpSettingsInput][]) {
    let value = asText(model[field]);
    if (value === undefined || (badFlags as readonly string[]).includes(field)) continue;
    if (field === 'port' && typeof value === 'string' && /^\d{1,5}$/.test(value.trim())) value = Number(value.trim());
    if (field === 'enablessl') value = asBoolean(value);
    if (field === 'usedefaultcredentials') {
      const flag = asBoolean(value);
      if (flag === false && storedAuthMethod !== 'none') continue;
      value = flag === true ? 'none' : flag === false ? 'auto' : value;
    }
    if (field === 'password' && (value === '' || isPasswordMask(value))) continue;
    if ((field === 'username' || field === 'domain' || field === 'defaultfromdisplayname') && value === '') value = null;
    raw[target] = value;
    origin.set(target, field);
  }
  // An empty user name means no sign-in in Orchestrator's form: the stored secrets and any AUTH
  // method go with it (else a kept password would be refused in clear with EnableSsl false).
  if (raw.username === null) {
    raw.password ??= null;
    raw.accessToken = null;
    raw.authMethod ??= 'auto';
  }
  const parsed = smtpSettingsInput.safeParse(raw);
  if (parsed.success && flagErrors.length === 0) return { input: parsed.data, errors: [] };
  const errors = (parsed.error?.issues ?? []).map((issue) => {
    const field = origin.get(String(issue.path[0]));
    return { path: field ? nameOf(field) : '(root)', message: issue.message };
  });
  return { input: {}, errors: [...flagErrors, ...errors] };
}

/**
 * settleEnableSsl reads a model's EnableSsl over the `saved` server (its Port and EnableSsl as GET
 * /odata/Settings shows them), Orchestrator's form having no TLS mode but this flag. No server of
 * the tenant's own: a left-out EnableSsl is Orchestrator's default false, not STARTTLS required. A
 * new port takes the mode EnableSsl (given, else the saved one) means on it: implicit TLS on 465,
 * STARTTLS elsewhere. On the saved port, an EnableSsl left out or as saved keeps the saved
 * server's own mode (implicit TLS on 2465 stays so); only a changed one is mapped again.
 */
export function settleEnableSsl(model: OrchestratorSmtpModel, saved: { readonly port: string; readonly enableSsl: boolean } | undefined): void {
  if (!saved) {
    model.enablessl ??= false;
    return;
  }
  if (model.port != null && String(model.port).trim() !== saved.port) model.enablessl ??= saved.enableSsl;
  else if (model.enablessl != null && asBoolean(model.enablessl) === saved.enableSsl) delete model.enablessl;
}

/**
 * inheritFromAddress gives a model whose DefaultFromAddress is unset (left out, null or empty) the
 * system default's, `systemFrom`, when the tenant has no address of its own (`savedFrom` empty):
 * ABP reads a tenant setting never set as the host's, so Orchestrator saves Host and Port alone and
 * GET /odata/Settings shows the unset address as "", which a script sends back with Host and Port
 * filled in. Over an address of the tenant's own, an empty one is still refused, as before.
 */
export function inheritFromAddress(model: OrchestratorSmtpModel, savedFrom: string | undefined, systemFrom: string): void {
  const given = model.defaultfromaddress;
  if (savedFrom || (given != null && !(typeof given === 'string' && given.trim() === ''))) return;
  model.defaultfromaddress = systemFrom;
}

// A Map, not an object: an UpdateBulk name such as `constructor` must find no field, not Object's function.
const KEY_TO_MODEL: ReadonlyMap<string, keyof OrchestratorSmtpModel> = new Map([
  [SETTING_KEYS.host, 'host'],
  [SETTING_KEYS.port, 'port'],
  [SETTING_KEYS.userName, 'username'],
  [SETTING_KEYS.password, 'password'],
  [SETTING_KEYS.domain, 'domain'],
  [SETTING_KEYS.enableSsl, 'enablessl'],
  [SETTING_KEYS.useDefaultCredentials, 'usedefaultcredentials'],
  [SETTING_KEYS.fromAddress, 'defaultfromaddress'],
  [SETTING_KEYS.fromDisplayName, 'defaultfromdisplayname'],
]);

/** FLAG_KEYS are the SMTP keys whose values are booleans ("true" or "false" in any case). */
const FLAG_KEYS: ReadonlySet<string> = new Set([SETTING_KEYS.enableSsl, SETTING_KEYS.useDefaultCredentials]);

// Each key by its lower-cased name: a name in another case (`Abp.Net.Mail.Smtp.Username` for
// `UserName`) is that setting, not one Tocsin does not keep, dropped without a word.
const KEY_OF_NAME: ReadonlyMap<string, string> = new Map(Object.values(SETTING_KEYS).map((key) => [key.toLowerCase(), key]));

/** BulkUpdate is what an UpdateBulk asks for, in Tocsin's terms. */
export interface BulkUpdate {
  readonly mail: MailSettingsInput;
  readonly timeZone?: string;
  readonly errors: FieldError[];
}

/** settingKeyOf is the setting key of an Orchestrator SMTP model field (`username` → `Abp.Net.Mail.Smtp.UserName`). */
export function settingKeyOf(field: keyof OrchestratorSmtpModel): string {
  return [...KEY_TO_MODEL].find(([, model]) => model === field)![0];
}

/**
 * bulkUpdate maps `UpdateBulk` settings onto a mail settings PUT (changing any SMTP key sets the
 * tenant's own server and switches it on) and a time zone. Names are read in any case; names
 * Tocsin does not keep are ignored,
 * as Orchestrator keeps many settings that have no meaning here. SMTP values that are all equal
 * to those `shown` (what `GET /odata/Settings` lists now) change nothing: scripts send the whole
 * list back with another value edited, and its empty SMTP values (no server of the tenant's own)
 * or the stored server of a tenant that uses the default must neither be refused nor switch that
 * server on; a password sent empty or masked, which keeps the stored one, is equal to the one shown.
 * Once one SMTP value differs, all of them are taken, as before.
 *
 * With `systemFrom`, a tenant with no From address of its own sends from the system default's
 * when the update leaves DefaultFromAddress unset (inheritFromAddress).
 *
 * A Value null resets an SMTP setting, as Orchestrator (ABP) resets a setting to its empty
 * default: it is read as the empty value GET /odata/Settings then shows (Domain, UserName and the
 * display name cleared; Host, Port, EnableSsl… refused as an empty one is) and clears the
 * password; it was dropped, with a 200, the setting kept.
 */
export function bulkUpdate(given: readonly { name: string; value: unknown }[], shown: readonly SettingDto[] = [], systemFrom?: string): BulkUpdate {
  const settings = given.map(({ name, value }) => ({ name: KEY_OF_NAME.get(name.trim().toLowerCase()) ?? name, value }));
  const model: OrchestratorSmtpModel = {};
  const mail: MailSettingsInput = {};
  const errors: FieldError[] = [];
  let timeZone: string | undefined;
  const shownValue = new Map(shown.map((s) => [s.Name, s.Value]));
  const smtpText = (value: unknown) => (value === null ? '' : typeof value === 'string' ? value : JSON.stringify(value));
  // A flag as GET shows it, or as .NET writes a bool ('True', a script's "$false"), is the value shown;
  // so is a password sent empty or masked (Orchestrator's bullets), which keeps the stored one.
  const asShown = (name: string, value: unknown) => {
    if (name === SETTING_KEYS.password && shownValue.has(name) && (value === '' || isPasswordMask(value))) return shownValue.get(name);
    const flag = FLAG_KEYS.has(name) ? asBoolean(value) : undefined;
    return typeof flag === 'boolean' ? String(flag) : smtpText(value);
  };
  const unchanged = settings.every(({ name, value }) => !KEY_TO_MODEL.has(name) || shownValue.get(name) === asShown(name, value));
  let clearPassword = false;
  for (const { name, value } of settings) {
    const modelField = KEY_TO_MODEL.get(name);
    if (modelField && unchanged) continue;
    if (modelField === 'password') {
      // (None stored, as GET shows it: nothing to clear, and no server to save.)
      clearPassword = value === null && shownValue.get(SETTING_KEYS.password) !== '';
      if (value === null) delete model.password;
      else model.password = value;
    } else if (modelField) model[modelField] = value === null ? '' : value;
    else if (name === SETTING_KEYS.enabled) {
      const flag = asBoolean(value);
      if (typeof flag === 'boolean') mail.alertsEmailEnabled = flag;
      else errors.push({ path: name, message: 'must be "true" or "false"' });
    } else if (name === SETTING_KEYS.timeZone) {
      if (typeof value === 'string') timeZone = value;
      else errors.push({ path: name, message: 'must be a string' });
    }
  }
  if (Object.keys(model).length > 0 || clearPassword) {
    // (Without the list GET shows, as in a unit's call, the model is taken as it is.)
    const shownHost = shownValue.get(SETTING_KEYS.host);
    if (shownHost !== undefined) {
      const saved =
        shownHost === '' ? undefined : { port: shownValue.get(SETTING_KEYS.port) ?? '', enableSsl: shownValue.get(SETTING_KEYS.enableSsl) === 'true' };
      settleEnableSsl(model, saved);
    }
    if (systemFrom !== undefined) inheritFromAddress(model, shownValue.get(SETTING_KEYS.fromAddress), systemFrom);
    // What GET /odata/Settings shows: "true" is a stored authMethod 'none'.
    const storedAuthMethod = shownValue.get(SETTING_KEYS.useDefaultCredentials) === 'true' ? 'none' : undefined;
    const converted = smtpInputFromModel(model, settingKeyOf, storedAuthMethod);
    errors.push(...converted.errors);
    mail.custom = clearPassword ? { ...converted.input, password: null } : converted.input;
    mail.useCustom = true;
  }
  return { mail, ...(timeZone !== undefined ? { timeZone } : {}), errors };
}
