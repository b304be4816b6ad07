import { DateTime } from 'luxon';
import { useState } from 'preact/hooks';
import { api, query as toQuery } from '../lib/api.js';
import { BarChart, RangePicker } from '../lib/chart.js';
import { CLOCK, formatTime, onRepeatedClock, timeZone } from '../lib/format.js';
import { currentLanguage, t } from '../lib/i18n.js';
import { useLastAsked } from '../lib/last-asked.js';
import { CHART_POLL_MS, usePolling } from '../lib/polling.js';
import { SEVERITIES, tenantApi } from '../lib/session.js';
import { ScrollPre, html } from '../lib/ui.js';

const SEVERITY_SERIES = () => SEVERITIES.map((s) => ({ key: s, label: t(`severity.${s}`), color: s.toLowerCase() }));
const RANGES = ['24h', '7d', '30d'];

/**
 * bucketLabel is a bar's label in the user's language, at the offset the API gave for the user's
 * zone: its hour, its day and hour, or its day; hours on formatTime's CLOCK.
 */
export function bucketLabel(start, unit) {
  const time = DateTime.fromISO(start, { setZone: true }).setLocale(currentLanguage());
  if (unit === 'hour') {
    // The two bars of the hour the clock repeats when summer time ends would both read 02:00: each says its offset.
    const zoned = time.setZone(timeZone());
    if (onRepeatedClock(zoned)) return zoned.toLocaleString({ ...CLOCK, timeZoneName: 'short' });
    return time.toLocaleString(CLOCK);
  }
  if (unit === '6h') return time.toLocaleString({ weekday: 'short', ...CLOCK });
  return time.toLocaleString({ month: 'short', day: 'numeric' });
}

/**
 * AlertsChart shows the tenant's alerts over time by severity, in the user's time zone; a click on
 * a bar (or its row in the table) filters the list to that period, and to that severity and above
 * when the click falls on one severity's part of the bar.
 */
export function AlertsChart({ session, onPick }) {
  const [range, setRange] = useState('24h');
  const [answer, setAnswer] = useState(
    /** @type {{key: string, unit: string, buckets: {start: string, end: string, counts: Record<string, number>}[]} | null} */ (null),
  );
  // Only the range chosen last is drawn: on a slow or loaded server, a range chosen before it and answered
  // after it was drawn under the later one's button, and a click on its bars filtered the list to its periods.
  const reads = useLastAsked();
  usePolling(
    () => {
      // A refresh that fails keeps what the chart shows (as the list keeps its rows), so long as it is
      // the tenant and range asked for: the table opened under it and the focus in it stay. (A range
      // being read leaves the last one drawn until its answer is in.)
      const key = `${session.tenant.id} ${range}`;
      return reads.read(
        () => api('GET', tenantApi(session, `alerts/histogram${toQuery({ range, timeZone: timeZone() })}`)),
        (next) => setAnswer({ ...next, key }),
        () => setAnswer((last) => (last?.key === key ? last : null)),
      );
    },
    [range, session.tenant.id],
    CHART_POLL_MS,
  );
  if (!answer) return null;
  const pick = (i, severity) => {
    const bucket = answer.buckets[i];
    if (bucket) onPick({ since: bucket.start, until: bucket.end, severity: severity ?? '' });
  };
  return html`<section class="chart-card" aria-label=${t('chart.alertsTitle')}>
    <div class="chart-head">
      <${RangePicker} label=${t('chart.range')} value=${range} onChange=${setRange} options=${RANGES.map((r) => [r, t(`chart.range.${r}`)])} />
      <small class="hint">${t('chart.pickHint')}</small>
    </div>
    <${BarChart} id="alerts-chart" title=${t('chart.alertsTitle')} series=${SEVERITY_SERIES()}
      labels=${answer.buckets.map((b) => bucketLabel(b.start, answer.unit))} rows=${answer.buckets.map((b) => b.counts)} onPick=${pick} />
  </section>`;
}

/** DeliveriesChart shows the last 24 hours of delivery attempts by outcome, with the failing server's last reply. */
export function DeliveriesChart({ session }) {
  const [answer, setAnswer] = useState(
    /** @type {{tenant: string, buckets: {start: string, sent: number, retrying: number, failed: number}[], lastFailure: {at: string, code: number | null, response: string | null, recipient: string} | null} | null} */ (
      null
    ),
  );
  usePolling(() => {
    // A refresh that fails keeps the hours shown (as the log keeps its rows), so long as they are the tenant's.
    const tenant = session.tenant.id;
    return api('GET', tenantApi(session, `deliveries/hourly${toQuery({ timeZone: timeZone() })}`)).then(
      (next) => setAnswer({ ...next, tenant }),
      () => setAnswer((last) => (last?.tenant === tenant ? last : null)),
    );
  }, [session.tenant.id]);
  if (!answer) return null;
  const series = [
    { key: 'sent', label: t('deliveries.status.sent'), color: 'ok' },
    { key: 'retrying', label: t('deliveries.status.retrying'), color: 'warn' },
    { key: 'failed', label: t('deliveries.status.failed'), color: 'error' },
  ];
  const failure = answer.lastFailure;
  // A reply of many lines scrolls in its box (a phone's narrow one): a region the keyboard reaches, named by the words above it.
  const lastFailure = failure && t('chart.lastFailure', { time: formatTime(failure.at), recipient: failure.recipient });
  return html`<section class="chart-card" aria-label=${t('chart.deliveriesTitle')}>
    <${BarChart} id="deliveries-chart" title=${t('chart.deliveriesTitle')} series=${series}
      labels=${answer.buckets.map((b) => bucketLabel(b.start, 'hour'))} rows=${answer.buckets} />
    ${
      failure
        ? html`<div class="last-failure" data-testid="last-failure">
        <strong>${lastFailure}</strong>
        <${ScrollPre} className="reply" label=${lastFailure}><span lang="en">${failure.response ?? failure.code ?? ''}</span><//>
      </div>`
        : null
    }
  </section>`;
}

/** TenantsActivityChart shows every tenant's alerts by severity and failing mail over the last 24 hours. */
export function TenantsActivityChart({ activity }) {
  if (!activity || activity.items.length === 0) return null;
  const labels = activity.items.map((item) => item.name);
  const mail = [
    { key: 'retrying', label: t('deliveries.status.retrying'), color: 'warn' },
    { key: 'failed', label: t('deliveries.status.failed'), color: 'error' },
  ];
  return html`<div class="chart-row">
    <section class="chart-card"><${BarChart} id="tenants-alerts-chart" title=${t('chart.tenantAlerts')} series=${SEVERITY_SERIES()} labels=${labels}
      rows=${activity.items.map((item) => item.alerts)} /></section>
    <section class="chart-card"><${BarChart} id="tenants-mail-chart" title=${t('chart.tenantMail')} series=${mail} labels=${labels}
      rows=${activity.items.map((item) => item.attempts)} /></section>
  </div>`;
}
