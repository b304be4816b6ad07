import type { SecretBox } from '../settings/secret-box.js';
import type { Clock } from '../shared/clock.js';
import { addressTag } from '../shared/sealed-token.js';
import { type ActionGrant, type ActionKind, openActionToken, sealActionToken } from './token.js';

/** AlertActionUrls are the action links of one alert line or event row; absent ones are not offered. */
export interface AlertActionUrls {
  readonly mute?: string | undefined;
  readonly snooze?: string | undefined;
  readonly acknowledge?: string | undefined;
}

/** ActionRecipient is whom a link is for: a user of a tenant at one address, and whether it may mute for everyone. */
export interface ActionRecipient {
  readonly tenantId: string;
  readonly userId: string;
  /** The mailbox the email goes to: the link works only while it is still the user's address. */
  readonly address: string;
  /** Holds Alerts.Edit: only then is "mute for everyone" offered. */
  readonly canMute: boolean;
}

/** ActionSubject is what a line stands for: one alert (and its flood), or one event of the daily report. */
export type ActionSubject = { readonly alertId: string } | { readonly event: { readonly component: string; readonly event: string } };

const ALL_KINDS: readonly ActionKind[] = ['mute', 'snooze', 'acknowledge'];

/** ACTION_KEY_PURPOSE names the key the links are sealed with, derived from TOCSIN_SECRET_KEY. */
const ACTION_KEY_PURPOSE = 'email-action-links';

/**
 * ActionLinks makes and opens the `/actions/{token}` links of alert emails: one sealed token per
 * recipient, line and action, valid for `lifetimeMs` from when the email is composed.
 */
export class ActionLinks {
  readonly #key: Buffer;

  constructor(
    secretBox: SecretBox,
    private readonly publicUrl: string,
    private readonly lifetimeMs: number,
    private readonly clock: Clock,
  ) {
    this.#key = secretBox.deriveKey(ACTION_KEY_PURPOSE);
  }

  /**
   * urlsFor gives a recipient's links for one line: snooze always, mute with Alerts.Edit, acknowledge
   * for an alert; of those, only the `kinds` asked for (a daily report's source still failing offers
   * "I'm on it" alone: its mute or snooze would be of one alert, where its event row offers the event's).
   */
  urlsFor(recipient: ActionRecipient, subject: ActionSubject, kinds: readonly ActionKind[] = ALL_KINDS): AlertActionUrls {
    const expiresAt = this.clock.now() + this.lifetimeMs;
    const grant = { tenantId: recipient.tenantId, userId: recipient.userId, ...subject, expiresAt, addressTag: addressTag(recipient.address) };
    const url = (action: ActionKind) => (kinds.includes(action) ? `${this.publicUrl}/actions/${sealActionToken(this.#key, { ...grant, action })}` : undefined);
    return {
      mute: recipient.canMute ? url('mute') : undefined,
      snooze: url('snooze'),
      acknowledge: 'alertId' in subject ? url('acknowledge') : undefined,
    };
  }

  /** open returns the grant of a genuine, unexpired token, else undefined. */
  open(token: string): ActionGrant | undefined {
    return openActionToken(this.#key, token, this.clock.now());
  }
}
