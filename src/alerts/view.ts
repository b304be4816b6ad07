import crypto from 'node:crypto';
import { z } from 'zod';
import { fieldError } from '../http/problem.js';
import { SEVERITIES } from './severity.js';
import type { Acknowledgement } from './acknowledgements.js';
import type { ListPosition, PanelEntry, ReadAlert } from './store.js';

/** alertView is an Alert as API.md shows it: the input plus id, createdAt, read and its flood's acknowledgement (the OpenAPI document's schema). */
export const alertView = z.object({
  id: z.string(),
  severity: z.enum(SEVERITIES),
  component: z.string(),
  event: z.string(),
  message: z.string(),
  data: z.record(z.string(), z.unknown()).nullable(),
  source: z.record(z.string(), z.string()).nullable().describe('{process?, robot?, machine?, queue?, job?}'),
  folder: z.string().nullable(),
  dedupKey: z.string().nullable(),
  groupId: z.string().describe('The flood the alert belongs to (id of its first alert)'),
  occurredAt: z.iso.datetime(),
  createdAt: z.iso.datetime(),
  read: z.boolean().describe('For the caller'),
  acknowledgedBy: z.object({ userId: z.string(), name: z.string() }).nullable(),
  acknowledgedAt: z.iso.datetime().nullable(),
});

/** AlertView is an Alert as the API answers it. */
export type AlertView = z.infer<typeof alertView>;

/** panelEntryView is the schema of a panel line: an alert and how many unread alerts its flood holds. */
export const panelEntryView = alertView.extend({ count: z.number().int(), firstCreatedAt: z.iso.datetime(), lastCreatedAt: z.iso.datetime() });

/** unreadView is the answer of the unread count and of marking alerts read or unread. */
export const unreadView = z.object({ unread: z.number().int() });

const iso = (ms: number) => new Date(ms).toISOString();

/** showAlert maps an alert read by a caller, with its flood's acknowledgement if any, to the API's shape. */
export function showAlert(alert: ReadAlert, acknowledgement: Acknowledgement | undefined): AlertView {
  return {
    id: alert.id,
    severity: alert.severity,
    component: alert.component,
    event: alert.event,
    message: alert.message,
    data: alert.data,
    source: alert.source,
    folder: alert.folder,
    dedupKey: alert.dedupKey,
    groupId: alert.groupId,
    occurredAt: iso(alert.occurredAt),
    createdAt: iso(alert.createdAt),
    read: alert.read,
    acknowledgedBy: acknowledgement ? { userId: acknowledgement.by.userId, name: acknowledgement.by.name } : null,
    acknowledgedAt: acknowledgement ? iso(acknowledgement.at) : null,
  };
}

/** showPanelEntry is a panel line: the alert plus how many unread alerts its flood holds. */
export function showPanelEntry(entry: PanelEntry, acknowledgement: Acknowledgement | undefined) {
  return { ...showAlert(entry, acknowledgement), count: entry.count, firstCreatedAt: iso(entry.firstCreatedAt), lastCreatedAt: iso(entry.lastCreatedAt) };
}

/** CURSOR_KEY_PURPOSE names the key (SecretBox.deriveKey) that signs the list's cursors. */
export const CURSOR_KEY_PURPOSE = 'alert-list-cursor';

/** cursorMac signs a position for one tenant: 16 bytes of HMAC-SHA256, in base64url (22 characters). */
function cursorMac(key: Buffer, tenantId: string, position: string): string {
  return crypto.createHmac('sha256', key).update(`${tenantId}\n${position}`).digest().subarray(0, 16).toString('base64url');
}

/**
 * encodeCursor turns a list position into the opaque `cursor` of the next page, signed for the
 * tenant (`key` from SecretBox.deriveKey(CURSOR_KEY_PURPOSE)), so that decodeCursor can tell one it
 * handed out from one altered or forged, or handed out in another tenant.
 */
export function encodeCursor(key: Buffer, tenantId: string, position: ListPosition): string {
  const text = `${position.createdAt}.${position.id}`;
  return Buffer.from(`${text}.${cursorMac(key, tenantId, text)}`).toString('base64url');
}

/** decodeCursor reads a `cursor` back; anything this server did not hand out for this tenant is a 400. */
export function decodeCursor(key: Buffer, tenantId: string, cursor: string): ListPosition {
  const text = Buffer.from(cursor, 'base64url').toString();
  const match = /^((\d{1,16})\.([\w-]{1,64}))\.([\w-]{22})$/.exec(text);
  const mac = match && Buffer.from(match[4]!);
  const expected = match && Buffer.from(cursorMac(key, tenantId, match[1]!));
  // The text must also be what this cursor's base64url gives back: a changed last character can decode to the same bytes.
  if (!match || !mac || !expected || !crypto.timingSafeEqual(mac, expected) || Buffer.from(text).toString('base64url') !== cursor) {
    throw fieldError('cursor', 'must be a nextCursor returned by a previous page');
  }
  return { createdAt: Number(match[2]), id: match[3]! };
}
