import { z } from 'zod';
import { tenantOf } from '../access/routes.js';
import { createMailSender } from '../delivery/smtp/sender.js';
import type { RouteModule } from '../http/context.js';
import { tooManyRequests } from '../http/problem.js';
import { emailAddress, instantText, language } from '../shared/validation.js';
import { DEFAULT_LANGUAGE } from '../i18n/languages.js';
import { endpointContext } from './endpoint.js';
import {
  clearCustomSmtp,
  getMailSettings,
  getSystemSmtp,
  mailSettingsInput,
  mailSettingsView,
  saveMailSettings,
  saveSystemSmtp,
  showMailSettings,
  showSystemSmtp,
  openCustomSecrets,
} from './mail-settings.js';
import { SecretDecryptError } from './secret-box.js';
import { showMailHealth } from '../mail-health/model.js';
import { getMailHealth } from '../mail-health/store.js';
import { accessTokenLife, warnBeforeTokenExpiry } from '../mail-health/token-expiry.js';
import { SYSTEM_TESTS, TEST_MAILS_PER_MINUTE, takeTestMailTurn } from './test-mail-limit.js';
import { smtpSettingsInput, smtpSettingsView } from './smtp-settings.js';
import { SMTP_STAGES, signsInWithToken } from '../delivery/contract.js';
import { odataSettingsRoutes } from './odata-routes.js';
import { type TestMailDeps, sendSystemTestMail, sendTestMail, testMailRecipient } from './test-mail.js';

const tenantParams = z.object({ tenant: z.string().min(1).max(200) });

/** mailHealthAnswer documents `GET /settings/mail/health` (API.md). */
const mailHealthAnswer = z.object({
  state: z.enum(['ok', 'failing']),
  since: instantText.optional(),
  lastCode: z.number().int().optional(),
  lastError: z.string().optional(),
  accessTokenExpiresAt: instantText
    .optional()
    .describe(
      "When the XOAUTH2 access token of the tenant's own server expires, when that is known (a JWT's exp); the administrators are emailed once, through the system default, from 24 hours before, if it was issued to live longer than that (or does not say when).",
    ),
  accessTokenIssuedAt: instantText
    .optional()
    .describe(
      "When that token was issued, when it says (a JWT's iat): one issued to live a day or less is renewed by the tenant's automation, and warned of only once it has expired.",
    ),
});

/** testMailAnswer documents `POST /settings/mail/test` (always 200): sent, or the stage that failed. */
const testMailAnswer = z.union([
  z.object({ ok: z.literal(true), messageId: z.string(), transcript: z.array(z.string()) }),
  z.object({ ok: z.literal(false), stage: z.enum(SMTP_STAGES), code: z.number().int().optional(), message: z.string(), transcript: z.array(z.string()) }),
]);

/**
 * systemSmtpInput is the body of `PUT /system/mail-settings`: an SmtpSettings, and the `source` its
 * GET answers with, taken and ignored (it says where the settings in force come from, which a save
 * decides), so that a script can send back what it read with one field changed.
 */
const systemSmtpInput = smtpSettingsInput.extend({ source: z.enum(['url', 'saved']).optional() }).transform(({ source: _readOnly, ...smtp }) => smtp);
const systemSmtpView = smtpSettingsView.extend({ source: z.enum(['url', 'saved']) });

/**
 * testMailInput is the body of `POST /settings/mail/test`. Every field is optional, so a request
 * with no body at all (`curl -X POST`) is every default, as `{}` is; a field sent as null is left
 * out too, as in every other request body. `language` is the email's for a caller with none of its
 * own (the host administrator: its console's); a user's test email is in the user's language.
 */
const testMailInput = z
  .object({ sendTo: emailAddress.nullish(), settings: smtpSettingsInput.nullish(), language: language.nullish() })
  .strict()
  .nullish()
  .transform((body) => ({ sendTo: body?.sendTo ?? undefined, settings: body?.settings ?? undefined, language: body?.language ?? undefined }));

/**
 * systemTestInput is the body of `POST /system/mail-settings/test`: the host administrator has no
 * address or language of its own, so `sendTo` is required and the email's language is asked for.
 * Unsaved settings may carry the `source` a GET of the settings answers, ignored as in the PUT.
 */
const systemTestInput = z.object({ sendTo: emailAddress, settings: systemSmtpInput.nullish(), language: language.nullish() }).strict();

/** settingsRoutes are the tenant's Mail tab, Test Mail Settings and the host's system mail settings. */
export const settingsRoutes: RouteModule = (app, deps) => {
  const { storage, secretBox, clock } = deps;
  const db = storage.db;
  const sender = createMailSender({ clock });
  const stopping = new AbortController();
  // Before the requests in flight are waited for: a test on a silent server, or on a DNS that does not answer, is answered at once, not after its timeout.
  app.addHook('preClose', () => {
    stopping.abort();
    return sender.close();
  });
  const testMail: TestMailDeps = {
    db,
    secretBox,
    sender,
    clock,
    context: endpointContext(deps.config, deps.systemSmtp),
    health: { dialect: storage.dialect, notices: { publicUrl: deps.config.publicUrl, log: deps.logger } },
    stopping: stopping.signal,
  };
  /** beforeTest takes a turn of a tenant's tests, or of the system settings' (SYSTEM_TESTS): a 429 past the limit. */
  const beforeTest = async (tenantId: string | typeof SYSTEM_TESTS) => {
    const turn = await takeTestMailTurn(db, tenantId, clock.now());
    if (!turn.allowed) {
      const whose = tenantId === SYSTEM_TESTS ? 'of the system settings' : 'per tenant';
      throw tooManyRequests(`At most ${TEST_MAILS_PER_MINUTE} test emails a minute ${whose}.`, turn.retryAfterMs / 1000);
    }
  };

  /** xoauth2Token is the access token a tenant's custom server is signed in to with (XOAUTH2), when it uses one (and it opens). */
  const xoauth2Token = async (tenantId: string): Promise<string | undefined> => {
    const settings = await getMailSettings(db, tenantId);
    const method = settings.custom?.authMethod;
    if (!settings.useCustom || (method !== 'xoauth2' && method !== 'auto')) return undefined;
    try {
      const secrets = await openCustomSecrets(db, secretBox, tenantId);
      return signsInWithToken(method, secrets) ? (secrets.accessToken ?? undefined) : undefined;
    } catch (err) {
      if (err instanceof SecretDecryptError) return undefined;
      throw err;
    }
  };

  app.get(
    '/api/v1/tenants/:tenant/settings/mail',
    { config: { permission: 'Settings.View', answer: mailSettingsView }, schema: { params: tenantParams } },
    async (request) => showMailSettings(await getMailSettings(db, tenantOf(request).id)),
  );
  app.put(
    '/api/v1/tenants/:tenant/settings/mail',
    { config: { permission: 'Settings.Edit', answer: mailSettingsView }, schema: { params: tenantParams, body: mailSettingsInput } },
    async (request) => {
      const tenantId = tenantOf(request).id;
      const saved = await saveMailSettings(db, secretBox, tenantId, request.body, clock, testMail.context);
      // A token saved with little time left is warned about at once, not at the next email.
      const token = await xoauth2Token(tenantId);
      if (token) await warnBeforeTokenExpiry(db, tenantId, token, clock.now(), { publicUrl: deps.config.publicUrl });
      return showMailSettings(saved);
    },
  );
  app.get(
    '/api/v1/tenants/:tenant/settings/mail/health',
    {
      config: { permission: 'Settings.View' },
      schema: {
        params: tenantParams,
        description:
          "Whether the tenant's alert emails get through, from what its deliveries met: `failing` after a permanent refusal, or transient failures for more than 15 minutes (whether or not they paused the server); `ok` again once an email is delivered (a test of the saved settings included). `since` is when the state began; `lastCode` and `lastError` are the server's last reply while failing.",
        response: { 200: mailHealthAnswer },
      },
    },
    async (request) => {
      const tenantId = tenantOf(request).id;
      const health = showMailHealth(await getMailHealth(db, tenantId));
      const token = await xoauth2Token(tenantId);
      const life = token === undefined ? undefined : accessTokenLife(token);
      if (life === undefined) return health;
      const issued = life.issuedAt === undefined ? {} : { accessTokenIssuedAt: new Date(life.issuedAt).toISOString() };
      return { ...health, accessTokenExpiresAt: new Date(life.expiresAt).toISOString(), ...issued };
    },
  );
  app.delete(
    '/api/v1/tenants/:tenant/settings/mail/custom',
    { config: { permission: 'Settings.Edit', status: 204 }, schema: { params: tenantParams } },
    async (request, reply) => {
      await clearCustomSmtp(db, tenantOf(request).id, clock);
      return reply.status(204).send();
    },
  );
  app.post(
    '/api/v1/tenants/:tenant/settings/mail/test',
    { config: { permission: 'Settings.Edit', answer: testMailAnswer, problems: [429] }, schema: { params: tenantParams, body: testMailInput } },
    async (request) => {
      const tenant = tenantOf(request);
      const recipient = await testMailRecipient(deps, request, tenant, request.body.sendTo, request.body.language);
      return sendTestMail(testMail, { ...recipient, settings: request.body.settings, beforeConnect: () => beforeTest(tenant.id) });
    },
  );

  app.get('/api/v1/system/mail-settings', { config: { access: 'host', answer: systemSmtpView } }, async () =>
    showSystemSmtp(await getSystemSmtp(db, secretBox, deps.systemSmtp)),
  );
  app.put('/api/v1/system/mail-settings', { config: { access: 'host', answer: systemSmtpView }, schema: { body: systemSmtpInput } }, async (request) => {
    return showSystemSmtp(await saveSystemSmtp(db, secretBox, deps.systemSmtp, request.body, clock));
  });

  app.post(
    '/api/v1/system/mail-settings/test',
    {
      config: { access: 'host', answer: testMailAnswer, problems: [429] },
      schema: {
        body: systemTestInput,
        description: `Test Mail Settings of the system default: a test email to \`sendTo\` through the saved system settings, or through \`settings\` merged over them (nothing is saved), answered as the tenant's test is. It belongs to no tenant: no delivery log keeps it and it carries no X-Tocsin-Tenant; \`language\` (default en) is the email's. At most ${TEST_MAILS_PER_MINUTE} a minute, as a tenant's (then 429 with Retry-After).`,
      },
    },
    async (request) => {
      const { sendTo, settings, language } = request.body;
      return sendSystemTestMail(testMail, {
        sendTo,
        settings: settings ?? undefined,
        language: language ?? DEFAULT_LANGUAGE,
        beforeConnect: () => beforeTest(SYSTEM_TESTS),
      });
    },
  );

  odataSettingsRoutes(app, deps, testMail, beforeTest);
};
