import fs from 'node:fs';

/** TemplateName names one email body; each is wrapped in the shared layout. */
export type TemplateName = 'summary' | 'daily' | 'immediate' | 'test';

/** TEMPLATE_NAMES are every email the service sends, each compiled from `mjml/<name>.mjml`. */
export const TEMPLATE_NAMES: readonly TemplateName[] = ['summary', 'daily', 'immediate', 'test'];

/** COMPILED_HTML_FILE is the build's output beside this module in `dist/`: every email's HTML. */
export const COMPILED_HTML_FILE = 'email-html.json';

const readMjml = (name: string) => fs.readFileSync(new URL(`./mjml/${name}.mjml`, import.meta.url), 'utf8');

// One email's MJML is its body inside the shared layout, with the shared alert line expanded.
function mjmlSource(name: TemplateName): string {
  const body = readMjml(name).replaceAll('<!-- tocsin:alert-line -->', readMjml('alert-line'));
  return readMjml('layout').replace('<!-- tocsin:body -->', body);
}

/**
 * withoutTinyFontPixels writes MJML's `font-size:0px` (how its layout closes the gaps between
 * inline blocks) as the same `font-size:0`: spam filters read the raw HTML for fonts of 0 to 4
 * pixels, hidden words to them (SpamAssassin's __HTML_FONT_TINY_01, scored as HTML_FONT_TINY_NORDNS
 * when the sending host has no reverse DNS), and MJML writes dozens of those in every email.
 */
function withoutTinyFontPixels(html: string): string {
  return html.replace(/font-size:\s*0px\b/g, 'font-size:0');
}

/**
 * compileEmailHtml turns every email's MJML into table-based HTML (what Outlook, Gmail and Apple
 * Mail render) with Handlebars placeholders. MJML is slow and large (a hundred packages), so it is
 * a dev dependency: the build runs this once, and a running server reads the result.
 */
export async function compileEmailHtml(): Promise<Record<TemplateName, string>> {
  const { default: mjml2html } = await import('mjml');
  const html = {} as Record<TemplateName, string>;
  for (const name of TEMPLATE_NAMES) {
    // `fonts: {}`: MJML would otherwise import Roboto from Google's servers, telling a third party
    // each time a reader opens an alert; the layout names a system font stack instead.
    // `minify`: the layout's indentation was a quarter of every email; whitespace between tags is
    // collapsed to one space (never removed: inline text keeps its spaces), Outlook's conditional
    // comments stay. No CSS minifier is installed, so the few style rules are left as written.
    const { html: compiled } = await mjml2html(mjmlSource(name), {
      validationLevel: 'strict',
      keepComments: false,
      fonts: {},
      minify: true,
      minifyOptions: { minifyCss: false },
    });
    html[name] = withoutTinyFontPixels(compiled);
  }
  return html;
}

/**
 * emailHtml is every email's HTML: the build's output when running the compiled server from
 * `dist/`, else compiled now from the MJML sources (tests and scripts run on the TypeScript
 * sources, where no build output sits beside this module, so it can never be stale there).
 */
export async function emailHtml(): Promise<Record<TemplateName, string>> {
  const compiled = new URL(`./${COMPILED_HTML_FILE}`, import.meta.url);
  if (fs.existsSync(compiled)) return JSON.parse(fs.readFileSync(compiled, 'utf8')) as Record<TemplateName, string>;
  return compileEmailHtml();
}
