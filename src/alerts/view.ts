import { z } from 'zod';
import { fieldError } from '../http/problem.js';
import { CURSOR_MESSAGE, openCursor, signCursor } from '../shared/signed-cursor.js';
import { SEVERITIES } from './severity.js';
import type { Acknowledgement } from './acknowledgements.js';
import type { PanelEntry } from './panel.js';
import type { ListPosition, ReadAlert } from './store.js';

/** alertView is an Alert as API.md shows it: the input plus id, createdAt, read and its flood's acknowledgement (the OpenAPI document's schema). */
export const alertView = z.object({
  id: z.string(),
  severity: z.enum(SEVERITIES),
  component: z.string(),
  event: z.string(),
  message: z.string(),
  data: z.record(z.string(), z.unknown()).nullable(),
  // Its parts named, as AlertInput's: a client generated from a bare map of texts had none to read.
  source: z
    .object({ process: z.string(), robot: z.string(), machine: z.string(), queue: z.string(), job: z.string() })
    .partial()
    .nullable()
    .describe('Where the alert came from: the parts it was given, null when none was'),
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

/** POSITION is a list position written as text (positionText): the alert's createdAt and id. */
const POSITION = /^(\d{1,16})\.([\w-]{1,64})$/;

/** positionText writes a list position as the text a cursor signs. */
export function positionText(position: ListPosition): string {
  return `${position.createdAt}.${position.id}`;
}

/** positionOf reads positionText's text back, or undefined for any other text. */
export function positionOf(text: string): ListPosition | undefined {
  const match = POSITION.exec(text);
  return match ? { createdAt: Number(match[1]), id: match[2]! } : undefined;
}

/** encodeCursor turns a list position into the opaque `cursor` of the next page, signed for the tenant (signCursor). */
export function encodeCursor(key: Buffer, tenantId: string, position: ListPosition): string {
  return signCursor(key, tenantId, positionText(position));
}

/** decodeCursor reads a `cursor` back; anything this server did not hand out for this tenant is a 400 naming it. */
export function decodeCursor(key: Buffer, tenantId: string, cursor: string): ListPosition {
  const position = positionOf(openCursor(key, tenantId, cursor) ?? '');
  if (!position) throw fieldError('cursor', CURSOR_MESSAGE);
  return position;
}
