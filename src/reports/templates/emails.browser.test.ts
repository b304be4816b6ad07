import { expect, it } from 'vitest';
import { haveChromium, launchChromium } from '../../../test/support/browser.js';
import { LANGUAGES } from '../../i18n/languages.js';
import type { TemplateName } from './email-html.js';
import { PREVIEW_KINDS, renderPreview, renderSample, sampleContext, sampleSummary } from './samples.js';
import { renderSummaryEmail } from './summary-email.js';

const KINDS: readonly TemplateName[] = ['summary', 'daily', 'immediate', 'test'];

// What a phone shows an email at (an iPhone 12 to 15 in portrait).
const PHONE = 390;
// The narrowest common phone in portrait (many Android phones).
const NARROW_PHONE = 360;
// The narrowest phones still about (an iPhone SE of the first generation, small Androids), and a
// 360 px phone at a larger text size.
const SMALLEST_PHONE = 320;

// Text wider than the box it sits in: it runs over its neighbour (a card's label over the next
// card) without the page scrolling sideways. (Page functions are strings: test code has no DOM types.)
const SPILLING = `[...document.body.querySelectorAll('*')].filter((e) => {
    if (e.clientWidth === 0 || getComputedStyle(e).overflowX !== 'visible') return false;
    return e.scrollWidth > e.clientWidth + 1;
  }).map((e) => e.textContent.trim().slice(0, 40))`;

// Words of a label or a sentence that the layout cuts in two lines, as a box too narrow for its
// word does (a severity card's "Informatio / n"): words in Latin letters of up to 13 (Schwerwiegend,
// Avertissement); longer compounds (Warteschlangenelement) may break in a narrow column, and
// Japanese breaks between any two characters.
const BROKEN_WORDS = `(() => {
  const found = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    if (node.parentElement.closest('[style*="display:none"]')) continue;
    for (const match of node.data.matchAll(/\\p{Script=Latin}+/gu)) {
      if (match[0].length < 2 || match[0].length > 13) continue;
      const range = document.createRange();
      range.setStart(node, match.index);
      range.setEnd(node, match.index + match[0].length);
      const tops = new Set([...range.getClientRects()].filter((r) => r.width > 0).map((r) => Math.round(r.top)));
      if (tops.size > 1) found.push(match[0]);
    }
  }
  return found;
})()`;

it.skipIf(!haveChromium())(
  `every email in every language fits a ${PHONE}, ${NARROW_PHONE} and ${SMALLEST_PHONE} px screen: no sideways scrolling, no text spilling out of its box, no word cut in two`,
  async () => {
    const browser = await launchChromium();
    try {
      const page = await browser.newPage({ viewport: { width: PHONE, height: 800 } });
      const found: string[] = [];
      for (const [width, language] of [PHONE, NARROW_PHONE, SMALLEST_PHONE].flatMap((width) => LANGUAGES.map((language) => [width, language] as const))) {
        await page.setViewportSize({ width, height: 800 });
        const context = sampleContext(language);
        for (const kind of KINDS) {
          await page.setContent(renderSample(kind, context).html);
          const sideways = await page.evaluate<number>('document.scrollingElement.scrollWidth - innerWidth');
          if (sideways > 0) found.push(`${kind} in ${language} at ${width} px scrolls ${sideways} px sideways`);
          for (const text of await page.evaluate<string[]>(SPILLING)) found.push(`${kind} in ${language} at ${width} px: "${text}" spills out of its box`);
          for (const word of await page.evaluate<string[]>(BROKEN_WORDS)) found.push(`${kind} in ${language} at ${width} px: "${word}" is cut in two lines`);
        }
      }
      expect(found).toEqual([]);
    } finally {
      await browser.close();
    }
  },
);

// Text whose colour stands out from the colour behind it by less than WCAG's 4.5:1 for body text,
// the background being the nearest one painted (the grey page around the white card included).
const FAINT_TEXT = `(() => {
  const luminance = (css) => {
    const [r, g, b] = css.match(/[\\d.]+/g).slice(0, 3).map((v) => v / 255).map((v) => (v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4));
    return 0.2126 * r + 0.7152 * g + 0.0722 * b;
  };
  const behind = (e) => {
    for (let n = e; n; n = n.parentElement) if (getComputedStyle(n).backgroundColor !== 'rgba(0, 0, 0, 0)') return getComputedStyle(n).backgroundColor;
    return 'rgb(255, 255, 255)';
  };
  const found = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const e = node.parentElement;
    if (!node.data.trim() || e.closest('[style*="display:none"]')) continue;
    const [a, b] = [luminance(getComputedStyle(e).color), luminance(behind(e))];
    const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
    if (ratio < 4.5) found.push(node.data.trim().slice(0, 40) + ' at ' + ratio.toFixed(2) + ':1');
  }
  return found;
})()`;

it.skipIf(!haveChromium())(
  'writes every text of every email at a contrast of at least 4.5:1 against what is behind it, the footer on the grey page too',
  async () => {
    const browser = await launchChromium();
    try {
      const page = await browser.newPage({ viewport: { width: PHONE, height: 800 } });
      const found: string[] = [];
      const context = sampleContext('en');
      for (const kind of PREVIEW_KINDS) {
        await page.setContent(renderPreview(kind, context).html);
        for (const text of await page.evaluate<string[]>(FAINT_TEXT)) found.push(`${kind}: "${text}"`);
      }
      expect(found).toEqual([]);
    } finally {
      await browser.close();
    }
  },
);

// Where a subject's parts land on an inbox's line (left to right, as every language Tocsin writes
// reads): the right edge of the tenant's name and the left edge of the count written after it.
const NAME_AND_COUNT = `((name, count) => {
  const node = document.body.firstChild.firstChild;
  const edges = (start, end) => {
    const range = document.createRange();
    range.setStart(node, start);
    range.setEnd(node, end);
    const rects = [...range.getClientRects()].filter((r) => r.width > 0);
    return { left: Math.min(...rects.map((r) => r.left)), right: Math.max(...rects.map((r) => r.right)) };
  };
  const at = node.data.indexOf(name);
  const countAt = node.data.indexOf(count, at + name.length);
  return { name: edges(at, at + name.length).right, count: edges(countAt, countAt + count.length).left };
})`;

it.skipIf(!haveChromium())(
  'lists a summary of a tenant named in Arabic or Hebrew in an inbox with the count after the name, as its subject says, in every language that writes the count there',
  async () => {
    const browser = await launchChromium();
    try {
      const page = await browser.newPage({ viewport: { width: 1000, height: 200 } });
      const found: string[] = [];
      for (const name of ['مجموعة النور', 'אקמי תפעול']) {
        for (const language of ['en', 'fr', 'de', 'es'] as const) {
          const context = sampleContext(language, { tenant: { name: 'acme', displayName: name, timeZone: 'Europe/Paris' } });
          const { subject } = renderSummaryEmail(sampleSummary(context));
          // An inbox's subject column: one line in the reader's direction.
          await page.setContent('<div dir="ltr" style="white-space:nowrap"></div>');
          await page.evaluate(`document.body.firstChild.textContent = ${JSON.stringify(subject)}`);
          const edges = await page.evaluate<{ name: number; count: number }>(`${NAME_AND_COUNT}(${JSON.stringify(name)}, '14')`);
          if (edges.count < edges.name) found.push(`${language}: "${subject}" shows 14 left of ${name}`);
        }
      }
      expect(found).toEqual([]);
    } finally {
      await browser.close();
    }
  },
);
