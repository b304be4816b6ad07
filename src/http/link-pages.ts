import type { FastifyReply, FastifyRequest } from 'fastify';
import { emailTranslator } from '../i18n/email-i18n.js';
import { type Language, preferredLanguage } from '../i18n/languages.js';
import { escapeHtml, smallPage } from '../reports/unsubscribe/page.js';
import { isStorageOutage } from '../storage/errors.js';
import { HttpError, serviceUnavailable } from './problem.js';

/** RefusalPage is the page for one refusal of a link, in the reader's language; undefined leaves the refusal a problem document. */
export type RefusalPage = (refusal: HttpError, language: Language) => string | undefined;

/**
 * LINK_PAGE_HEADERS keep a link's page to itself. Its Confirm button applies a mute or an
 * unsubscribe with no login, the token in the address being the permission: a page of another
 * site that framed it could lay a decoy over that button (clickjacking), so no site may frame it
 * (frame-ancestors, and X-Frame-Options for older browsers). It loads nothing (its style is inline),
 * its form posts only to itself, and the token in its address is not sent on as a Referer.
 */
const LINK_PAGE_HEADERS = Object.freeze({
  'cache-control': 'no-store',
  'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'x-content-type-options': 'nosniff',
});

/**
 * answerLinkPage sends the HTML page `work` makes for a link that emails carry (no login). A link
 * it refuses (an HttpError: tampered, expired, a choice it cannot take) is a problem document for
 * scripts and mail clients, but a person who clicked it in a mail client gets a page in their
 * browser's language saying so, with the same status (browsers ask for text/html), not JSON. So is
 * a database that cannot be reached (restarting): the app's 503 with Retry-After for a script, and
 * for a person a page asking to try again in a moment.
 */
export async function answerLinkPage(request: FastifyRequest, reply: FastifyReply, work: () => Promise<string>, refusalPage: RefusalPage) {
  const html = (status: number, page: string) => reply.code(status).type('text/html; charset=utf-8').headers(LINK_PAGE_HEADERS).send(page);
  try {
    return html(200, await work());
  } catch (raised) {
    // The app's error handler answers an outage 503 (and logs it) for a script: it gets what was raised.
    const outage = !(raised instanceof HttpError) && isStorageOutage(raised);
    const err = outage ? serviceUnavailable('The service cannot answer this now; retry later.') : raised;
    if (!(err instanceof HttpError) || !String(request.headers.accept ?? '').includes('text/html')) throw raised;
    const language = preferredLanguage(request.headers['accept-language']);
    const page = err.status === 503 ? unavailablePage(language) : refusalPage(err, language);
    if (page === undefined) throw raised;
    if (outage) request.log.warn({ err: raised }, 'answered 503: the database is unavailable');
    if (err.headers) void reply.headers(err.headers);
    return html(err.status, page);
  }
}

/** unavailablePage asks a person to try a link again in a moment, in their browser's language. */
function unavailablePage(language: Language): string {
  const t = emailTranslator(language);
  return smallPage(language, t('common.unavailableTitle'), `<p>${escapeHtml(t('common.unavailable'))}</p>`);
}
