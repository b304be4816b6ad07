import Handlebars from 'handlebars';
import { type TemplateName, emailHtml } from './email-html.js';

/** HtmlTemplate fills a compiled email with one recipient's context. */
export type HtmlTemplate = (context: object) => string;

// One Handlebars environment of our own: no helpers but the built-in ones, so nothing a tenant
// writes can reach code, and `{{…}}` always escapes (there is no triple-stash in our templates).
const handlebars = Handlebars.create();

/*
 * compileTemplate turns one email's HTML (compiled from MJML by the build) into a fill function.
 * It runs once; filling is fast and runs per recipient. `strict` makes a missing context field an
 * error.
 */
function compileTemplate(html: string): HtmlTemplate {
  const template = handlebars.compile(html, { strict: true, knownHelpersOnly: true });
  return (context) => template(context);
}

const html = await emailHtml();

/** HTML_TEMPLATES are every email's compiled template, built once when this module loads. */
export const HTML_TEMPLATES: Readonly<Record<TemplateName, HtmlTemplate>> = Object.freeze({
  summary: compileTemplate(html.summary),
  daily: compileTemplate(html.daily),
  immediate: compileTemplate(html.immediate),
  test: compileTemplate(html.test),
});
