import { useLayoutEffect, useRef, useState } from 'preact/hooks';
import { fieldErrors } from '../lib/api.js';
import { t } from '../lib/i18n.js';
import { failureFacts, failureReasons } from '../lib/smtp-failure.js';
import { Banner, Dialog, ScrollPre, TextField, apiWords, html, problemText, useOneAtATime } from '../lib/ui.js';

/**
 * refusesPlaintext says whether a test was refused for credentials that would go without TLS: what
 * the window says before Send, which the refusal then says in its place (once, and announced).
 * @param {unknown} error
 */
function refusesPlaintext(error) {
  const refused = t('test.plaintextAuth.refused');
  const errors = /** @type {{ problem?: { errors?: { message: string }[] } } | null} */ (error)?.problem?.errors ?? [];
  return errors.some((item) => apiWords(item.message).text === refused);
}

/**
 * TestMailDialog is the seed's Test Mail Settings window: Send To (pre-filled with the signed-in
 * account's email), Send, then whether it was sent or, if not, what went wrong in the user's
 * language, at which stage, with the SMTP code, the server's words verbatim and, on demand, the
 * transcript. It never saves anything. `plaintextAuth` (smtp-form's plaintextAuthOf) explains why
 * credentials without TLS are refused, or warns when allowed.
 * @param {{ sendTo: string, run: (sendTo: string) => Promise<any>, onClose: () => void, onTested?: (ok: boolean) => void,
 *   onErrors?: (error: unknown) => void, plaintextAuth?: 'allowed' | 'refused' | null }} props
 */
export function TestMailDialog({ sendTo: initial, run, onClose, onTested = () => {}, onErrors = () => {}, plaintextAuth = null }) {
  const [sendTo, setSendTo] = useState(initial);
  // One Send at a time, its button left enabled: disabled, it dropped the keyboard to the page, where
  // a failure with no result (Tocsin unreachable, a 429) left it.
  const { busy, once } = useOneAtATime();
  const [result, setResult] = useState(/** @type {any} */ (null));
  // The address the shown result went to: Send To stays editable while a Send is on its way, and the result
  // said "sent to" whatever was typed meanwhile rather than where the email went.
  const [sentTo, setSentTo] = useState('');
  const [error, setError] = useState(/** @type {unknown} */ (null));
  // The form that had the focus gives way to the result: the focus moves to it, so a keyboard or
  // screen reader user stays in the window and hears what happened.
  // Test again gives the form back, with the focus in Send To rather than lost with the result.
  // A layout effect moves it with the render: after a frame, it would take the focus from wherever
  // a quick keyboard user had already gone (Test again, which then did nothing).
  const resultRef = useRef(/** @type {HTMLDivElement | null} */ (null));
  const again = useRef(false);
  useLayoutEffect(() => {
    if (result) resultRef.current?.focus();
    else if (again.current) document.getElementById('test-sendTo')?.focus();
  }, [result]);

  const send = (event) => {
    event.preventDefault();
    return once(async () => {
      setError(null);
      try {
        const to = sendTo.trim();
        const answer = await run(to);
        setSentTo(to);
        setResult(answer);
        onTested(answer.ok);
      } catch (err) {
        setError(err);
        onTested(false);
        if (/** @type {{ status?: number }} */ (err).status === 400) onErrors(err);
      }
    });
  };

  return html`<${Dialog} title=${t('mail.test')} onClose=${onClose} wide>
    ${
      result
        ? html`<div class=${`test-result ${result.ok ? 'ok' : 'failed'}`} role="status" tabindex="-1" ref=${resultRef}>
        ${
          result.ok
            ? html`<p class="banner success">${t('test.sent', { to: sentTo })}</p>
              ${result.messageId ? html`<p class="muted">${t('labelled', { label: t('test.messageId') })} <code>${result.messageId}</code></p>` : null}
              <p>${t('test.checkInbox')}</p>`
            : html`<p class="banner error">${t('test.failed')}</p>
              <div class="explanation" data-testid="test-explanation">${failureReasons(result).map((reason) => html`<p>${t(`test.why.${reason}`, failureFacts(result))}</p>`)}</div>
              <dl class="facts">
                <dt>${t('test.stage')}</dt><dd data-testid="test-stage">${t(`test.stage.${result.stage}`)}</dd>
                ${result.code ? html`<dt>${t('test.code')}</dt><dd data-testid="test-code">${result.code}</dd>` : null}
                <dt>${t('test.serverSaid')}</dt><dd><code class="reply" data-testid="test-message" lang="en">${result.message}</code></dd>
              </dl>`
        }
        ${
          result.transcript
            ? html`<details class="transcript"><summary>${t('test.transcript')}</summary>
          <${ScrollPre} label=${t('test.transcript')}><span lang="en">${Array.isArray(result.transcript) ? result.transcript.join('\n') : typeof result.transcript === 'string' ? result.transcript : JSON.stringify(result.transcript, null, 2)}</span><//></details>`
            : null
        }
        <p class="hint">${t('test.notSaved')}</p>
        <div class="actions">
          <button type="button" class="secondary" onClick=${() => {
            again.current = true;
            setResult(null);
          }}>${t('test.again')}</button>
          <button type="button" onClick=${onClose}>${t('close')}</button>
        </div>
      </div>`
        : html`<form onSubmit=${send}>
        <${TextField} id="test-sendTo" type="email" label=${t('test.sendTo')} value=${sendTo} onInput=${setSendTo} required autocomplete="email"
          error=${fieldErrors(error).sendTo} />
        ${
          plaintextAuth && !(plaintextAuth === 'refused' && refusesPlaintext(error))
            ? html`<p class=${`banner ${plaintextAuth === 'refused' ? 'error' : 'warning'}`} data-testid="test-plaintext-auth">${t(`test.plaintextAuth.${plaintextAuth}`)}</p>`
            : null
        }
        <${Banner}>${error ? problemText(error) : ''}<//>
        <p class="hint">${t('test.notSaved')}</p>
        <div class="actions">
          <button type="button" class="link" onClick=${onClose}>${t('cancel')}</button>
          <button type="submit" aria-busy=${busy}>${busy ? t('test.sending') : t('test.send')}</button>
        </div>
      </form>`
    }
  <//>`;
}
