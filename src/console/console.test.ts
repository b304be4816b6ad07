import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type TestApp, startTestApp } from '../../test/support/http.js';
import { describeEachDialect } from '../../test/support/storage.js';
import { PERMISSIONS } from '../access/permissions.js';
import { EMAIL_MESSAGES } from '../i18n/email-i18n.js';
import { localeFormat } from '../i18n/format.js';
import { LANGUAGES } from '../i18n/languages.js';
import { flattenTexts } from '../i18n/messages.js';
import { APP_DIR } from './assets.js';

const strings = (language: string): Record<string, string> => JSON.parse(fs.readFileSync(path.join(APP_DIR, 'i18n', `${language}.json`), 'utf8'));
const appFiles = () => fs.readdirSync(APP_DIR, { recursive: true, encoding: 'utf8' }).filter((file) => file.endsWith('.js'));

describeEachDialect('web console files', (dialect) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp(dialect);
  });
  afterAll(() => t.close());

  it('serves the page at / with a CSP that allows only its import map inline', async () => {
    const page = await t.call('GET', '/', undefined, '');
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-type']).toContain('text/html');
    const inline = [...page.body.matchAll(/<script([^>]*)>([\s\S]*?)<\/script>/g)].filter(([, attrs]) => !/\bsrc=/.test(attrs!));
    expect(inline).toHaveLength(1);
    expect(inline[0]![1]).toContain('type="importmap"');
    const hash = createHash('sha256').update(inline[0]![2]!).digest('base64');
    const csp = String(page.headers['content-security-policy']);
    expect(csp).toContain(`script-src 'self' 'sha256-${hash}'`);
    expect(csp).not.toContain("'unsafe-inline' 'unsafe-eval'");
    expect(csp).toContain("frame-ancestors 'none'");
  });

  it('serves the page and every file of it with the whole policy: nothing but its own files runs, frames it or is sent elsewhere, and each visit asks again', async () => {
    // Each directive and header as it ships: with any one dropped (default-src, object-src, base-uri, form-action,
    // X-Frame-Options, the referrer policy, no-cache) or widened (connect-src *, img-src *, frame-src *, 'unsafe-eval'
    // beside the hash), every console test passed. Without no-cache a browser keeps the page and modules of the
    // version before an upgrade by its own guess and mixes them with the new API.
    const page = await t.call('GET', '/', undefined, '');
    const importMap = /<script type="importmap">([\s\S]*?)<\/script>/.exec(page.body)![1]!;
    const directives = (policy: unknown) =>
      Object.fromEntries(
        String(policy)
          .split(';')
          .map((directive) => directive.trim().split(/\s+/))
          .map(([name, ...values]) => [name, values]),
      );
    for (const [url, type] of [
      ['/', 'text/html'],
      ['/console/main.js', 'text/javascript'],
      ['/console/app.css', 'text/css'],
      ['/console/bell.svg', 'image/svg+xml'],
      ['/console/i18n/fr.json', 'application/json'],
    ]) {
      const res = await t.call('GET', url!, undefined, '');
      expect(res.statusCode, url).toBe(200);
      expect(res.headers['content-type'], url).toContain(type);
      expect(directives(res.headers['content-security-policy']), url).toEqual({
        'default-src': ["'self'"],
        'script-src': ["'self'", `'sha256-${createHash('sha256').update(importMap).digest('base64')}'`],
        'style-src': ["'self'", "'unsafe-inline'"],
        'img-src': ["'self'", 'data:'],
        'connect-src': ["'self'"],
        'frame-src': ["'self'"],
        'object-src': ["'none'"],
        'base-uri': ["'none'"],
        'form-action': ["'self'"],
        'frame-ancestors': ["'none'"],
      });
      expect(res.headers, url).toMatchObject({
        'x-frame-options': 'DENY',
        'referrer-policy': 'same-origin',
        'x-content-type-options': 'nosniff',
        'cache-control': 'no-cache',
      });
    }
  });

  it('serves the page in the language the browser asks for, the words for a browser without JavaScript included', async () => {
    const page = (language?: string) =>
      t.tocsin.app.inject({ method: 'GET', url: '/', headers: language === undefined ? {} : { 'accept-language': language } });
    const german = await page('de-DE,de;q=0.9,en;q=0.5');
    expect(german.body).toContain('<html lang="de">');
    expect(german.body).toContain(`<noscript>${strings('de')['page.noScript']}</noscript>`);
    // A cache keeps one page per language asked.
    expect(String(german.headers.vary)).toMatch(/accept-language/i);
    for (const language of LANGUAGES) expect((await page(language)).body).toContain(`<noscript>${strings(language)['page.noScript']}</noscript>`);
    expect((await page()).body).toContain('<html lang="en">');
    expect((await page('pt-BR')).body).toContain('<html lang="en">');
  });

  it('serves every module the console imports, and the import map points at served files', async () => {
    const page = await t.call('GET', '/', undefined, '');
    const map = JSON.parse(/<script type="importmap">([\s\S]*?)<\/script>/.exec(page.body)![1]!) as { imports: Record<string, string> };
    for (const url of Object.values(map.imports)) {
      const vendor = await t.call('GET', url, undefined, '');
      expect(vendor.statusCode, url).toBe(200);
      expect(vendor.headers['content-type']).toContain('text/javascript');
    }
    for (const file of appFiles()) {
      const source = fs.readFileSync(path.join(APP_DIR, file), 'utf8');
      for (const [, specifier] of source.matchAll(/^import [^'"]*['"]([^'"]+)['"]/gm)) {
        if (!specifier!.startsWith('.')) {
          expect(map.imports, `${file} imports ${specifier}`).toHaveProperty([specifier!]);
          continue;
        }
        const url = new URL(specifier!, `http://x/console/${file}`).pathname;
        expect((await t.call('GET', url, undefined, '')).statusCode, `${file} imports ${url}`).toBe(200);
      }
    }
  });

  it('serves the permissions from the API’s own list, the one copy both use', async () => {
    const page = await t.call('GET', '/', undefined, '');
    const map = JSON.parse(/<script type="importmap">([\s\S]*?)<\/script>/.exec(page.body)![1]!) as { imports: Record<string, string> };
    const served = await t.call('GET', map.imports['tocsin/permissions']!, undefined, '');
    const module = await import(/* @vite-ignore */ `data:text/javascript,${encodeURIComponent(served.body)}`);
    expect(module.PERMISSIONS).toEqual(PERMISSIONS);
  });

  it("serves the console's files with the page's headers: a browser never sniffs a module or stylesheet as something else", async () => {
    const page = await t.call('GET', '/', undefined, '');
    const importMap = JSON.parse(/<script type="importmap">([\s\S]*?)<\/script>/.exec(page.body)![1]!) as { imports: Record<string, string> };
    for (const url of ['/console/app.css', Object.values(importMap.imports)[0]!]) {
      const file = await t.call('GET', url, undefined, '');
      expect(file.statusCode, url).toBe(200);
      expect(file.headers, url).toMatchObject({ 'x-content-type-options': 'nosniff', 'content-security-policy': page.headers['content-security-policy'] });
    }
  });

  it('answers 304 to a matching ETag and a problem 404 for files it does not serve', async () => {
    const first = await t.call('GET', '/console/app.css', undefined, '');
    expect(first.headers['content-type']).toContain('text/css');
    const again = await t.tocsin.app.inject({ method: 'GET', url: '/console/app.css', headers: { 'if-none-match': String(first.headers.etag) } });
    expect(again.statusCode).toBe(304);
    for (const url of ['/console/nope.js', '/console/../package.json', '/console/%2e%2e/%2e%2e/package.json', '/console/i18n/../../routes.ts']) {
      const missing = await t.call('GET', url, undefined, '');
      expect(missing.statusCode, url).toBe(404);
      expect(missing.headers['content-type']).toContain('application/problem+json');
    }
  });

  it('redirects the paths that emails link to onto the console route, keeping the filters', async () => {
    const link = await t.call('GET', '/alerts?severity=Error&component=Robots', undefined, '');
    expect(link.statusCode).toBe(302);
    expect(link.headers.location).toBe('/#/alerts?severity=Error&component=Robots');
    expect((await t.call('GET', '/preferences', undefined, '')).headers.location).toBe('/#/preferences');
  });

  it("opens an Orchestrator deep link on the list of its event's alerts, the event written as one query value whatever it holds", async () => {
    // An AlertDto's DeepLinkRelativeUrl: the event goes into the console's filter as it is named, so that an
    // event with a space, & or = (a webhook's, an Alertmanager's) filters on itself, not on a piece of itself.
    const plain = await t.call('GET', '/alerts/deeplink/Robot.StatusChanged.Offline?alertId=42', undefined, '');
    expect(plain.statusCode).toBe(302);
    expect(plain.headers.location).toBe('/#/alerts?event=Robot.StatusChanged.Offline');
    const odd = await t.call('GET', `/alerts/deeplink/${encodeURIComponent('ci:build failed&stage=2')}?alertId=42`, undefined, '');
    expect(odd.statusCode).toBe(302);
    const query = new URLSearchParams(String(odd.headers.location).replace('/#/alerts?', ''));
    expect([...query]).toEqual([['event', 'ci:build failed&stage=2']]);
  });
});

const PLURAL_SUFFIX = /_(zero|one|two|few|many|other)$/;
const baseKey = (key: string) => key.replace(PLURAL_SUFFIX, '');
/** reference is the English string a key of another language translates: its own, or for a plural form English's `other`. */
const reference = (english: Record<string, string>, key: string) => english[key] ?? english[`${baseKey(key)}_other`];
const placeholders = (s: string) => [...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();

// Strings that are the same in a language as in English: names of languages, providers and
// protocols, the severity names Orchestrator keeps (the French guide's "une alerte Fatal ou
// Erreur"; Spanish as the emails), and words spelt alike. Anything else equal to English is a
// string someone forgot to translate.
const NAMES = ['appName', 'lang.en', 'lang.fr', 'lang.de', 'lang.es', 'lang.ja', 'preset.gmail', 'preset.microsoft365', 'preset.ses', 'preset.sendgrid'];
const PROTOCOLS = ['mail.auth.plain', 'mail.auth.login', 'mail.auth.xoauth2', 'sources.url', 'sources.kind.alertmanager'];
// Joins three counts with a comma (Japanese has its own).
const JOINS = ['tenants.mailCounts', 'mutes.line'];
const SAME_AS_ENGLISH: Readonly<Record<string, readonly string[]>> = {
  fr: [
    ...NAMES,
    ...PROTOCOLS,
    ...JOINS,
    'actions',
    'severity.Fatal',
    'alerts.message',
    'alerts.source',
    'role.Robot',
    'previews.format',
    'nav.sources',
    'sources.title',
    'sources.secret',
    'source.robot',
    'source.machine',
  ],
  de: [
    ...NAMES,
    ...PROTOCOLS,
    ...JOINS,
    'labelled',
    'access.name',
    'role.Administrator',
    'deliveries.status',
    'previews.format',
    'tenants.name',
    'alerts.details',
    'sources.name',
    'sources.status',
    'sources.seconds',
  ],
  es: [
    ...NAMES,
    ...PROTOCOLS,
    ...JOINS,
    'no',
    'labelled',
    'severity.Fatal',
    'severity.Error',
    'access.roles',
    'role.Robot',
    'source.robot',
    'sources.error',
    'sources.seconds',
  ],
  // A label before its value as the Japanese emails write one (「件名: …」).
  ja: [...NAMES, ...PROTOCOLS, 'labelled'],
};

it('has every console string in all five languages, and every string the code uses', () => {
  const english = strings('en');
  const bases = (table: Record<string, string>) => [...new Set(Object.keys(table).map(baseKey))].sort();
  for (const language of LANGUAGES) {
    const other = strings(language);
    expect(bases(other), language).toEqual(bases(english));
    for (const [key, text] of Object.entries(other)) {
      expect(text.trim(), `${language} ${key}`).not.toBe('');
      expect(placeholders(text), `${language} ${key}`).toEqual(placeholders(reference(english, key)!));
    }
  }
  for (const file of appFiles()) {
    const source = fs.readFileSync(path.join(APP_DIR, file), 'utf8');
    for (const [, key] of source.matchAll(/\bt\('([\w.]+)'/g)) {
      expect(key! in english || `${key}_other` in english, `${file} uses ${key}`).toBe(true);
    }
  }
});

it.each(LANGUAGES)('%s has exactly the plural forms its language uses, each with a {count}', (language) => {
  const categories = new Intl.PluralRules(language).resolvedOptions().pluralCategories.slice().sort();
  const forms = new Map<string, string[]>();
  for (const key of Object.keys(strings(language))) {
    const form = PLURAL_SUFFIX.exec(key)?.[1];
    if (form) forms.set(baseKey(key), [...(forms.get(baseKey(key)) ?? []), form]);
  }
  expect(forms.size).toBeGreaterThan(0);
  for (const [base, found] of forms) expect([base, found.sort()]).toEqual([base, categories]);
  for (const base of forms.keys()) expect(placeholders(strings('en')[`${base}_other`]!), base).toContain('count');
});

it.each(LANGUAGES.filter((language) => language !== 'en'))('%s translates every console string (only listed ones may equal English)', (language) => {
  const english = strings('en');
  const same = Object.entries(strings(language))
    .filter(([key, text]) => text === reference(english, key))
    .map(([key]) => key);
  expect(same.sort()).toEqual([...SAME_AS_ENGLISH[language]!].sort());
});

it.each(LANGUAGES)('%s names the severities as its emails do', (language) => {
  const console = strings(language);
  for (const [severity, name] of Object.entries(EMAIL_MESSAGES[language].severity as Record<string, string>)) {
    expect([severity, console[`severity.${severity}`]]).toEqual([severity, name]);
  }
});

// A Spanish reader saw "Alertas graves al instante" beside severity filters and emails that say
// "Fatal": "grave" reads as any serious alert, Error included, so the switch seemed to cover both.
it.each(LANGUAGES)('%s calls Fatal by its severity name wherever English names it, as its emails do', (language) => {
  const english = strings('en');
  const fatal = (EMAIL_MESSAGES[language].severity as Record<string, string>).Fatal!.toLowerCase();
  const wrong = Object.entries(strings(language)).filter(
    ([key, text]) => /\bFatal\b/.test(reference(english, key) ?? '') && !text.toLowerCase().includes(fatal),
  );
  expect(wrong.map(([key, text]) => `${key}: ${text}`)).toEqual([]);
});

it.each(LANGUAGES)('%s says who acknowledged an alert, and on which day, as its emails do', (language) => {
  const email = (EMAIL_MESSAGES[language].actions as Record<string, string>).acknowledged!;
  expect(strings(language)['alerts.acknowledgedBy']).toBe(email.replace(/\{\{(\w+)\}\}/g, '{$1}'));
});

it('writes each Japanese compound term one way, spaced as the rest of the console and the emails write it', () => {
  // Microsoft's Japanese style, which the strings follow: a space between the katakana words of a compound.
  const texts = [
    ...Object.entries(strings('ja')),
    ...Object.entries(EMAIL_MESSAGES.ja).flatMap(([group, value]) => Object.entries(value).map(([key, text]) => [`${group}.${key}`, text])),
  ];
  // Every compound some string spaces (「アラート メール」) is spaced in all of them: the Deliveries page's
  // not-sent reasons read 「アラートメール」 beside a dozen 「アラート メール」.
  const spaced = texts.flatMap(([, text]) => (typeof text === 'string' ? [...text.matchAll(/([\u30a0-\u30ff]{2,}) (?=([\u30a0-\u30ff]{2,}))/gu)] : []));
  const together = [
    ...new Set(['アクセストークン', 'メールサーバー', 'テストメール', 'アプリパスワード', 'タイムゾーン', ...spaced.map((m) => `${m[1]}${m[2]}`)]),
  ];
  const wrong = texts.filter(([, text]) => typeof text === 'string' && together.some((word) => text.includes(word))).map(([key]) => key);
  expect(wrong).toEqual([]);
});

// The severity filter read 「エラー 以上」: Japanese puts no space between two Japanese words, only inside a katakana compound.
it('writes the Japanese severity filter without a space between the severity and 以上 (「エラー以上」)', () => {
  const wrong = Object.values(EMAIL_MESSAGES.ja.severity as Record<string, string>)
    .map((name) => strings('ja')['alerts.atLeast']!.replace('{severity}', name))
    .filter((text) => / /.test(text));
  expect(wrong).toEqual([]);
});

// A chart's caption is its title, a space and its total: Japanese read 「1 時間ごとの配信試行（過去 24 時間） （合計 28 件）」,
// full-width parentheses and a space between them, where the rest of the console writes 「(…)」.
it('captions the Japanese charts with the half-width parentheses the rest of the console uses', () => {
  const ja = strings('ja');
  const captions = ['chart.alertsTitle', 'chart.deliveriesTitle', 'chart.tenantAlerts', 'chart.tenantMail'].map(
    (key) => `${ja[key]} ${ja['chart.total']!.replace('{count}', '28')}`,
  );
  expect(captions.filter((caption) => /[（）]/.test(caption))).toEqual([]);
});

// Every page puts a space between a label and its value: Japanese read 「件名： acme」, a full-width colon and a space.
it('labels a value in Japanese as its emails do (「件名: …」), not with a full-width colon and a space', () => {
  const label = '件名';
  const shown = `${strings('ja').labelled!.replace('{label}', label)} acme`;
  expect(shown).toBe(localeFormat('ja', 'UTC').labelled(label, 'acme'));
});

it('puts « el » between a Spanish preposition and a date, as the emails do (« desde el 2 dic 2026 »)', () => {
  const wrong = Object.entries(strings('es')).filter(([, text]) => /\b(desde|hasta|a partir del?)\s+\{(since|time|until|date)\}/i.test(text));
  expect(wrong.map(([key, text]) => `${key}: ${text}`)).toEqual([]);
});

it('puts a narrow no-break space before French ? ! ; : and inside « », never an ordinary space or none', () => {
  // Placeholders and JSON examples ({tenant}, {"alerts": [...]}), URLs and clock times are not prose.
  const prose = (text: string) =>
    text
      .replace(/\{[^{}]*(\{[^{}]*\}[^{}]*)*\}/g, '{}')
      .replace(/\w+:\/\/\S+/g, '')
      .replace(/\d:\d/g, '');
  const wrong = Object.entries(strings('fr')).filter(([, text]) => /(^|[^\u202f])[?!;:]|«[^\u202f]|[^\u202f]»/u.test(prose(text)));
  expect(wrong.map(([key, text]) => `${key}: ${text}`)).toEqual([]);
});

// The French Delivery log, Email previews, Mail catcher and Manage Access said « Résumé de dix minutes » of the
// email whose switch the preferences, the Mail tab and the seed call « Rapport de dix minutes »: a reader who turned
// off the one looked for it under a name the log did not use.
it.each(LANGUAGES)('%s names the 10-minute summary and the daily report in the delivery log as its preferences name their switches', (language) => {
  const own = strings(language);
  expect([own['kind.summary'], own['kind.daily']]).toEqual([own['prefs.tenMinuteSummary'], own['prefs.dailyReport']]);
});

// The Delivery log told a French reader that the recipient « a perdu la permission Alerts.View » and that its alerts
// were « mises en sourdine », where the Roles tab and the seed say « l'autorisation Consultation des alertes » and
// every button and heading says « Couper » and « Coupé dans les e-mails ».
it('writes French with the words of its own pages and of the seed: « autorisation », never « permission »; « couper », never « sourdine »', () => {
  const texts = [...Object.entries(strings('fr')), ...flattenTexts(EMAIL_MESSAGES.fr)];
  // Placeholders ({permissions}) are not words the reader sees.
  const wrong = texts.filter(([, text]) => /\bpermissions?\b|sourdine/i.test(text.replace(/\{+\w+\}+/g, ''))).map(([key, text]) => `${key}: ${text}`);
  expect(wrong).toEqual([]);
});

it("uses the seed guide's French wording on the Mail tab", () => {
  const french = strings('fr');
  expect(french).toMatchObject({
    'settings.title': 'Paramètres',
    'settings.mailTab': 'Courrier',
    'mail.enableAlertsEmail': "Activer l'e-mail d'alerte",
    'mail.useDefault': 'Utiliser les paramètres par défaut',
    'mail.useCustom': 'Utiliser les paramètres personnalisés',
    'mail.enableSsl': 'Activer SSL',
    'mail.host': 'Hôte SMTP',
    'mail.domain': 'Domaine SMTP',
    'mail.port': 'Port SMTP',
    'mail.username': "Nom d'utilisateur SMTP",
    'mail.password': 'Mot de passe SMTP',
    'mail.fromAddress': "Adresse d'expédition par défaut",
    // The guide's own « Nom affiché par défaut à partir de » is a word-for-word rendering of "Default From Display Name".
    'mail.fromDisplayName': "Nom d'expéditeur affiché par défaut",
    'mail.test': "Tester les paramètres d'e-mail",
    'test.sendTo': 'Envoyer à',
    'test.send': 'Envoyer',
    save: 'Enregistrer',
    'nav.access': "Gérer l'accès",
  });
});
