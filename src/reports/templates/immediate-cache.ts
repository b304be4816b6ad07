import crypto from 'node:crypto';
import Handlebars from 'handlebars';
import type { RenderedEmail } from '../../delivery/contract.js';
import { greetingName } from './frame.js';
import { renderImmediateEmail } from './immediate-email.js';
import { httpUrl } from './links.js';
import type { ImmediateEmailView } from './view-models.js';

/**
 * ImmediateEmailCache renders a Fatal alert's email once for all its recipients: they differ only
 * by their name and their unsubscribe link. It renders the email with two random slots in their
 * place, keeps it, and fills each recipient's values into a copy: escaped in the HTML part exactly
 * as the template escapes them, as they are in the text part and the headers. The result is
 * byte-for-byte what renderImmediateEmail gives (see immediate-cache.test.ts); rendering from
 * scratch costs about a millisecond of CPU per email, filling a few microseconds.
 */
export class ImmediateEmailCache {
  // Letters and digits only: no template, URL normalisation or escaping alters the slots.
  readonly #nameSlot = `tocsinname${crypto.randomBytes(8).toString('hex')}`;
  readonly #urlSlot = `https://tocsin-slot.invalid/u${crypto.randomBytes(8).toString('hex')}`;
  readonly #slots = new RegExp(`${this.#nameSlot}|${this.#urlSlot.replace(/[.:/]/g, '\\$&')}`, 'g');
  readonly #entries = new Map<string, RenderedEmail>();

  constructor(private readonly maxEntries = 32) {}

  /** render returns renderImmediateEmail(view), reusing what the recipients of one alert share. */
  render(view: ImmediateEmailView): RenderedEmail {
    const name = greetingName(view.recipient.name);
    const unsubscribe = view.links.unsubscribe;
    // A link the gate would rewrite or drop is rare (the links are ours): render it in full.
    if (httpUrl(unsubscribe) !== unsubscribe) return renderImmediateEmail(view);
    const slotted: ImmediateEmailView = {
      ...view,
      recipient: { ...view.recipient, name: name ? this.#nameSlot : undefined },
      links: { ...view.links, unsubscribe: this.#urlSlot },
    };
    const key = JSON.stringify(slotted);
    let shared = this.#entries.get(key);
    if (!shared) {
      shared = renderImmediateEmail(slotted);
      this.#entries.set(key, shared);
      // Maps iterate in insertion order: the first key is the oldest.
      if (this.#entries.size > this.maxEntries) this.#entries.delete(this.#entries.keys().next().value!);
    }
    const raw = (s: string) => s.replace(this.#slots, (slot) => (slot === this.#nameSlot ? name : unsubscribe));
    return {
      subject: raw(shared.subject),
      text: raw(shared.text),
      html: shared.html.replace(this.#slots, (slot) => Handlebars.escapeExpression(slot === this.#nameSlot ? name : unsubscribe)),
      headers: Object.fromEntries(Object.entries(shared.headers).map(([header, value]) => [header, raw(value)])),
    };
  }
}
