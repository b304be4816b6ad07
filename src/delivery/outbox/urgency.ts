import { sql } from 'kysely';
import type { EmailKind } from '../contract.js';

/**
 * URGENT_KINDS are the emails that go before any other due one, in a claim (leases.ts) and among
 * the rows a worker holds for a free slot (admission.ts): a Fatal alert's, promised within seconds,
 * and the mail-health notices that say mail is failing. Ordered by due time alone, one queued at
 * 10:00:30 waited for every daily report due at 10:00 (50,000 of them on a large host: minutes).
 */
const URGENT_KINDS: readonly EmailKind[] = ['immediate', 'mail-health'];

/** isUrgentKind says whether an email of this kind goes first (URGENT_KINDS). */
export function isUrgentKind(kind: EmailKind): boolean {
  return URGENT_KINDS.includes(kind);
}

/**
 * isUrgent is URGENT_KINDS as a condition on `deliveries`, written with literals: with isUnfinished
 * it is the `deliveries_due_urgent` partial index's predicate, which SQLite uses only for a query
 * repeating it.
 */
export const isUrgent = sql<boolean>`${sql.ref('kind')} in (${sql.raw(URGENT_KINDS.map((kind) => `'${kind}'`).join(', '))})`;
