import { useLayoutEffect, useRef, useState } from 'preact/hooks';
import { api } from '../lib/api.js';
import { Named, useCatalogue } from '../lib/catalogue.js';
import { formatTime } from '../lib/format.js';
import { formatNumber, t } from '../lib/i18n.js';
import { href } from '../lib/router.js';
import { useLastAsked } from '../lib/last-asked.js';
import { usePolling } from '../lib/polling.js';
import { useToldRises } from '../lib/rises.js';
import { alertsChanged, tenantApi } from '../lib/session.js';
import { Banner, html, problemText, rowNameId } from '../lib/ui.js';

/**
 * COUNT_LIMIT is how far the bell counts (the unread count's `limit`): past 999 it says 999+, so
 * counting the tens of thousands of a tenant's unread alerts every 3 s told it nothing more.
 */
const COUNT_LIMIT = 1_000;

/**
 * shownCount is the unread count as the bell says it, in its badge and in words: 999+ past 999.
 * @param {number} unread
 */
function shownCount(unread) {
  return unread >= COUNT_LIMIT ? `${COUNT_LIMIT - 1}+` : unread;
}

/** Bell shows the unread count in the header; its panel lists the five most severe unread alerts. */
export function Bell({ session }) {
  const [unread, setUnread] = useState(/** @type {any} */ (null));
  // New alerts are told to a screen reader as the badge shows them, at most once every 30 s.
  const { news, hear } = useToldRises((count) => t('bell.label', { count: shownCount(count) }));
  const [open, setOpen] = useState(false);
  const [items, setItems] = useState(/** @type {any[]} */ ([]));
  const [error, setError] = useState(/** @type {unknown} */ (null));
  const box = useRef(/** @type {HTMLElement | null} */ (null));
  const button = useRef(/** @type {HTMLButtonElement | null} */ (null));
  const names = useCatalogue(session);

  // A keyboard user in the panel goes back to the bell when the panel closes, rather than to the
  // start of the page; a click elsewhere keeps the focus where it went.
  const close = () => {
    if (box.current?.contains(document.activeElement)) button.current?.focus();
    setOpen(false);
  };

  // Opening or closing the panel asks again at once, while the refresh asked before may still be on its
  // way: answered after, on a slow or loaded server, it counted an alert marked read since, and told a
  // screen reader of new alerts. Only the last asked count and panel are shown.
  const counts = useLastAsked();
  const panels = useLastAsked();
  usePolling(() => {
    const count = counts.read(
      () => api('GET', tenantApi(session, `alerts/unread-count?limit=${COUNT_LIMIT}`)),
      (answer) => {
        hear(answer.unread);
        setUnread(answer.unread);
      },
    );
    if (!open) return count;
    const panel = panels.read(
      () => api('GET', tenantApi(session, 'alerts/panel')),
      (answer) => setItems(answer.items),
    );
    return Promise.all([count, panel]);
  }, [session.tenant.id, open]);

  // With the render, not after the next paint: a click elsewhere or Escape in the frame that draws
  // the panel closes it, instead of being lost.
  useLayoutEffect(() => {
    if (!open) return undefined;
    const outside = (event) => {
      if (box.current && !box.current.contains(event.target)) setOpen(false);
    };
    const onEscape = (event) => {
      if (event.key === 'Escape') close();
    };
    document.addEventListener('click', outside);
    document.addEventListener('keydown', onEscape);
    return () => {
      document.removeEventListener('click', outside);
      document.removeEventListener('keydown', onEscape);
    };
  }, [open]);

  // The row marked read goes from the panel, and with it the focus: it goes to the bell, whose
  // label tells the new count, and the next Tab is back in the panel.
  // A failure (Tocsin unreachable, a refusal) is said in the panel, in the user's language.
  // A flood's line (its ×N) is marked read whole, by its groupId, as the line counts it: its first alert alone left the rest.
  const markRead = async (alert) => {
    try {
      await api('POST', tenantApi(session, 'alerts/mark-read'), alert.groupId ? { ids: [alert.id], groupIds: [alert.groupId] } : { ids: [alert.id] });
    } catch (err) {
      setError(err);
      return;
    }
    setError(null);
    button.current?.focus();
    // What was asked before it counts and lists the alert as unread: ALERTS_CHANGED asks again.
    counts.forget();
    panels.forget();
    alertsChanged();
  };

  // Escape is handled here too: the document listener is attached only after the panel renders.
  return html`<div class="bell" ref=${box} onKeyDown=${(event) => {
    if (event.key === 'Escape') close();
  }}>
    <button type="button" class="bell-button" ref=${button} aria-expanded=${open} aria-controls="bell-panel"
      aria-label=${t('bell.label', { count: shownCount(unread ?? 0) })} onClick=${() => {
        setError(null);
        setOpen(!open);
      }}>
      <img src="console/bell.svg" alt="" width="20" height="20" />
      ${unread ? html`<span class="badge" data-testid="unread-count">${shownCount(unread)}</span>` : null}
    </button>
    <span class="sr-only" role="status" data-testid="bell-news">${news}</span>
    ${
      open
        ? html`<div class="bell-panel" id="bell-panel" role="region" aria-label=${t('bell.panel')}>
      <h2>${t('bell.unread', { count: shownCount(unread ?? 0) })}</h2>
      <${Banner}>${problemText(error)}<//>
      ${
        items.length === 0
          ? html`<p class="muted">${t('bell.none')}</p>`
          : html`<ul>
        ${items.map(
          (alert) => html`<li key=${alert.id} class=${`sev-${alert.severity}`}>
          <span class=${`severity ${alert.severity}`}>${t(`severity.${alert.severity}`)}</span>
          <span class="panel-text"><span class="panel-message" id=${rowNameId('bell', alert)}><strong><${Named} name=${names.component(alert.component)} code=${alert.component} /></strong> <bdi>${alert.message}</bdi>${alert.count > 1 ? html` <span class="pill">×${formatNumber(alert.count)}</span>` : null}</span>
            <small class="muted">${formatTime(alert.occurredAt || alert.createdAt)}</small></span>
          ${
            // Not offered to the host administrator, as on the Alerts page.
            session.kind === 'user'
              ? html`<button type="button" class="link" aria-describedby=${rowNameId('bell', alert)} onClick=${() => markRead(alert)}>${t('alerts.markRead')}</button>`
              : null
          }
        </li>`,
        )}
      </ul>`
      }
      <p class="panel-links">
        <a href=${href('/alerts')} onClick=${() => setOpen(false)}>${t('bell.seeAll')}</a>
        ${session.kind === 'user' ? html`<a href=${href('/preferences')} onClick=${() => setOpen(false)}>${t('bell.preferences')}</a>` : null}
      </p>
    </div>`
        : null
    }
  </div>`;
}
