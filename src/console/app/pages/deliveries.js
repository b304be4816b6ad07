import { useLayoutEffect, useRef, useState } from 'preact/hooks';
import { api, fieldErrors, query as toQuery } from '../lib/api.js';
import { formatTime } from '../lib/format.js';
import { t } from '../lib/i18n.js';
import { navigate } from '../lib/router.js';
import { tenantApi } from '../lib/session.js';
import { Banner, FilterField, SelectField, html, problemText, useOneAtATime } from '../lib/ui.js';
import { emptyList, showArrived, withFirstPage, withOlderPage } from '../lib/live-list.js';
import { useLastAsked } from '../lib/last-asked.js';
import { MAX_LIMIT, PAGE_SIZE, pageLimit, usePolling } from '../lib/polling.js';
import { DeliveriesChart } from './charts.js';

const STATUSES = ['pending', 'sending', 'retrying', 'sent', 'failed'];
// The API's kinds: mail-health notices to the tenant's administrators are listed when this filter asks for them.
const KINDS = ['summary', 'daily', 'immediate', 'test', 'mail-health'];

// How an attempt ended, named as the status it left the email in (interrupted: its worker died).
const OUTCOME_LABEL = {
  sent: 'deliveries.status.sent',
  retry: 'deliveries.status.retrying',
  failed: 'deliveries.status.failed',
  interrupted: 'deliveries.outcome.interrupted',
};

/**
 * AttemptHistory lists every attempt at one email, oldest first, with the server's reply to each:
 * the row shows the last reply only, and an email that went out after a 451 keeps its refusal here.
 * @param {{ session: any, id: string }} props
 */
function AttemptHistory({ session, id }) {
  const [history, setHistory] = useState(/** @type {any[] | null} */ (null));
  const [error, setError] = useState(/** @type {unknown} */ (null));
  usePolling(() => {
    return api('GET', tenantApi(session, `deliveries/${encodeURIComponent(id)}`)).then((answer) => {
      setHistory(answer.history);
      setError(null);
    }, setError);
  }, [id, session.tenant.id]);
  if (error) return html`<${Banner}>${problemText(error)}<//>`;
  if (!history) return null;
  return html`<ol class="attempts">${history.map(
    (a) =>
      html`<li key=${a.attempt}><span class="nowrap">${formatTime(a.finishedAt ?? a.startedAt)}</span> · ${t(OUTCOME_LABEL[a.outcome] ?? `deliveries.status.${a.outcome}`)}${
        a.response ? html` · <span class="reply" lang="en">${a.response}</span>` : null
      }</li>`,
  )}</ol>`;
}

/** GAVE_UP is how the outbox starts the error of an email given up at its deadline, which the status already says in words. */
const GAVE_UP = /^gave up after [^:]+ of retries: /;
/** STEP is the SMTP step an error names first (`auth: Invalid login: 535 …`), as Test Mail Settings names its stages. */
const STEP = /^(connect|tls|auth|sender|recipient|data): /;

/**
 * RecordedError is an email's last error under the server's reply: the step it failed at in the
 * user's language, rather than its code, then the server's and the SMTP client's own words, in
 * English as they came (marked so for screen readers).
 * An email Tocsin did not send because the world changed after its decision (`notSent`: its
 * reader removed, its alerts muted) says why in the user's language, Tocsin's own words.
 * @param {{ error: string, deadlineReached?: boolean, notSent?: string | null }} props
 */
function RecordedError({ error, deadlineReached = false, notSent = null }) {
  if (notSent) return html`<div class="error">${t(`deliveries.notSent.${notSent}`)}</div>`;
  const text = deadlineReached ? error.replace(GAVE_UP, '') : error;
  const step = STEP.exec(text);
  if (!step) return html`<div class="error" lang="en">${text}</div>`;
  return html`<div class="error">${t('labelled', { label: t(`test.stage.${step[1]}`) })} <span lang="en">${text.slice(step[0].length)}</span></div>`;
}

/**
 * DeliveriesPage is the delivery log: one row per email, with its status, attempts and the server's
 * reply. Its first page is polled, and grows with Load more up to the API's largest page, so the
 * rows read refresh their status in place and new emails come on top; past that, Load more reads
 * older pages with the API's cursor, as they are.
 */
export function DeliveriesPage({ session, query }) {
  const filters = { status: query.status, kind: query.kind, recipient: query.recipient };
  const key = JSON.stringify(filters);
  const [list, setList] = useState(/** @type {import('../lib/live-list.js').LiveList<any>} */ (emptyList()));
  const [more, setMore] = useState(0);
  // Load more stays enabled while its page is read (aria-busy), one read at a time: disabled, it
  // dropped the keyboard to the start of the page.
  const { busy: loadingMore, once: onceMore } = useOneAtATime();
  // Whether pages older than the polled one were read: until then, Load more goes on from the polled page's end.
  const readOlder = useRef(false);
  const [error, setError] = useState(/** @type {unknown} */ (null));
  const [open, setOpen] = useState(/** @type {Record<string, boolean>} */ ({}));
  // The filters the rows shown answer: until the log answers the ones chosen, it shows no rows of
  // other filters, nor says that there are none.
  const [answered, setAnswered] = useState(/** @type {string | null} */ (null));
  // Only the answer to the last question is shown (a slow or loaded server answers out of order): of the
  // polled page, whose read of other filters or of fewer rows came late, its error too, said beside a filter
  // left since; and of Load more's older pages.
  const reads = useLastAsked();
  const olderPages = useLastAsked();
  const items = list.items;

  // With the render: an answer asked under other filters, in flight, is dropped. An older page too: read
  // back after other filters and these again, it was added below the log read again, past rows not read yet.
  useLayoutEffect(() => {
    reads.forget();
    olderPages.forget();
    setList(emptyList());
    setMore(0);
    readOlder.current = false;
  }, [key]);

  usePolling(() => {
    const asked = key;
    return reads.read(
      () => api('GET', tenantApi(session, `deliveries${toQuery({ ...filters, limit: pageLimit(more) })}`)),
      (answer) => {
        setAnswered(asked);
        setList((shown) => {
          const next = showArrived(withFirstPage(shown, answer));
          return readOlder.current ? next : { ...next, nextCursor: next.firstPageCursor };
        });
        setError(null);
      },
      setError,
    );
  }, [key, more, session.tenant.id]);
  const loadMore = async () => {
    if (pageLimit(more) < MAX_LIMIT) {
      setMore(more + 1);
      return;
    }
    await onceMore(() =>
      olderPages.read(
        () => api('GET', tenantApi(session, `deliveries${toQuery({ ...filters, limit: PAGE_SIZE, cursor: list.nextCursor })}`)),
        (answer) => {
          readOlder.current = true;
          setList((shown) => withOlderPage(shown, answer));
          setError(null);
        },
        setError,
      ),
    );
  };
  const setFilter = (name, value) => navigate('/deliveries', { ...filters, [name]: value });
  // A filter the API refuses (part of an address typed as Recipient, a link's unknown status) is said beside it.
  const refused = fieldErrors(error);

  return html`<section class="page">
    <h1>${t('deliveries.title')}</h1>
    <${DeliveriesChart} session=${session} />
    <form class="filters" aria-label=${t('filters')} onSubmit=${(event) => event.preventDefault()}>
      <${SelectField} id="delivery-status" label=${t('deliveries.status')} value=${filters.status ?? ''} error=${refused.status} onChange=${(v) => setFilter('status', v)}
        options=${[['', t('all')], ...STATUSES.map((s) => [s, t(`deliveries.status.${s}`)])]} />
      <${SelectField} id="delivery-kind" label=${t('deliveries.kind')} value=${filters.kind ?? ''} error=${refused.kind} onChange=${(v) => setFilter('kind', v)}
        options=${[['', t('all')], ...KINDS.map((k) => [k, t(`kind.${k}`)])]} />
      <${FilterField} id="delivery-recipient" type="email" label=${t('deliveries.recipient')} value=${filters.recipient ?? ''}
        error=${refused.recipient} onCommit=${(value) => setFilter('recipient', value.trim())} />
    </form>
    <${Banner}>${problemText(error)}<//>
    ${
      answered !== key
        ? null
        : items.length === 0
          ? error
            ? null
            : html`<p class="empty">${t('deliveries.none')}</p>`
          : html`<div class="table-wrap"><table>
      <thead><tr><th scope="col">${t('deliveries.created')}</th><th scope="col">${t('deliveries.kind')}</th><th scope="col">${t('deliveries.recipient')}</th>
        <th scope="col">${t('deliveries.status')}</th><th scope="col">${t('deliveries.attempts')}</th><th scope="col">${t('deliveries.reply')}</th><th scope="col">${t('deliveries.sent')}</th></tr></thead>
      <tbody>${items.map(
        (row) => html`<tr key=${row.id}>
        <td class="nowrap">${formatTime(row.createdAt)}</td><td>${t(`kind.${row.kind}`)}${row.windowStart ? html`<small class="muted"> ${formatTime(row.windowStart)}</small>` : null}</td>
        <td>${row.recipient}</td><td><span class=${`status ${row.status}`}>${t(`deliveries.status.${row.status}`)}</span>${
          // A failing email is still being tried: when next, so its failure is not taken for the last word.
          row.status === 'retrying' && row.nextAttemptAt
            ? html`<small class="muted next-attempt">${t('deliveries.nextAttempt', { time: formatTime(row.nextAttemptAt) })}</small>`
            : // Failed at its deadline after replies such as "451 try later": not a refusal for good.
              row.status === 'failed' && row.deadlineReached
              ? html`<small class="muted deadline-reached">${t('deliveries.deadlineReached')}</small>`
              : null
        }</td>
        <td>${
          row.attempts > 0
            ? html`<button type="button" class="link" aria-expanded=${Boolean(open[row.id])} aria-controls=${`attempts-${row.id}`}
                title=${t('deliveries.history')} aria-label=${`${t('deliveries.history')}: ${row.attempts}`}
                onClick=${() => setOpen({ ...open, [row.id]: !open[row.id] })}>${row.attempts}</button>`
            : row.attempts
        }</td><td class="reply">${row.smtpResponse ? html`<span lang="en">${row.smtpResponse}</span>` : null}${row.lastError ? html`<${RecordedError} error=${row.lastError} deadlineReached=${row.deadlineReached} notSent=${row.notSent} />` : null}</td>
        <td class="nowrap">${formatTime(row.sentAt)}</td></tr>
        ${open[row.id] ? html`<tr key=${`${row.id}-attempts`} id=${`attempts-${row.id}`}><td colspan="7"><${AttemptHistory} session=${session} id=${row.id} /></td></tr>` : null}`,
      )}</tbody>
    </table></div>`
    }
    ${
      answered === key && list.nextCursor && items.length
        ? html`<div class="actions"><button type="button" class="secondary" aria-busy=${loadingMore} onClick=${loadMore}>${t('loadMore')}</button></div>`
        : null
    }
  </section>`;
}
