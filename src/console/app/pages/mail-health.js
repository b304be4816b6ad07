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
 * TOKEN_WARNING_MS is how long before an OAuth access token's expiry the console warns, as the
 * server's warning email does (token-expiry.ts), for a token issued to live longer than that.
 */
const TOKEN_WARNING_MS = 24 * 3600 * 1000;

/**
 * @typedef {{ state: string, since?: string, lastCode?: number, lastError?: string, accessTokenExpiresAt?: string, accessTokenIssuedAt?: string }} MailHealth
 */

/**
 * tokenNotice says whether the tenant's OAuth access token calls for a warning at `now`: `expired`,
 * `expiring` within TOKEN_WARNING_MS, else null (no known expiry, or not soon). A token issued to
 * live no longer than TOKEN_WARNING_MS (Microsoft's: 60 to 90 minutes) is renewed every hour by the
 * tenant's automation, and would be `expiring` all the time: it is told only once it has expired.
 * @param {MailHealth} health
 * @param {number} now
 * @returns {'expired' | 'expiring' | null}
 */
export function tokenNotice(health, now) {
  const expiresAt = health.accessTokenExpiresAt ? Date.parse(health.accessTokenExpiresAt) : Number.NaN;
  if (Number.isNaN(expiresAt) || expiresAt - now > TOKEN_WARNING_MS) return null;
  if (expiresAt <= now) return 'expired';
  const issuedAt = health.accessTokenIssuedAt ? Date.parse(health.accessTokenIssuedAt) : Number.NaN;
  return expiresAt - issuedAt <= TOKEN_WARNING_MS ? null : 'expiring';
}

/**
 * MailHealthBanner tells, on every page, that the tenant's alert emails are not getting through
 * (GET /settings/mail/health says `failing`): since when, the server's last reply as it gave it,
 * and a link to Settings > Mail. It goes as soon as the health is `ok` again. While mail works, it
 * warns instead when the OAuth access token expires within a day (or has expired). Shown to holders
 * of Settings.View, who may read that endpoint; the shell renders it only for them.
 * @param {{ session: TenantSession }} props
 */
export function MailHealthBanner({ session }) {
  const [health, setHealth] = useState(/** @type {MailHealth | null} */ (null));
  usePolling(() => {
    return api('GET', tenantApi(session, 'settings/mail/health')).then(setHealth, () => {});
  }, [session.tenant.id]);
  if (!health) return null;
  const page = `${t('settings.title')} › ${t('settings.mailTab')}`;
  const token = health.state === 'failing' ? null : tokenNotice(health, Date.now());
  if (token) {
    return html`<div class="banner warning mail-health" role="status" data-testid="token-expiry">
      <p><strong>${t(token === 'expired' ? 'mailHealth.tokenExpired' : 'mailHealth.tokenExpiring', { time: formatTime(health.accessTokenExpiresAt) })}</strong></p>
      <p><a href=${href('/settings/mail')}>${t('mailHealth.open', { page })}</a></p>
    </div>`;
  }
  if (health.state !== 'failing') return null;
  return html`<div class="banner error mail-health" role="alert" data-testid="mail-health">
    <p><strong>${health.since ? t('mailHealth.failingSince', { since: formatTime(health.since) }) : t('mailHealth.failing')}</strong></p>
    ${
      health.lastError
        ? html`<p>${t('labelled', { label: t('mailHealth.lastError') })} <code class="reply" lang="en">${health.lastCode && !health.lastError.includes(String(health.lastCode)) ? `${health.lastCode} ` : ''}${health.lastError}</code></p>`
        : null
    }
    <p><a href=${href('/settings/mail')}>${t('mailHealth.open', { page })}</a></p>
  </div>`;
}
