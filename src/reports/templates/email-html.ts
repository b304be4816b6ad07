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
 * FONT_STACK is every email's font: system fonts (nothing fetched from elsewhere), Japanese ones
 * before the generic family. The layout names it `tocsin-font`; withFontOnce writes it.
 */
export const FONT_STACK = "-apple-system, BlinkMacSystemFont, 'Segoe UI', Roboto, Helvetica, Arial, 'Hiragino Sans', Meiryo, sans-serif";

// The email's outer element as MJML writes it (mj-body's div, inside <body>): what Gmail keeps of the
// page, and what every text in it inherits its font from.
const OUTER_DIV = /(<div aria-label="[^"]*" aria-roledescription="email" role="article"[^>]* style=")/;

/**
 * withFontOnce writes the font stack once, on the email's outer element (and in Outlook's style
 * sheet, where the layout names tocsin-font), rather than on each text, table and button as MJML's
 * mj-all writes it: 115 bytes a time, 1.4 KB of an immediate email and 5 KB of a daily report. Every
 * client but Outlook for Windows inherits a font family into tables (quirks mode too); Outlook
 * reads it from its own style sheet.
 */
function withFontOnce(html: string): string {
  if (!OUTER_DIV.test(html)) throw new Error("MJML's outer div was not found: the font stack has nowhere to go");
  return html.replaceAll('font-family:tocsin-font;', '').replace(OUTER_DIV, `$1font-family:${FONT_STACK};`).replaceAll('tocsin-font', FONT_STACK);
}

// MJML's responsive rules for a column of 100 % (the only width the layout has): the column's own
// style already says width:100%, so they change nothing. And Outlook 2003's fix for column groups.
const COLUMN_RULES = [
  /<style type="text\/css">\s*@media only screen and \(min-width:480px\) \{\s*\.mj-column-per-100 \{[^}]*\}\s*\}\s*<\/style>/,
  /<style media="screen and \(min-width:480px\)">\s*\.moz-text-html \.mj-column-per-100 \{[^}]*\}\s*<\/style>/,
  /<!--\[if lte mso 11\]>\s*<style type="text\/css">\s*\.mj-outlook-group-fix \{[^}]*\}\s*<\/style>\s*<!\[endif\]-->/,
];

/**
 * withoutDeadRules drops what styles nothing in these emails (the single column's responsive rules,
 * Outlook 2003's group fix, the column's classes for them, empty class attributes) and the line breaks and indentation
 * MJML's minifier leaves in the head's style sheets and Outlook's settings: about 700 bytes.
 */
function withoutDeadRules(html: string): string {
  let out = html;
  for (const rule of COLUMN_RULES) {
    if (!rule.test(out)) throw new Error(`MJML no longer writes ${rule.source}: look again at what it writes`);
    out = out.replace(rule, '');
  }
  out = out.replaceAll(' class="mj-column-per-100 mj-outlook-group-fix"', '').replaceAll(' class=""', '');
  const headEnd = out.indexOf('</head>');
  const head = out
    .slice(0, headEnd)
    .replace(/>\s+</g, '><')
    .replace(
      /<style([^>]*)>([^<]*)<\/style>/g,
      (_, attributes: string, css: string) => `<style${attributes}>${css.replace(/\s*([{};:,])\s*/g, '$1').trim()}</style>`,
    );
  return head + out.slice(headEnd);
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
    html[name] = withoutDeadRules(withFontOnce(withoutTinyFontPixels(compiled)));
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
