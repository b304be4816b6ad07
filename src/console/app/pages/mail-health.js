import { useState } from 'preact/hooks';
import { api } from '../lib/api.js';
import { formatTime } from '../lib/format.js';
import { t } from '../lib/i18n.js';
import { usePolling } from '../lib/polling.js';
import { href } from '../lib/router.js';
import { tenantApi } from '../lib/session.js';
import { html } from '../lib/ui.js';

/** @import { TenantSession } from '../lib/session.js' */

/**
 * MailHealthBanner tells, on every page, that the tenant's alert emails are not getting through
 * (GET /settings/mail/health says `failing`): since when, the server's last reply as it gave it,
 * and a link to Settings > Mail. It goes as soon as the health is `ok` again. Shown to holders of
 * Settings.View, who may read that endpoint; the shell renders it only for them.
 * @param {{ session: TenantSession }} props
 */
export function MailHealthBanner({ session }) {
  const [health, setHealth] = useState(/** @type {{ state: string, since?: string, lastCode?: number, lastError?: string } | null} */ (null));
  usePolling(() => {
    api('GET', tenantApi(session, 'settings/mail/health')).then(setHealth, () => {});
  }, [session.tenant.id]);
  if (health?.state !== 'failing') return null;
  const page = `${t('settings.title')} › ${t('settings.mailTab')}`;
  return html`<div class="banner error mail-health" role="alert" data-testid="mail-health">
    <p><strong>${health.since ? t('mailHealth.failingSince', { since: formatTime(health.since) }) : t('mailHealth.failing')}</strong></p>
    ${
      health.lastError
        ? html`<p>${t('labelled', { label: t('test.serverSaid') })} <code class="reply" lang="en">${health.lastCode && !health.lastError.includes(String(health.lastCode)) ? `${health.lastCode} ` : ''}${health.lastError}</code></p>`
        : null
    }
    <p><a href=${href('/settings/mail')}>${t('mailHealth.open', { page })}</a></p>
  </div>`;
}
