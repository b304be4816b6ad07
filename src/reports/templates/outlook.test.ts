import { DomUtils, parseDocument } from 'htmlparser2';
import { describe, expect, it } from 'vitest';
import { light } from '../../../test/support/email-colours.js';
import type { Language } from '../../i18n/languages.js';
import { PREVIEW_KINDS, renderPreview, sampleContext } from './samples.js';

/*
 * Outlook for Windows (2007 to 2021, and Microsoft 365's "classic" Outlook) draws emails with Word,
 * which reads the markup inside `<!--[if mso]>` comments, skips what `<!--[if !mso]>` keeps for the
 * others, and paints a background reliably only on a table cell (bgcolor or background-color) or on
 * the span the text is in: a div's background vanishes once the div holds another block, so white
 * text written on such a div reads as white on the white card.
 */

type Node = ReturnType<typeof parseDocument>['children'][number];
type Element = Extract<Node, { attribs: Record<string, string> }>;

/** outlookMarkup is the HTML as Word reads it: the conditional comments for Outlook opened, those for the others dropped. */
function outlookMarkup(html: string): string {
  return html
    .replace(/<!--\[if !mso\]><!-->[\s\S]*?<!--<!\[endif\]-->/g, '')
    .replace(/<!--\[if ([^\]]*)\]>([\s\S]*?)<!\[endif\]-->/g, (whole, condition: string, inside: string) =>
      /(?:^|[\s|(])mso/.test(condition) ? inside : whole,
    );
}

/** style reads one declaration of an element's style attribute, lower-cased, or undefined. */
function style(element: Element, name: string): string | undefined {
  for (const declaration of (element.attribs.style ?? '').split(';')) {
    const [property, ...value] = declaration.split(':');
    if (property?.trim().toLowerCase() === name) return value.join(':').trim().toLowerCase();
  }
  return undefined;
}

const CELLS = new Set(['td', 'th', 'table']);
const INLINE = new Set(['span', 'a', 'strong', 'b']);

const background = (e: Element) => e.attribs.bgcolor?.toLowerCase() ?? style(e, 'background-color') ?? style(e, 'background');

/**
 * unpaintedLightText lists the texts written in a light colour whose background, as Word paints
 * it, is light too: the background of the text's own inline element, else of its nearest table
 * cell (or table) that sets one.
 */
function unpaintedLightText(html: string): string[] {
  const found: string[] = [];
  const body = DomUtils.findOne((e) => e.name === 'body', parseDocument(outlookMarkup(html)).children);
  for (const node of DomUtils.filter((n) => n.type === 'text', body ? [body] : [])) {
    const text = (node as { data: string }).data.trim();
    if (!text) continue;
    const ancestors: Element[] = [];
    for (let e = node.parent as Element | null; e && e.type === 'tag'; e = e.parent as Element | null) ancestors.push(e);
    if (ancestors.some((e) => style(e, 'display') === 'none' || style(e, 'mso-hide') === 'all')) continue;
    const colour = ancestors.map((e) => style(e, 'color')).find((c) => c !== undefined);
    if (colour === undefined || !light(colour)) continue;
    const own = ancestors[0] && INLINE.has(ancestors[0].name) ? background(ancestors[0]) : undefined;
    const painted =
      own ??
      ancestors
        .filter((e) => CELLS.has(e.name))
        .map(background)
        .find((b) => b !== undefined);
    if (painted === undefined || light(painted)) found.push(`"${text.slice(0, 30)}" in ${colour} on ${painted ?? 'nothing'}`);
  }
  return found;
}

const HEADINGS = new Set(['h1', 'h2', 'h3']);

/** outlookFontFamilies are the font-family declarations of the style sheets only Outlook reads, by the elements they name. */
function outlookFontFamilies(html: string): Set<string> {
  const named = new Set<string>();
  for (const [, sheet] of html.matchAll(/<!--\[if mso\]>\s*<style[^>]*>([\s\S]*?)<\/style>\s*<!\[endif\]-->/g)) {
    for (const [, selectors, body] of sheet!.matchAll(/([^{}]+)\{([^}]*)\}/g)) {
      if (/font-family\s*:/.test(body!)) for (const selector of selectors!.split(',')) named.add(selector.trim());
    }
  }
  return named;
}

/**
 * unstyledHeadings lists the headings whose look Word would take from its own Heading styles (Times
 * New Roman, 24 and 18 points): Word knows CSS 1, without `inherit`, so a heading says its size,
 * weight and line height itself, and its font is named for it (inline or by Outlook's style sheet).
 */
function unstyledHeadings(html: string): string[] {
  const families = outlookFontFamilies(html);
  const body = DomUtils.findOne((e) => e.name === 'body', parseDocument(outlookMarkup(html)).children);
  return DomUtils.findAll((e) => HEADINGS.has(e.name), body ? [body] : []).flatMap((heading) => {
    const missing = ['font-size', 'font-weight', 'line-height', 'font-family'].filter((name) => {
      const value = style(heading, name);
      if (value !== undefined) return value.includes('inherit');
      return name !== 'font-family' || !families.has(heading.name);
    });
    const inherited = (style(heading, 'font') ?? '').includes('inherit') ? ['font:inherit'] : [];
    const wrong = [...missing, ...inherited];
    return wrong.length > 0 ? [`${heading.name} "${DomUtils.textContent(heading).trim().slice(0, 30)}": ${wrong.join(', ')}`] : [];
  });
}

describe('what Outlook for Windows paints', () => {
  for (const language of ['en', 'ja'] as const satisfies readonly Language[]) {
    for (const kind of PREVIEW_KINDS) {
      it(`${kind} in ${language}: every heading in the email's own font, size and weight, not Word's Heading styles`, () => {
        expect(unstyledHeadings(renderPreview(kind, sampleContext(language)).html)).toEqual([]);
      });

      it(`${kind} in ${language}: white text (severity counts and badges, buttons) only on a background Word paints, a table cell's or its own span's`, () => {
        expect(unpaintedLightText(renderPreview(kind, sampleContext(language)).html)).toEqual([]);
      });
    }
  }

  it('sees a div holding a block as painting nothing, and a cell as painting its text', () => {
    const page = (inside: string) => `<html><body><table style="background-color:#ffffff"><tr>${inside}</tr></table></body></html>`;
    expect(unpaintedLightText(page('<td><div style="background-color:#7f1d1d;color:#ffffff"><div>2</div></div></td>'))).toEqual(['"2" in #ffffff on #ffffff']);
    expect(
      unpaintedLightText(page('<!--[if mso]><td bgcolor="#7f1d1d"><![endif]--><div style="color:#ffffff"><div>2</div></div><!--[if mso]></td><![endif]-->')),
    ).toEqual([]);
    expect(unpaintedLightText(page('<td><span style="background-color:#7f1d1d;color:#ffffff">Fatal</span></td>'))).toEqual([]);
  });
});
