import { EMAIL_CHOICE_OF, applyPatch } from '../../preferences/model.js';
import { loadLayers, saveLayer } from '../../preferences/store.js';
import type { Clock } from '../../shared/clock.js';
import { multiMap } from '../../shared/multi-map.js';
import { isAddressTagOf } from '../../shared/sealed-token.js';
import { emailKey, emailKeys, sameMailbox } from '../../shared/validation.js';
import type { Db } from '../../storage/database.js';
import { classifyDbError } from '../../storage/errors.js';
import { lockTransactionOn } from '../../storage/transaction-lock.js';
import type { SealedTarget, UnsubscribeTarget } from './token.js';

/** recipientRow reads a link's recipient in its tenant: its address now (a group's may have none), or undefined once it is gone. */
async function recipientRow(db: Db, tenantId: string, recipient: { readonly type: 'user' | 'group'; readonly id: string }) {
  const table = recipient.type === 'group' ? 'groups' : 'users';
  return db.selectFrom(table).select('email').where('tenant_id', '=', tenantId).where('id', '=', recipient.id).executeTakeFirst();
}

/**
 * addressedTarget is a link's target with its address: the one it carries (links sealed before
 * v4), or its recipient's address now when that is still the one the link was sent to (its
 * addressTag); undefined otherwise, as for whoever reads a former address of the recipient.
 */
export async function addressedTarget(db: Db, sealed: SealedTarget): Promise<UnsubscribeTarget | undefined> {
  const { recipient } = sealed;
  if (!('addressTag' in recipient)) return { ...sealed, recipient };
  const address = (await recipientRow(db, sealed.tenantId, recipient))?.email;
  if (!address || !isAddressTagOf(recipient.addressTag, address)) return undefined;
  return { ...sealed, recipient: { type: recipient.type, id: recipient.id, address } };
}

/**
 * recipientExists tells whether a link's recipient is still in its tenant: the group, or the user
 * still at the address the link was sent to. Whoever reads a user's former address (a mailbox
 * handed on) must not turn that user's reports off. A group's link turns off only its own address.
 */
export async function recipientExists(db: Db, target: UnsubscribeTarget): Promise<boolean> {
  const { tenantId, recipient } = target;
  const row = await recipientRow(db, tenantId, recipient);
  if (recipient.type === 'group') return row !== undefined;
  // Compared as the addresses are, not through the stored email_key: rows older than its normalisation keep theirs.
  return row?.email != null && sameMailbox(row.email, recipient.address);
}

/** GROUP_EMAIL_KINDS are the emails a group mailbox receives, each of which its one-click links can turn off. */
export const GROUP_EMAIL_KINDS = ['summary', 'daily', 'immediate'] as const;

/** GroupEmailKind is one of GROUP_EMAIL_KINDS. */
export type GroupEmailKind = (typeof GROUP_EMAIL_KINDS)[number];

/**
 * USER_OPT_OUT_KINDS are the emails whose one-click opt-out is recorded against a user's address,
 * no preference of its own holding them: the mail-health notices. (Its alert emails are choices of
 * its alert preferences, where applySubscription puts them.)
 */
export const USER_OPT_OUT_KINDS = ['mail-health'] as const;

/**
 * optOutsUnder gathers what a mailbox opted out of from `recorded` (by key): an opt-out is recorded
 * against the mailbox as emailKey spells it, whatever the case and the spelling of its domain
 * (Unicode or punycode), and found under every key its address may be kept under (emailKeys), as
 * those recorded before were kept under the address in lower case only.
 */
export function optOutsUnder<T>(recorded: (key: string) => readonly T[] | undefined, address: string): T[] {
  return emailKeys(address).flatMap((key) => recorded(key) ?? []);
}

/**
 * addressOptOuts reads which of `kinds` each of a tenant's addresses opted out of, so that an
 * administrator sees a mailbox (a group's, or a user's for the mail-health notices) whose mail
 * stopped because anyone reading it pressed Unsubscribe. It answers a lookup by address, in any
 * case: those opted out of, in the order of `kinds`, none for an address not read or none at all.
 */
export async function addressOptOuts<K extends string>(
  db: Db,
  tenantId: string,
  addresses: readonly (string | null)[],
  kinds: readonly K[],
): Promise<(address: string | null) => K[]> {
  const keys = [...new Set(addresses.flatMap((address) => (address === null ? [] : emailKeys(address))))];
  const rows =
    keys.length === 0
      ? []
      : await db
          .selectFrom('email_unsubscribes')
          .select(['address_key', 'kind'])
          .where('tenant_id', '=', tenantId)
          .where('address_key', 'in', keys)
          .where('kind', 'in', [...kinds])
          .execute();
  const found = multiMap(rows.map((row) => [row.address_key, row.kind] as const));
  return (address) => {
    const off = address === null ? [] : optOutsUnder((key) => found.get(key), address);
    return kinds.filter((kind) => off.includes(kind));
  };
}

/**
 * setAddressOptOuts makes `off` the ones of `kinds` an address is opted out of, as an administrator
 * sets them on its group or user, or a link's page for one kind: those of `kinds` left out are
 * turned back on, as the confirmation page's button does; other kinds are left as they are.
 */
export async function setAddressOptOuts<K extends string>(
  db: Db,
  tenantId: string,
  address: string,
  kinds: readonly K[],
  off: readonly K[],
  clock: Clock,
): Promise<void> {
  const address_key = emailKey(address);
  const back = kinds.filter((kind) => !off.includes(kind));
  if (back.length > 0) {
    await db
      .deleteFrom('email_unsubscribes')
      .where('tenant_id', '=', tenantId)
      .where('address_key', 'in', emailKeys(address))
      .where('kind', 'in', back)
      .execute();
  }
  if (off.length > 0) {
    await db
      .insertInto('email_unsubscribes')
      .values([...new Set(off)].map((kind) => ({ tenant_id: tenantId, address_key, kind, created_at: clock.now() })))
      .onConflict((oc) => oc.columns(['tenant_id', 'address_key', 'kind']).doNothing())
      .execute();
  }
}

/**
 * optedOut tells whether an address took the one-click unsubscribe of a kind of email (a group
 * mailbox's, or the mail-health notices'), as recorded by applySubscription.
 */
export async function optedOut(db: Db, tenantId: string, address: string, kind: string): Promise<boolean> {
  const found = await db
    .selectFrom('email_unsubscribes')
    .select('kind')
    .where('tenant_id', '=', tenantId)
    .where('address_key', 'in', emailKeys(address))
    .where('kind', '=', kind)
    .executeTakeFirst();
  return found !== undefined;
}

/**
 * unsubscribed tells whether what a link turns off is off already: a user's choice in its own
 * preferences (as applySubscription sets it), else the opt-out recorded against the address.
 */
export async function unsubscribed(db: Db, target: UnsubscribeTarget): Promise<boolean> {
  const { tenantId, recipient, kind } = target;
  const choice = EMAIL_CHOICE_OF[kind];
  if (recipient.type === 'group' || !choice) return optedOut(db, tenantId, recipient.address, kind);
  return (await loadLayers(db, 'user_alert_preferences', [recipient.id])).get(recipient.id)?.email[choice] === false;
}

/**
 * applySubscription turns one kind of email off (`subscribed` false) or back on for one recipient
 * and says whether the recipient still exists. A user's choice of an alert email goes into its own
 * preferences (where it can also be changed); a group mailbox's, and an administrator's of the
 * mail-health notices (which no preference holds), is an opt-out recorded against the address,
 * which turning back on removes. Doing either twice changes nothing more.
 */
export async function applySubscription(db: Db, target: UnsubscribeTarget, clock: Clock, subscribed: boolean): Promise<boolean> {
  const { tenantId, recipient, kind } = target;
  const choice = EMAIL_CHOICE_OF[kind];
  if (!(await recipientExists(db, target))) return false;
  try {
    if (recipient.type === 'group' || !choice) {
      await setAddressOptOuts(db, tenantId, recipient.address, [kind], subscribed ? [] : [kind], clock);
      return true;
    }
    await db.transaction().execute(async (tx) => {
      // Two links of one user taken at once (its summary's and its Fatal email's) each change one choice of the same row.
      await lockTransactionOn(tx, `preferences:${recipient.id}`);
      const current = (await loadLayers(tx, 'user_alert_preferences', [recipient.id])).get(recipient.id);
      await saveLayer(tx, 'user_alert_preferences', tenantId, recipient.id, applyPatch(current, { email: { [choice]: subscribed } }), clock);
    });
    return true;
  } catch (err) {
    // Refused for what it refers to: the recipient (or its tenant) deleted meanwhile is gone, as a moment later.
    if (classifyDbError(err) === 'foreign-key' && !(await recipientExists(db, target))) return false;
    throw err;
  }
}
