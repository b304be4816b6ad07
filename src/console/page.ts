import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { LANGUAGES, type Language } from '../i18n/languages.js';
import { APP_DIR, SHARED_MODULES, VENDOR_MODULES, VENDOR_STYLES, sharedUrl, vendorStyleUrl, vendorUrl } from './assets.js';

/** ConsolePage is the HTML shell of the console with the headers it must be served with. */
export interface ConsolePage {
  readonly html: string;
  readonly headers: Record<string, string>;
}

/**
 * consolePages are the console's page in each language, for the browser's Accept-Language: the
 * console speaks its user's language once its script runs, but a browser without JavaScript reads
 * only the page, whose lang and one sentence were English for everyone.
 */
export function consolePages(): ReadonlyMap<Language, ConsolePage> {
  return new Map(LANGUAGES.map((language) => [language, consolePage(language)]));
}

/** noScriptWords is the page's sentence for a browser without JavaScript, from the console's own strings. */
function noScriptWords(language: Language): string {
  const strings = JSON.parse(fs.readFileSync(path.join(APP_DIR, 'i18n', `${language}.json`), 'utf8')) as Record<string, string>;
  return strings['page.noScript']!;
}

/**
 * fromPage is a console file's URL (`/console/…`) relative to the page, which is at the root of
 * Tocsin: a reverse proxy that serves Tocsin under a path (`https://ops.example.com/tocsin/`, the
 * prefix taken off on the way in) then gets the file under that path too, where `/console/…` asked
 * the host's root, another application's or none.
 */
function fromPage(url: string): string {
  return `.${url}`;
}

/**
 * consolePage builds the single HTML page of the console. Its only inline script is the import
 * map (browsers do not load import maps from files), which the Content-Security-Policy allows by
 * hash; every other script is a module from console/, beside the page.
 */
function consolePage(language: Language): ConsolePage {
  const imports = Object.fromEntries([
    ...Object.keys(VENDOR_MODULES).map((specifier) => [specifier, fromPage(vendorUrl(specifier))]),
    ...Object.keys(SHARED_MODULES).map((specifier) => [specifier, fromPage(sharedUrl(specifier))]),
  ]);
  const importMap = JSON.stringify({ imports });
  const vendorStyles = Object.keys(VENDOR_STYLES)
    .map((name) => `<link rel="stylesheet" href="${fromPage(vendorStyleUrl(name))}">\n`)
    .join('');
  const html = `<!doctype html>
<html lang="${language}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Tocsin</title>
<link rel="icon" href="./console/bell.svg" type="image/svg+xml">
${vendorStyles}<link rel="stylesheet" href="./console/app.css">
<script type="importmap">${importMap}</script>
<script type="module" src="./console/main.js"></script>
</head>
<body>
<div id="app"><noscript>${noScriptWords(language)}</noscript></div>
</body>
</html>
`;
  return { html, headers: securityHeaders(importMap) };
}

/**
 * securityHeaders are sent with every console response. Styles may be inline only because email
 * previews are HTML emails, which carry their styles inline by necessity; scripts never may.
 */
function securityHeaders(importMap: string): Record<string, string> {
  const hash = createHash('sha256').update(importMap).digest('base64');
  const csp = [
    "default-src 'self'",
    `script-src 'self' 'sha256-${hash}'`,
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data:",
    "connect-src 'self'",
    "frame-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join('; ');
  return {
    'content-security-policy': csp,
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'same-origin',
    'x-frame-options': 'DENY',
  };
}
