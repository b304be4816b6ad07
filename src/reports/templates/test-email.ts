import type { RenderedEmail } from '../../delivery/contract.js';
import { emailTranslator } from '../../i18n/email-i18n.js';
import { localeFormat } from '../../i18n/format.js';
import { hostAndPort } from '../../shared/host-port.js';
import { greeting, renderEmail } from './frame.js';
import { subjectTenant } from './headers.js';
import { SEVERITY_COLOURS } from './severity-style.js';
import type { TestEmailInput } from './view-models.js';

/**
 * renderTestEmail renders the email of Test Mail Settings in the requesting user's language: when
 * it was sent and which settings it tested. It carries no unsubscribe (nobody subscribed to it).
 */
export function renderTestEmail(input: TestEmailInput): RenderedEmail {
  const t = emailTranslator(input.language);
  const fmt = localeFormat(input.language, input.timeZone);
  const intro = t('test.intro', { tenant: input.tenantDisplayName, time: fmt.dateTime(input.sentAt) });
  const timesIn = t('common.timesIn', { zone: fmt.zoneLabel(input.sentAt) });
  const { host, port, security, fromAddress } = input.tested;
  const settings = t('test.settings', { server: hostAndPort(host, port), security: t(`test.security.${security}`), from: fromAddress });
  const nothingSaved = t('test.nothingSaved');
  return renderEmail(
    'test',
    {
      language: input.language,
      subject: t('test.subject', { tenant: subjectTenant(input.tenantDisplayName) }),
      preheader: intro,
      accent: SEVERITY_COLOURS.Success,
      tenantDisplayName: input.tenantDisplayName,
      heading: t('test.heading'),
      greeting: greeting(t, undefined),
      why: null,
      preferences: null,
      unsubscribe: null,
    },
    { intro, timesIn, settings, nothingSaved },
    [intro, timesIn, '', settings, '', nothingSaved],
    { tenantName: input.tenantName },
    t,
    fmt,
  );
}
