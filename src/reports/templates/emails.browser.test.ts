import { expect, it } from 'vitest';
import { haveChromium, launchChromium } from '../../../test/support/browser.js';
import { LANGUAGES } from '../../i18n/languages.js';
import type { TemplateName } from './email-html.js';
import { type SampleContext, renderSample } from './samples.js';

const KINDS: readonly TemplateName[] = ['summary', 'daily', 'immediate', 'test'];

// What a phone shows an email at (an iPhone 12 to 15 in portrait).
const PHONE = 390;

// Text wider than the box it sits in: it runs over its neighbour (a card's label over the next
// card) without the page scrolling sideways. (Page functions are strings: test code has no DOM types.)
const SPILLING = `[...document.body.querySelectorAll('*')].filter((e) => {
    if (e.clientWidth === 0 || getComputedStyle(e).overflowX !== 'visible') return false;
    return e.scrollWidth > e.clientWidth + 1;
  }).map((e) => e.textContent.trim().slice(0, 40))`;

it.skipIf(!haveChromium())(`every email in every language fits a ${PHONE} px screen: no sideways scrolling, no text spilling out of its box`, async () => {
  const browser = await launchChromium();
  try {
    const page = await browser.newPage({ viewport: { width: PHONE, height: 800 } });
    const found: string[] = [];
    for (const language of LANGUAGES) {
      const context: SampleContext = {
        tenant: { name: 'acme', displayName: 'Acme Finance', timeZone: 'Europe/Paris' },
        language,
        timeZone: 'Europe/Paris',
        now: Date.UTC(2026, 10, 27, 9, 3, 0),
        publicUrl: 'https://tocsin.example.com',
        summaryIntervalSeconds: 600,
      };
      for (const kind of KINDS) {
        await page.setContent(renderSample(kind, context).html);
        const sideways = await page.evaluate<number>('document.scrollingElement.scrollWidth - innerWidth');
        if (sideways > 0) found.push(`${kind} in ${language} scrolls ${sideways} px sideways`);
        for (const text of await page.evaluate<string[]>(SPILLING)) found.push(`${kind} in ${language}: "${text}" spills out of its box`);
      }
    }
    expect(found).toEqual([]);
  } finally {
    await browser.close();
  }
});
