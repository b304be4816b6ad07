import { z } from 'zod';
import { tenantOf } from '../access/routes.js';
import type { RouteModule } from '../http/context.js';
import { DEFAULT_LANGUAGE, LANGUAGES, type Language } from '../i18n/languages.js';
import { language, timeZone } from '../shared/validation.js';
import { getMailSettings } from '../settings/mail-settings.js';
import { PREVIEW_KINDS, type PreviewKind, renderPreview } from './templates/samples.js';

const previewParams = z.object({ tenant: z.string().min(1).max(200) });
const previewView = z.object({
  subject: z.string(),
  text: z.string(),
  html: z.string(),
  headers: z.record(z.string(), z.string()).describe('The X-Tocsin-… and List-Unsubscribe headers the email carries'),
});
const previewQuery = z.object({
  kind: z.enum(PREVIEW_KINDS as [PreviewKind, ...PreviewKind[]]).default('summary'),
  language: language.optional(),
  timeZone: timeZone.optional(),
  format: z.enum(['json', 'html']).default('json'),
});

// The HTML preview is the email itself, served from the API's origin: it may show nothing active.
const HTML_PREVIEW_HEADERS = {
  'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'; img-src https: data:; base-uri 'none'; form-action 'none'",
  'x-content-type-options': 'nosniff',
  'cache-control': 'no-store',
};

/**
 * previewRoutes render a realistic sample of each email (sample alerts from Orchestrator's events)
 * for the tenant, in a language and time zone (the tenant's by default), so that the console and
 * reviewers can see them without raising alerts: `{subject, text, html, headers}`, or the HTML
 * alone with `format=html` for a browser.
 */
export const previewRoutes: RouteModule = (app, { config, clock, storage }) => {
  app.get(
    '/api/v1/tenants/:tenant/emails/preview',
    {
      config: { permission: 'Settings.View', answer: previewView, page: 'With format=html: the HTML of the email alone' },
      schema: {
        params: previewParams,
        querystring: previewQuery,
        description:
          'A sample of one email (kind summary, daily, immediate, test, or the notices to the mail administrators mail-health-failing, mail-health-recovered and mail-health-token) in a language and time zone, the tenant ones by default: {subject, text, html, headers}, or with format=html the HTML itself (text/html).',
      },
    },
    async (request, reply) => {
      const tenant = tenantOf(request);
      const query = request.query;
      const tenantLanguage = (LANGUAGES as readonly string[]).includes(tenant.language) ? (tenant.language as Language) : DEFAULT_LANGUAGE;
      const email = renderPreview(query.kind, {
        tenant: { name: tenant.name, displayName: tenant.display_name, timeZone: tenant.time_zone },
        language: query.language ?? tenantLanguage,
        timeZone: query.timeZone ?? tenant.time_zone,
        now: clock.now(),
        publicUrl: config.publicUrl,
        summaryIntervalSeconds: config.summaryIntervalSeconds,
        // The daily report covers the day to the tenant's report time: so does its sample.
        dailyReportTime: query.kind === 'daily' ? (await getMailSettings(storage.db, tenant.id)).dailyReportTime : undefined,
      });
      if (query.format === 'html') return reply.headers(HTML_PREVIEW_HEADERS).type('text/html; charset=utf-8').send(email.html);
      return { subject: email.subject, text: email.text, html: email.html, headers: email.headers };
    },
  );
};
