import { z } from 'zod';
import { lowerCaseKeys, orchestratorTenant } from '../access/orchestrator-auth.js';
import { FilterSyntaxError, parseFilter } from '../alerts/odata/filter.js';
import { metadataUrl } from '../alerts/odata/metadata.js';
import { MAX_SKIP, MAX_TOP, commonListOptions, odataQuery } from '../alerts/odata/options.js';
import { updateTenant } from '../access/tenants.js';
import type { SmtpStage } from '../delivery/contract.js';
import type { FastifyRequest } from 'fastify';
import type { AppDeps, TenantRow, TocsinApp } from '../http/context.js';
import { caseInsensitiveBody } from '../http/openapi.js';
import { badRequest, fieldError, zodIssuesToSay, notFound } from '../http/problem.js';
import { isEmailAddress } from '../shared/email-address.js';
import { queryCount } from '../shared/validation.js';
import { getMailSettings, getSystemSmtp, sameSmtpHost, saveMailSettings } from './mail-settings.js';
import {
  type OrchestratorSmtpModel,
  bulkUpdate,
  inOrchestratorTerms,
  inheritFromAddress,
  matchesSetting,
  orderSettings,
  selectSettingProperties,
  settingDtos,
  settleEnableSsl,
  settingKeyOf,
  smtpInputFromModel,
} from './orchestrator-settings.js';
import { type TestMailDeps, sendTestMail, testMailRecipient } from './test-mail.js';
import { orchestratorZone } from './windows-zones.js';

const ACTIONS = '/odata/Settings/UiPath.Server.Configuration.OData';

const settingsQuery = odataQuery({
  $filter: z.string().max(8_000).optional(),
  $orderby: z.string().max(500).optional(),
  $select: z.string().max(500).optional(),
  $top: queryCount(MAX_TOP).optional(),
  $skip: queryCount(MAX_SKIP).optional(),
  ...commonListOptions,
});

// Orchestrator binds JSON case-insensitively, so bodies are read with lower-cased keys.
const updateBulkBody = z.object({
  settings: z.array(z.object({ name: z.string().min(1).max(128), value: z.unknown() }).passthrough()).max(200),
});
const verifyBody = z.object({
  // null as left out: the caller's address, as POST /settings/mail/test reads it.
  sendto: z.string().max(254).nullish(),
  smtpsettingmodel: z.record(z.string(), z.unknown()),
});

// The switches as .NET's binder reads them.
const modelSwitch = (description: string) =>
  z.union([z.boolean(), z.string(), z.null()]).optional().describe(`${description}: a boolean, or "true" or "false" in any case`);
const modelText = z.string().nullish();

/**
 * verifyBodyDocumented is verifyBody as the OpenAPI document shows it: smtpSettingModel's fields
 * (which smtpInputFromModel reads, whatever their case), so a client generated from it has them.
 */
const verifyBodyDocumented = verifyBody.extend({
  smtpsettingmodel: z.object({
    // Required, as in Orchestrator's model: the test is of the server named here, not the saved one's.
    Host: z.string(),
    Port: z
      .union([z.number().int().min(1).max(65_535), z.string()])
      .optional()
      .describe('A port number, or its digits'),
    UserName: modelText,
    Password: modelText,
    Domain: modelText,
    EnableSsl: modelSwitch('true: TLS (implicit on port 465, else STARTTLS)'),
    UseDefaultCredentials: modelSwitch('true: no AUTH'),
    DefaultFromAddress: modelText,
    DefaultFromDisplayName: modelText,
  }),
});

/**
 * HOST_REQUIRED refuses a VerifySmtpSetting without a Host (Orchestrator's model requires it): the
 * saved server's host was tested then, under the model's other values, and "sent" said nothing of
 * the server the caller meant to try.
 */
const HOST_REQUIRED = 'is required: the test is of the SMTP server named here';

// Which Orchestrator field a failed stage points at, so the form can show the error beside it.
const STAGE_FIELD: Record<SmtpStage, string> = {
  connect: 'smtpSettingModel.Host',
  tls: 'smtpSettingModel.EnableSsl',
  auth: 'smtpSettingModel.Password',
  sender: 'smtpSettingModel.DefaultFromAddress',
  recipient: 'sendTo',
  data: 'smtpSettingModel',
};

const MODEL_NAMES: Record<keyof OrchestratorSmtpModel, string> = {
  host: 'Host',
  port: 'Port',
  username: 'UserName',
  password: 'Password',
  domain: 'Domain',
  enablessl: 'EnableSsl',
  usedefaultcredentials: 'UseDefaultCredentials',
  defaultfromaddress: 'DefaultFromAddress',
  defaultfromdisplayname: 'DefaultFromDisplayName',
};

// The body fields as Orchestrator spells them, for the paths of a 400 (bodies are read lower-cased).
const BODY_NAMES: Record<string, string> = {
  settings: 'settings',
  name: 'Name',
  value: 'Value',
  scope: 'Scope',
  id: 'Id',
  sendto: 'sendTo',
  smtpsettingmodel: 'smtpSettingModel',
};

/** settingDto is one setting as GET /odata/Settings lists it (settingDtos): every value a string. */
const settingDto = z.object({ Id: z.string(), Name: z.string(), Value: z.string(), Scope: z.string() });

/** settingBody documents the SettingsDto a PUT of one setting takes: only its Value is read (null resets it, as in UpdateBulk). */
const settingBody = z.object({
  name: z.string().optional(),
  value: z.string().nullable(),
  scope: z.string().optional(),
  id: z.string().optional(),
});

/** BY_KEY_PATH is Orchestrator's path of one setting, which the router holds as the wildcard `Settings(*`. */
const BY_KEY_PATH = {
  url: "/odata/Settings('{key}')",
  params: z.object({ key: z.string().describe("The setting's Name, e.g. Abp.Timing.TimeZone (any case; a quote in it doubled, as OData writes one)") }),
};

function parseBody<T>(schema: z.ZodType<T>, body: unknown, lowerItems = false): T {
  const lowered = lowerCaseKeys(body) as Record<string, unknown> | unknown;
  const value =
    lowerItems && typeof lowered === 'object' && lowered !== null && Array.isArray((lowered as { settings?: unknown }).settings)
      ? { ...lowered, settings: (lowered as { settings: unknown[] }).settings.map(lowerCaseKeys) }
      : lowered;
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    const errors = zodIssuesToSay(parsed.error.issues).map((i) => ({
      path: i.path.map((p) => BODY_NAMES[String(p)] ?? String(p)).join('.') || '(root)',
      message: i.message,
    }));
    throw badRequest(`${errors[0]!.path}: ${errors[0]!.message}`, errors);
  }
  return parsed.data;
}

/**
 * odataSettingsRoutes serve Orchestrator's settings API over the same mail settings: `GET
 * /odata/Settings`, `UpdateBulk` and `VerifySmtpSetting` (a test email, sharing the per-tenant
 * limit of Test Mail Settings through `beforeTest`).
 */
export function odataSettingsRoutes(app: TocsinApp, deps: AppDeps, testMail: TestMailDeps, beforeTest: (tenantId: string) => Promise<void>) {
  const { storage, secretBox, clock } = deps;
  const db = storage.db;
  /** systemFrom is the system default's From address, which a tenant without one of its own inherits (inheritFromAddress). */
  const systemFrom = async () => (await getSystemSmtp(db, secretBox, deps.systemSmtp)).smtp.fromAddress;

  app.get(
    '/odata/Settings',
    {
      config: {
        permission: 'Settings.View',
        answer: z.object({
          '@odata.context': z.string(),
          '@odata.count': z.number().int().optional().describe('With $count=true'),
          value: z.array(settingDto.partial()),
        }),
      },
      schema: {
        querystring: settingsQuery,
        description:
          "$filter on Name, Id, Value, Scope with eq, ne, in, contains, startswith, endswith, tolower, toupper, and, or, not (e.g. Name eq 'Abp.Net.Mail.Smtp.Host', startswith(Name,'Abp.Net.Mail.')); $orderby (at most 5 terms), $select (those properties); $top ≤ 1000; $skip; $count; $expand=* (nothing to expand); $format=json. Another $ option is a 400.",
      },
    },
    async (request) => {
      const q = request.query;
      const tenant = await orchestratorTenant(db, request);
      const filter = q.$filter?.trim();
      let value = settingDtos(await getMailSettings(db, tenant.id), tenant.time_zone);
      const option = <T>(name: string, read: () => T): T => {
        try {
          return read();
        } catch (err) {
          if (err instanceof FilterSyntaxError) throw fieldError(name, err.message);
          throw err;
        }
      };
      if (filter) {
        const tree = option('$filter', () => parseFilter(filter));
        value = option('$filter', () => value.filter((setting) => matchesSetting(tree, setting)));
      }
      value = option('$orderby', () => orderSettings(value, q.$orderby));
      const selected = option('$select', () => selectSettingProperties(q.$select));
      const count = value.length;
      const skip = q.$skip ?? 0;
      const page = value.slice(skip, skip + (q.$top ?? value.length));
      const shown = selected ? page.map((s) => Object.fromEntries(selected.map((p) => [p, s[p]]))) : page;
      // Absolute, as on /odata/Alerts and in Orchestrator's answers; a projection is named in it.
      const entitySet = selected ? `Settings(${selected.join(',')})` : 'Settings';
      return {
        '@odata.context': `${metadataUrl(deps.config.publicUrl)}#${entitySet}`,
        ...(q.$count ? { '@odata.count': count } : {}),
        value: shown,
      };
    },
  );

  /** applySettings saves Orchestrator settings as UpdateBulk does: all of them, or none and a 400 naming each bad key. */
  const applySettings = async (tenant: TenantRow, settings: { name: string; value: unknown }[]) => {
    const shown = settingDtos(await getMailSettings(db, tenant.id), tenant.time_zone);
    const update = bulkUpdate(settings, shown, await systemFrom());
    const zone = update.timeZone === undefined ? undefined : orchestratorZone(update.timeZone);
    if (update.timeZone !== undefined && zone === undefined) {
      update.errors.push({
        path: 'Abp.Timing.TimeZone',
        message: 'must be an IANA time zone such as Europe/Paris, or a Windows one such as Romance Standard Time',
      });
    }
    if (update.errors.length > 0) throw badRequest(`${update.errors[0]!.path}: ${update.errors[0]!.message}`, update.errors);
    // E.g. EnableSsl false with a UserName: refused (credentials never go in clear) naming the key.
    await inOrchestratorTerms('custom.', settingKeyOf, () => saveMailSettings(db, secretBox, tenant.id, update.mail, clock, testMail.context));
    // Kept as the REST API keeps it: IANA, as IANA spells it (`europe/paris` and `Romance Standard Time` are Europe/Paris).
    if (zone !== undefined) await updateTenant(db, tenant, { timeZone: zone }, clock);
  };

  /** settingByKey is the setting a `Settings('key')` path names (an OData string literal, any case), or a 404. */
  const settingByKey = async (request: FastifyRequest<{ Params: { '*': string } }>) => {
    const tenant = await orchestratorTenant(db, request);
    // The path's rest after `Settings(`: `'Abp.Timing.TimeZone')`, quotes in a key doubled as OData has them.
    const literal = /^\s*'(.*)'\s*\)$/s.exec(request.params['*']);
    const name = literal ? literal[1]!.replaceAll("''", "'").trim().toLowerCase() : undefined;
    const setting =
      name === undefined ? undefined : settingDtos(await getMailSettings(db, tenant.id), tenant.time_zone).find((s) => s.Name.toLowerCase() === name);
    if (!setting) throw notFound('Setting');
    return { tenant, setting };
  };

  // Orchestrator's Settings({key}): the value of one setting, and a PUT of one SettingsDto.
  // A wildcard, the key being no object of a tenant's but a name every tenant has.
  const byKey = '/odata/Settings(*';
  app.get<{ Params: { '*': string } }>(
    byKey,
    {
      config: { permission: 'Settings.View', documentedAs: BY_KEY_PATH, answer: z.object({ '@odata.context': z.string(), value: z.string() }) },
      schema: { description: "The Value of one setting of GET /odata/Settings, as Orchestrator's ODataValueOfString." },
    },
    async (request) => {
      const { setting } = await settingByKey(request);
      return { '@odata.context': `${metadataUrl(deps.config.publicUrl)}#Edm.String`, value: setting.Value };
    },
  );
  app.put<{ Params: { '*': string } }>(
    byKey,
    {
      config: { permission: 'Settings.Edit', documentedAs: BY_KEY_PATH, answer: settingDto },
      schema: {
        body: caseInsensitiveBody(settingBody, BODY_NAMES),
        description:
          "Writes one setting as UpdateBulk does (the key names it; Name, Scope and Id are not read) → the setting's SettingsDto as GET /odata/Settings then lists it.",
      },
    },
    async (request) => {
      const { tenant, setting } = await settingByKey(request);
      const body = lowerCaseKeys(request.body) as { value?: unknown } | undefined;
      if (typeof body !== 'object' || body === null || body.value === undefined) throw fieldError('Value', 'is required');
      await applySettings(tenant, [{ name: setting.Name, value: body.value }]);
      const after = await orchestratorTenant(db, request);
      return settingDtos(await getMailSettings(db, after.id), after.time_zone).find((s) => s.Name === setting.Name);
    },
  );

  app.post(
    `${ACTIONS}.UpdateBulk`,
    {
      config: { permission: 'Settings.Edit' },
      schema: {
        body: caseInsensitiveBody(updateBulkBody, BODY_NAMES),
        description:
          '{"settings": [{Name, Value}]} with string values; names Tocsin does not keep are ignored, and so are SMTP values equal to what GET /odata/Settings shows (sending its list back changes nothing). A Value null resets an SMTP setting as an empty one does (Domain, UserName, the display name cleared; Host, Port, EnableSsl, DefaultFromAddress a 400) and clears the password. A tenant with no From address of its own sends from the address of the system default while DefaultFromAddress is left unset (as VerifySmtpSetting tests).',
      },
    },
    async (request, reply) => {
      const tenant = await orchestratorTenant(db, request);
      const body = parseBody(updateBulkBody, request.body, true);
      await applySettings(
        tenant,
        body.settings.map((s) => ({ name: s.name, value: s.value })),
      );
      return reply.status(200).send();
    },
  );

  app.post(
    `${ACTIONS}.VerifySmtpSetting`,
    {
      config: { permission: 'Settings.Edit', problems: [429] },
      schema: {
        body: caseInsensitiveBody(verifyBodyDocumented, BODY_NAMES),
        description: 'Sends a test email; 200 when sent, 400 problem with the SMTP error otherwise.',
      },
    },
    async (request, reply) => {
      const tenant = await orchestratorTenant(db, request);
      const body = parseBody(verifyBody, request.body);
      const model = lowerCaseKeys(body.smtpsettingmodel) as OrchestratorSmtpModel;
      // The model is tested over the saved server: UseDefaultCredentials false undoes a saved 'none'.
      const saved = (await getMailSettings(db, tenant.id)).custom;
      const storedAuthMethod = saved?.authMethod;
      // Orchestrator tests the model it is given: on another host, a UserName or Domain left out is
      // none (as its form sends it empty), not the saved server's, which goes with its password.
      if (saved && typeof model.host === 'string' && !sameSmtpHost(model.host.trim(), saved.host)) {
        model.username ??= '';
        model.domain ??= '';
      }
      settleEnableSsl(model, saved ? { port: String(saved.port), enableSsl: saved.security !== 'none' } : undefined);
      if (!saved) inheritFromAddress(model, undefined, await systemFrom());
      const converted = smtpInputFromModel(model, (field) => `smtpSettingModel.${MODEL_NAMES[field]}`, storedAuthMethod);
      const badSendTo = body.sendto != null && !isEmailAddress(body.sendto.trim());
      const errors = [
        ...(badSendTo ? [{ path: 'sendTo', message: 'must be an email address' }] : []),
        ...(model.host == null ? [{ path: 'smtpSettingModel.Host', message: HOST_REQUIRED }] : []),
        ...converted.errors,
      ];
      if (errors.length > 0) throw badRequest(`${errors[0]!.path}: ${errors[0]!.message}`, errors);
      const input = converted.input;
      const recipient = await testMailRecipient(deps, request, tenant, body.sendto?.trim());
      const result = await inOrchestratorTerms(
        'settings.',
        (field) => `smtpSettingModel.${MODEL_NAMES[field]}`,
        () => sendTestMail(testMail, { ...recipient, settings: input, beforeConnect: () => beforeTest(tenant.id) }),
      );
      if (!result.ok) throw badRequest(`${result.stage}: ${result.message}`, [{ path: STAGE_FIELD[result.stage], message: result.message }]);
      return reply.status(200).send();
    },
  );
}
