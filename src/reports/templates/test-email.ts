import type { RenderedEmail } from '../../delivery/contract.js';
import { emailTranslator } from '../../i18n/email-i18n.js';
import { localeFormat } from '../../i18n/format.js';
import { hostAndPort } from '../../shared/host-port.js';
import { greeting, renderEmail } from './frame.js';
import { subjectTenant } from './headers.js';
import { SEVERITY_COLOURS } from './severity-style.js';
import type { TestEmailInput } from './view-models.js';
import { shownTenant } from './text.js';

/**
 * renderTestEmail renders the email of Test Mail Settings in the requesting user's language: when
 * it was sent and which settings it tested, a tenant's or the host's system default. It carries no
 * unsubscribe (nobody subscribed to it), nor X-Tocsin-Tenant for the system default (no tenant's).
 */
export function renderTestEmail(input: TestEmailInput): RenderedEmail {
  const t = emailTranslator(input.language);
  const fmt = localeFormat(input.language, input.timeZone);
  const tenant = input.tenant && shownTenant(input.tenant);
  const time = fmt.dateTime(input.sentAt);
  const intro = tenant ? t('test.intro', { tenant: tenant.displayName, time }) : t('test.introSystem', { time });
  const timesIn = t('common.timesIn', { zone: fmt.zoneLabel(input.sentAt) });
  const { host, port, security, fromAddress } = input.tested;
  const settings = t('test.settings', { server: hostAndPort(host, port), security: t(`test.security.${security}`), from: fromAddress });
  const nothingSaved = t('test.nothingSaved');
  return renderEmail(
    'test',
    {
      language: input.language,
      subject: tenant ? t('test.subject', { tenant: subjectTenant(tenant.displayName) }) : t('test.subjectSystem'),
      preheader: null,
      accent: SEVERITY_COLOURS.Success,
      tenantDisplayName: tenant?.displayName ?? 'Tocsin',
      heading: t('test.heading'),
      greeting: greeting(t, {}),
      why: null,
      preferences: null,
      unsubscribe: null,
    },
    { intro, timesIn, settings, nothingSaved },
    [intro, timesIn, '', settings, '', nothingSaved],
    { tenantName: tenant?.name },
    t,
    fmt,
  );
}
