import fs from 'node:fs';
import Handlebars from 'handlebars';
import mjml2html from 'mjml';

/** TemplateName names one email body; each is wrapped in the shared layout. */
export type TemplateName = 'summary' | 'daily' | 'immediate' | 'test';

/** HtmlTemplate fills a compiled email with one recipient's context. */
export type HtmlTemplate = (context: object) => string;

const readMjml = (name: string) => fs.readFileSync(new URL(`./mjml/${name}.mjml`, import.meta.url), 'utf8');

// One email's MJML is its body inside the shared layout, with the shared alert line expanded.
function mjmlSource(name: TemplateName): string {
  const body = readMjml(name).replaceAll('<!-- tocsin:alert-line -->', readMjml('alert-line'));
  return readMjml('layout').replace('<!-- tocsin:body -->', body);
}

// One Handlebars environment of our own: no helpers but the built-in ones, so nothing a tenant
// writes can reach code, and `{{…}}` always escapes (there is no triple-stash in our templates).
const handlebars = Handlebars.create();

/*
 * compileTemplate turns one email's MJML into table-based HTML (what Outlook, Gmail and Apple Mail
 * render) with Handlebars placeholders, then into a fill function. MJML is slow and runs once;
 * filling is fast and runs per recipient. `strict` makes a missing context field an error.
 */
async function compileTemplate(name: TemplateName): Promise<HtmlTemplate> {
  const result = await mjml2html(mjmlSource(name), { validationLevel: 'strict', keepComments: false });
  const template = handlebars.compile(result.html, { strict: true, knownHelpersOnly: true });
  return (context) => template(context);
}

/** HTML_TEMPLATES are every email's compiled template, built once when this module loads. */
export const HTML_TEMPLATES: Readonly<Record<TemplateName, HtmlTemplate>> = Object.freeze({
  summary: await compileTemplate('summary'),
  daily: await compileTemplate('daily'),
  immediate: await compileTemplate('immediate'),
  test: await compileTemplate('test'),
});
