import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { type Browser, type BrowserContext, type Page, type Request, chromium } from 'playwright-core';
import { onTestFailed } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { type Tocsin, startTocsin } from '../../src/server.js';
import { createTestDatabase, isCi } from './storage.js';

/**
 * CHROMIUM is Debian's Chromium, never a downloaded browser: its headless shell (apt-get install
 * chromium-headless-shell, the build Playwright itself runs headless: the same Blink and V8
 * without the desktop browser around them) where installed, as in CI, else the desktop browser
 * (apt-get install chromium). The shell drew the console's pages for a third of the desktop
 * browser's CPU time on CI's two cores (29 against 75 CPU-seconds over 53 of
 * console.browser.test.ts's tests), which bounds how long CI takes.
 */
export const CHROMIUM =
  process.env.TOCSIN_CHROMIUM ?? ['/usr/bin/chromium-headless-shell', '/usr/bin/chromium'].find((file) => fs.existsSync(file)) ?? '/usr/bin/chromium';

/**
 * saveScreenshot writes the page as `docs/screenshots/<name>.png`, the README's pictures, under
 * `npm run screenshots` (TOCSIN_SCREENSHOTS), and does nothing otherwise: a picture no one looks at
 * proves nothing, and drawing and PNG-encoding a whole page cost Chromium 0.2 to 0.8 CPU-seconds a
 * shot, on the two cores that bound CI. (A failing test's picture is taken regardless, by
 * openTestPage and the files' own `open`.) `fullPage` false shoots what the viewport shows, as for
 * an open dialog.
 */
export async function saveScreenshot(page: Page, name: string, fullPage = true): Promise<void> {
  if (!process.env.TOCSIN_SCREENSHOTS) return;
  await page.screenshot({ path: path.resolve('docs/screenshots', `${name}.png`), fullPage });
}

/** haveChromium tells whether the browser tests can run; in CI a missing browser is an error. */
export function haveChromium(): boolean {
  if (fs.existsSync(CHROMIUM)) return true;
  if (isCi(process.env))
    throw new Error(`CI must run the browser tests: ${CHROMIUM} is missing (.ci/run installs it with apt-get install chromium-headless-shell).`);
  process.stderr.write(
    `\n[tocsin] Browser tests skipped: install Chromium's headless shell with \`sudo apt-get install -y chromium-headless-shell\` (or the browser, chromium; or set TOCSIN_CHROMIUM to its path).\n\n`,
  );
  return false;
}

/** launchChromium starts one headless Chromium, quiet and offline but for the pages it is sent to. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

/** ConsoleServer is a listening Tocsin on a fresh SQLite database, for a browser to talk to. */
export interface ConsoleServer {
  readonly tocsin: Tocsin;
  /** The server's address, such as http://127.0.0.1:41234. */
  readonly base: string;
  /** call sends a JSON request with a bearer token (the admin's unless another is given) and returns the parsed answer, throwing on a non-2xx. */
  call(method: string, url: string, body?: unknown, token?: string): Promise<any>;
  close(): Promise<void>;
}

/**
 * startConsoleServer starts Tocsin listening on 127.0.0.1 with the built-in mail catcher, its admin
 * token `adminToken`; `env` adds settings (TOCSIN_SMTP_URL: a system server, and no catcher).
 */
export async function startConsoleServer(adminToken: string, env: Record<string, string> = {}): Promise<ConsoleServer> {
  const database = await createTestDatabase('sqlite');
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tocsin-browser-'));
  const config = loadConfig({
    DATABASE_URL: database.url,
    TOCSIN_ADMIN_TOKEN: adminToken,
    TOCSIN_DATA_DIR: dataDir,
    TOCSIN_MAIL_CATCHER_PORT: '0',
    HOST: '127.0.0.1',
    PORT: '0',
    LOG_LEVEL: 'silent',
    ...env,
  });
  const tocsin = await startTocsin(config, { logger: pino({ level: 'silent' }) });
  const base = tocsin.url!;
  return {
    tocsin,
    base,
    async call(method, url, body, token = adminToken) {
      const response = await fetch(`${base}${url}`, {
        method,
        headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await response.text();
      if (!response.ok) throw new Error(`${method} ${url}: ${response.status} ${text}`);
      return text ? JSON.parse(text) : null;
    },
    async close() {
      await tocsin.close();
      await database.drop();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** TestPage is a page in a context of its own, with what went wrong in its console so far. */
export interface TestPage {
  readonly context: BrowserContext;
  readonly page: Page;
  /** Script errors and console errors, oldest first; a test takes them with `problems.splice(0)`. */
  readonly problems: string[];
}

/**
 * openTestPage opens a page at a width and browser language, recording its script and console
 * errors; when the test fails, a picture of the page is left behind and named in the output.
 */
export async function openTestPage(browser: Browser, options: { width: number; locale: string; height?: number }): Promise<TestPage> {
  const context = await browser.newContext({ viewport: { width: options.width, height: options.height ?? 860 }, locale: options.locale });
  const page = await context.newPage();
  page.setDefaultTimeout(15_000);
  const problems: string[] = [];
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  page.on('console', (message) => {
    if (message.type() === 'error') problems.push(`console error: ${message.text()} (${message.location().url})`);
  });
  onTestFailed(async () => {
    const file = path.join(os.tmpdir(), `tocsin-failed-${Date.now()}.png`);
    await page.screenshot({ path: file, fullPage: true }).catch(() => {});
    process.stderr.write(`[tocsin] screenshot of the failed page: ${file}\n`);
  });
  return { context, page, problems };
}

/**
 * submitSignIn fills the console's password sign-in form (tenant, email, password) and submits it
 * with Enter, as a user does; the caller waits for whatever page it expects next.
 */
export async function submitSignIn(page: Page, tenant: string, email: string, password: string): Promise<void> {
  await page.locator('#signin-tenant').fill(tenant);
  await page.locator('#signin-email').fill(email);
  await page.locator('#signin-password').fill(password);
  await page.locator('#signin-password').press('Enter');
}

/**
 * offScreen lists elements sticking out of the screen, left or right. What a wide table's own
 * scroll area holds counts as on screen (it is reached by scrolling the table), so long as the
 * scroll area itself is. (Page functions are strings: test code has no DOM types.)
 */
export function offScreen(page: Page, selector = 'body *'): Promise<string[]> {
  return page.evaluate(`[...document.querySelectorAll(${JSON.stringify(selector)})].filter((e) => {
      const box = e.getBoundingClientRect();
      if (box.width === 0 || box.height === 0 || e.parentElement?.closest('.table-wrap')) return false;
      return box.left < -0.5 || box.right > innerWidth + 0.5;
    }).map((e) => e.outerHTML.slice(0, 120))`);
}

/** sideways is how far the page scrolls horizontally (0 or less when it does not). */
export function sideways(page: Page): Promise<number> {
  return page.evaluate('document.scrollingElement.scrollWidth - innerWidth');
}

/**
 * sidewaysAt opens each HTML (an email, a link's page) in a screen that wide and says how far each
 * scrolls sideways there (0 or less when it does not), in their order.
 */
export async function sidewaysAt(width: number, htmls: readonly string[]): Promise<number[]> {
  const browser = await launchChromium();
  try {
    const page = await browser.newPage({ viewport: { width, height: 800 } });
    const widths: number[] = [];
    for (const html of htmls) {
      await page.setContent(html);
      widths.push(await sideways(page));
    }
    return widths;
  } finally {
    await browser.close();
  }
}

/** AxeViolation is one axe-core rule broken on a page, with where. */
export interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  targets: string[];
}

const AXE_SOURCE = fs.readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

/**
 * seriousAxeViolations runs axe-core (WCAG 2.x A and AA rules and best practices) on the page as it
 * is and returns the serious and critical violations. axe is evaluated through the DevTools
 * protocol, which the page's Content-Security-Policy does not govern, so the console's CSP stays as
 * it ships.
 */
export function seriousAxeViolations(page: Page): Promise<AxeViolation[]> {
  return axeViolations(page, ['serious', 'critical']);
}

/** axeViolations is seriousAxeViolations for the impacts given (axe's minor, moderate, serious, critical). */
export async function axeViolations(page: Page, impacts: readonly string[]): Promise<AxeViolation[]> {
  if (!(await page.evaluate<boolean>("'axe' in window"))) await page.evaluate(AXE_SOURCE);
  const run = () =>
    page.evaluate<AxeViolation[]>(`axe.run(document, { resultTypes: ['violations'] }).then((result) => result.violations
      .filter((v) => ${JSON.stringify(impacts)}.includes(v.impact))
      .map((v) => ({ id: v.id, impact: v.impact, help: v.help, targets: v.nodes.slice(0, 5).map((n) => n.target.join(' ')) })))`);
  // axe reads the page over several tasks; a render landing in between (a poll's answer) can make
  // a label and its field look apart. A violation that is real is still there on a second look.
  const first = await run();
  return first.length === 0 ? first : run();
}

/**
 * untranslated finds strings' keys that show on the page as they are (a key with no string in any
 * language), and `{placeholder}` markers that a string's variables did not fill, in the text and
 * in the labels, titles and placeholders a person or a screen reader meets.
 */
export function untranslated(page: Page, keys: readonly string[]): Promise<string[]> {
  const escaped = keys.map((key) => key.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
  const shownKey = `(?:^|[^\\w.])(${escaped.join('|')})(?=$|[^\\w.])`;
  const marker = '\\{\\w+\\}';
  return page.evaluate(`(() => {
    const texts = [document.body.innerText];
    for (const e of document.querySelectorAll('[aria-label], [title], [placeholder]')) {
      texts.push(e.getAttribute('aria-label') ?? '', e.getAttribute('title') ?? '', e.getAttribute('placeholder') ?? '');
    }
    const text = texts.join(' ');
    return [
      ...[...text.matchAll(new RegExp(${JSON.stringify(shownKey)}, 'g'))].map((m) => m[1]),
      ...(text.match(new RegExp(${JSON.stringify(marker)}, 'g')) ?? []),
    ];
  })()`);
}

/** HeldRequests are a page's requests held back, as a slow or loaded server would, until the test lets them go. */
export interface HeldRequests {
  /** Settles once the page has sent the first of them. */
  readonly sent: Promise<void>;
  /** Lets the held requests, and any after them, go on to the server. */
  release(): void;
}

/** holdRequests holds the page's `method` requests to `url` (a glob or a pattern, as page.route takes it) until `release`. */
export async function holdRequests(page: Page, url: string | RegExp, method: string): Promise<HeldRequests> {
  const sent = signal();
  const held = signal();
  await page.route(url, async (route) => {
    if (route.request().method() === method) {
      sent.settle();
      await held.promise;
    }
    await route.continue();
  });
  return { sent: sent.promise, release: held.settle };
}

/** signal is a promise and what settles it: a moment a held request or answer waits for, or tells of. */
function signal(): { promise: Promise<void>; settle: () => void } {
  let settle = () => {};
  const promise = new Promise<void>((resolve) => {
    settle = resolve;
  });
  return { promise, settle };
}

/**
 * afterPageRead settles once the page has read what it was last handed (two turns of its event loop) and drawn a
 * frame: a test that checks a late answer changed nothing has no event to wait for.
 */
export function afterPageRead(page: Page): Promise<void> {
  return page.evaluate('new Promise((resolve) => setTimeout(() => setTimeout(() => requestAnimationFrame(() => resolve()), 0), 0))');
}

/** LateAnswer is the server's answer to one request of the page, read at once and handed to the page late. */
export interface LateAnswer {
  /** Settles once the page has asked and the server has answered (the answer then held from the page). */
  readonly asked: Promise<void>;
  /**
   * deliver hands the held answer to the page and settles once the page has it and has read it (afterPageRead).
   */
  deliver(): Promise<void>;
}

/** answerLate holds from the page the server's answer to its next `method` request to `url`, as a loaded server's. */
export async function answerLate(page: Page, url: RegExp, method = 'GET'): Promise<LateAnswer> {
  const asked = signal();
  const held = signal();
  let late: Request | undefined;
  await page.route(url, async (route) => {
    if (route.request().method() !== method || late) return route.continue();
    late = route.request();
    const response = await route.fetch();
    asked.settle();
    await held.promise;
    await route.fulfill({ response });
  });
  return {
    asked: asked.promise,
    async deliver() {
      const finished = page.waitForEvent('requestfinished', (request) => request === late);
      held.settle();
      await finished;
      await afterPageRead(page);
      await page.unroute(url);
    },
  };
}
