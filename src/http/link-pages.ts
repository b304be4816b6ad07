import type { FastifyReply, FastifyRequest } from 'fastify';
import { type Language, preferredLanguage } from '../i18n/languages.js';
import { HttpError } from './problem.js';

/** RefusalPage is the page for one refusal of a link, in the reader's language; undefined leaves the refusal a problem document. */
export type RefusalPage = (refusal: HttpError, language: Language) => string | undefined;

/**
 * answerLinkPage sends the HTML page `work` makes for a link that emails carry (no login). A link
 * it refuses (an HttpError: tampered, expired, a choice it cannot take) is a problem document for
 * scripts and mail clients, but a person who clicked it in a mail client gets a page in their
 * browser's language saying so, with the same status (browsers ask for text/html), not JSON.
 */
export async function answerLinkPage(request: FastifyRequest, reply: FastifyReply, work: () => Promise<string>, refusalPage: RefusalPage) {
  const html = (status: number, page: string) => reply.code(status).type('text/html; charset=utf-8').header('cache-control', 'no-store').send(page);
  try {
    return html(200, await work());
  } catch (err) {
    if (!(err instanceof HttpError) || !String(request.headers.accept ?? '').includes('text/html')) throw err;
    const page = refusalPage(err, preferredLanguage(request.headers['accept-language']));
    if (page === undefined) throw err;
    return html(err.status, page);
  }
}
