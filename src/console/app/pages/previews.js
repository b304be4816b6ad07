import { useEffect, useState } from 'preact/hooks';
import { api, query as toQuery } from '../lib/api.js';
import { currentLanguage, t } from '../lib/i18n.js';
import { useLastAsked } from '../lib/last-asked.js';
import { useLoadWhenBack } from '../lib/polling.js';
import { languageChoices } from '../lib/person-fields.js';
import { tenantApi } from '../lib/session.js';
import { Banner, ScrollPre, SelectField, html, problemText } from '../lib/ui.js';

const KINDS = ['summary', 'daily', 'immediate', 'test', 'mail-health-failing', 'mail-health-recovered', 'mail-health-token'];

/**
 * previewParts reads a preview answer: JSON with subject, html and text, or the HTML itself, with the
 * language it was asked in, which its subject and text are marked as (the HTML says its own).
 * @param {unknown} answer
 * @param {string} language
 */
function previewParts(answer, language) {
  if (typeof answer === 'string') return { subject: '', html: answer, text: '', language };
  const parts = /** @type {{ subject?: string, html?: string, text?: string }} */ (answer);
  return { subject: parts.subject ?? '', html: parts.html ?? '', text: parts.text ?? '', language };
}

/** PreviewsPage shows each email Tocsin sends, in each language, with sample alerts. */
export function PreviewsPage({ session }) {
  const [kind, setKind] = useState('summary');
  const [language, setLanguage] = useState(currentLanguage());
  const [view, setView] = useState('html');
  const [preview, setPreview] = useState(/** @type {any} */ (null));
  const [error, setError] = useState(/** @type {unknown} */ (null));

  // The question last asked: an email or language chosen quickly after another, on a slow or loaded server,
  // had the earlier choice's answer come last and shown under the later choice. Only the last one's is shown.
  const questions = useLastAsked();
  const load = () => {
    setError(null);
    questions.read(
      () => api('GET', tenantApi(session, `emails/preview${toQuery({ kind, language })}`)),
      (answer) => setPreview(previewParts(answer, language)),
      (err) => {
        setPreview(null);
        setError(err);
      },
    );
  };
  useEffect(load, [kind, language, session.tenant.id]);
  // Opened while Tocsin could not be reached, the page reads again once it answers.
  useLoadWhenBack(load, preview !== null);

  return html`<section class="page">
    <h1>${t('previews.title')}</h1>
    <form class="filters" onSubmit=${(event) => event.preventDefault()}>
      <${SelectField} id="preview-kind" label=${t('previews.kind')} value=${kind} onChange=${setKind} options=${KINDS.map((k) => [k, t(`kind.${k}`)])} />
      <${SelectField} id="preview-language" label=${t('language')} value=${language} onChange=${setLanguage} options=${languageChoices()} />
      <${SelectField} id="preview-view" label=${t('previews.format')} value=${view} onChange=${setView} options=${[['html', 'HTML'], ['text', t('previews.text')]]} />
    </form>
    <${Banner}>${problemText(error)}<//>
    ${
      preview
        ? html`<div class="preview">
      <p><strong>${t('labelled', { label: t('previews.subject') })}</strong> <span lang=${preview.language}>${preview.subject}</span></p>
      ${
        view === 'html'
          ? html`<iframe title=${t('previews.title')} sandbox="" srcdoc=${preview.html}></iframe>`
          : html`<${ScrollPre} className="email-text" label=${preview.subject}><span lang=${preview.language}>${preview.text}</span><//>`
      }
    </div>`
        : null
    }
  </section>`;
}
