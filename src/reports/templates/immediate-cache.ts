import crypto from 'node:crypto';
import Handlebars from 'handlebars';
import type { AlertActionUrls } from '../../actions/links.js';
import type { RenderedEmail } from '../../delivery/contract.js';
import { type MimeTemplate, type SlotValue, prepareMime } from '../../delivery/smtp/mime.js';
import { greetingName } from './frame.js';
import { renderImmediateEmail } from './immediate-email.js';
import { httpUrl } from './links.js';
import type { ImmediateEmailView } from './view-models.js';

/** The per-recipient parts of an immediate email, in slot order. */
const PARTS = ['name', 'unsubscribe', 'mute', 'snooze', 'acknowledge'] as const;
type Part = (typeof PARTS)[number];
const ACTIONS = ['mute', 'snooze', 'acknowledge'] as const satisfies readonly (keyof AlertActionUrls & Part)[];

/** What the recipients of one alert share: the subject, the headers with slots, and the email encoded once as MIME with slots. */
interface Shared {
  readonly subject: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly mime: MimeTemplate;
}

/**
 * ImmediateEmailCache renders a Fatal alert's email once for all its recipients and encodes it
 * once as MIME: they differ only by their name, their unsubscribe link and their own mute, snooze
 * and acknowledge links. It renders the email with random slots in their place, encodes it
 * (smtp/mime.ts), keeps the MIME, and gives each recipient its values: escaped in the HTML part
 * exactly as the template escapes them, as they are in the text part and the headers, for the
 * sender to splice. The strings of each recipient's email are byte-for-byte what
 * renderImmediateEmail gives (see immediate-cache.test.ts); its text and HTML are rendered only
 * if read, since the sender writes the prepared MIME and reads neither: a worker then keeps no
 * copy of an email's HTML while it waits for a connection. A link that the gate would rewrite or
 * drop (never one of ours) is rendered in full, without prepared MIME.
 */
export class ImmediateEmailCache {
  // Letters and digits only: no template, URL normalisation, escaping or encoding alters the slots.
  readonly #markers: Readonly<Record<Part, string>>;
  readonly #order: readonly string[];
  readonly #slots: RegExp;
  readonly #entries = new Map<string, Shared>();

  constructor(private readonly maxEntries = 32) {
    const id = () => crypto.randomBytes(8).toString('hex');
    this.#markers = {
      name: `tocsinname${id()}`,
      unsubscribe: `https://tocsin-slot.invalid/u${id()}`,
      mute: `https://tocsin-slot.invalid/m${id()}`,
      snooze: `https://tocsin-slot.invalid/s${id()}`,
      acknowledge: `https://tocsin-slot.invalid/a${id()}`,
    };
    this.#order = PARTS.map((p) => this.#markers[p]);
    this.#slots = new RegExp(this.#order.map((m) => m.replace(/[.:/]/g, '\\$&')).join('|'), 'g');
  }

  /** render returns renderImmediateEmail(view), reusing what the recipients of one alert share, with its prepared MIME. */
  render(view: ImmediateEmailView): RenderedEmail {
    const plain: Record<Part, string> = {
      name: greetingName(view.recipient.name),
      unsubscribe: view.links.unsubscribe ?? '',
      mute: view.alert.actions?.mute ?? '',
      snooze: view.alert.actions?.snooze ?? '',
      acknowledge: view.alert.actions?.acknowledge ?? '',
    };
    const links = ['unsubscribe', ...ACTIONS] as const;
    if (links.some((p) => plain[p] && httpUrl(plain[p]) !== plain[p])) return renderImmediateEmail(view);
    const actions = view.alert.actions;
    const slotted: ImmediateEmailView = {
      ...view,
      recipient: { ...view.recipient, name: plain.name ? this.#markers.name : undefined },
      links: { ...view.links, unsubscribe: plain.unsubscribe ? this.#markers.unsubscribe : plain.unsubscribe },
      alert: {
        ...view.alert,
        actions: actions && Object.fromEntries(ACTIONS.flatMap((a) => (actions[a] ? [[a, this.#markers[a]]] : []))),
      },
    };
    const key = JSON.stringify(slotted);
    let shared = this.#entries.get(key);
    if (shared) {
      // Maps iterate in insertion order: kept as the newest, the alert being sent stays.
      this.#entries.delete(key);
    } else {
      const email = renderImmediateEmail(slotted);
      shared = { subject: email.subject, headers: email.headers, mime: prepareMime(email, this.#order) };
      if (this.#entries.size >= this.maxEntries) this.#entries.delete(this.#entries.keys().next().value!);
    }
    this.#entries.set(key, shared);
    const values: SlotValue[] = PARTS.map((p) => ({ text: plain[p], html: Handlebars.escapeExpression(plain[p]) }));
    const byMarker = new Map(this.#order.map((m, i) => [m, values[i]!]));
    const fill = (s: string) => s.replace(this.#slots, (marker) => byMarker.get(marker)!.text);
    let full: RenderedEmail | undefined;
    const whole = () => {
      full ??= renderImmediateEmail(view);
      return full;
    };
    return {
      subject: shared.subject,
      get text() {
        return whole().text;
      },
      get html() {
        return whole().html;
      },
      headers: Object.fromEntries(Object.entries(shared.headers).map(([header, value]) => [header, fill(value)])),
      prepared: { template: shared.mime, values },
    };
  }
}
