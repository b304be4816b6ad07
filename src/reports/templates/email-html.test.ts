import { DomUtils, parseDocument } from 'htmlparser2';
import { describe, expect, it } from 'vitest';
import { FONT_STACK, TEMPLATE_NAMES, emailHtml } from './email-html.js';

const html = await emailHtml();

type AnyNode = ReturnType<typeof parseDocument>['children'][number];
type Element = ReturnType<typeof DomUtils.findAll>[number];

/** inlineFonts are the elements whose style attribute names a font family, with the family. */
function inlineFonts(document: ReturnType<typeof parseDocument>): { element: Element; family: string }[] {
  return DomUtils.findAll((e) => /font-family:/.test(e.attribs.style ?? ''), document.children).map((element) => ({
    element,
    family: /font-family:([^;]*)/.exec(element.attribs.style!)![1]!.trim(),
  }));
}

describe.each(TEMPLATE_NAMES)('the %s email as compiled', (name) => {
  const page = html[name];

  it('writes the font stack once, on the outer element that holds every text, and for Outlook in its own style sheet', () => {
    const document = parseDocument(page);
    const stacked = inlineFonts(document).filter(({ family }) => family === FONT_STACK);
    expect(stacked.map(({ element }) => element.attribs.role)).toEqual(['article']);
    const body = DomUtils.findOne((e) => e.name === 'body', document.children)!;
    const outside = DomUtils.filter((n) => n.type === 'text' && /\S/.test((n as { data: string }).data), body.children).filter(
      (n) => !isInside(n, stacked[0]!.element),
    );
    expect(outside).toEqual([]);
    // Any other family written inline is one of a text's own (a fixed-width one), never the stack again.
    expect(inlineFonts(document).filter(({ family }) => family !== FONT_STACK && !/monospace/.test(family))).toEqual([]);
    const outlook = /<!--\[if mso\]><style>([^{]*)\{font-family:([^}]*);\}<\/style><!\[endif\]-->/.exec(page);
    expect(outlook?.[1]?.split(',')).toEqual(expect.arrayContaining(['body', 'table', 'td', 'div', 'h1', 'h2', 'h3']));
    expect(outlook?.[2]).toBe(FONT_STACK.replaceAll(', ', ','));
  });

  it('keeps no style rule that styles nothing here, and no line breaks in the style sheets', () => {
    expect(page).not.toMatch(/mj-column-per|mj-outlook-group-fix|class=""/);
    for (const [, css] of page.matchAll(/<style[^>]*>([^<]*)<\/style>/g)) expect(css).not.toMatch(/\n|\/\*/);
  });
});

function isInside(node: AnyNode, ancestor: Element): boolean {
  for (let n: AnyNode | null = node; n; n = n.parent) if (n === ancestor) return true;
  return false;
}
