import { createHash } from 'node:crypto';
import { v5 as uuidv5 } from 'uuid';
import type { Acknowledgement } from '../acknowledgements.js';
import type { ReadAlert } from '../store.js';
import { FilterSyntaxError } from './filter.js';

// Any fixed namespace will do: it only has to make UserNotificationId stable per user and alert.
const USER_NOTIFICATION_NAMESPACE = '6f1c2a52-3d0e-4f6b-9a59-6b1f3c3f2a10';

const UUID_HEX = /^[0-9a-f]{32}$/;
let lastMask: { readonly userId: string; readonly bytes: Buffer } | undefined;

/** notificationMask is what a reader's UserNotificationIds differ from the alerts' ids by: bits of a hash of the reader, a UUID's version and variant left as they are. */
function notificationMask(userId: string): Buffer {
  if (lastMask?.userId === userId) return lastMask.bytes;
  const bytes = createHash('sha256').update(`${USER_NOTIFICATION_NAMESPACE}/${userId}`).digest().subarray(0, 16);
  bytes[6]! &= 0x0f;
  bytes[8]! &= 0x3f;
  lastMask = { userId, bytes };
  return bytes;
}

/** maskedUuid is a UUID (lower case, with its dashes) with the reader's mask applied, or undefined for any other text. */
function maskedUuid(id: string, userId: string): string | undefined {
  const hex = id.replaceAll('-', '').toLowerCase();
  if (id.length !== 36 || !UUID_HEX.test(hex)) return undefined;
  const bytes = Buffer.from(hex, 'hex');
  const mask = notificationMask(userId);
  for (let i = 0; i < 16; i += 1) bytes[i]! ^= mask[i]!;
  const h = bytes.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/**
 * userNotificationId is the UserNotificationId of an alert for a reader (a user id, '' for the host
 * administrator): Orchestrator's per-user delivery row's id, which its API guide has MarkAsRead
 * take. Tocsin keeps no such rows, so it is the alert's id masked per reader: distinct per reader,
 * stable, and read back by alertIdOfNotification.
 */
function userNotificationId(alertId: string, userId: string): string {
  return maskedUuid(alertId, userId) ?? uuidv5(`${userId}/${alertId}`, USER_NOTIFICATION_NAMESPACE);
}

/** alertIdOfNotification is the alert a reader's UserNotificationId names (undefined for text that is no UUID); another reader's names no alert. */
export function alertIdOfNotification(notificationId: string, userId: string): string | undefined {
  return maskedUuid(notificationId, userId);
}

/** AlertDto is an alert in Orchestrator's shape (reference row 1). */
export interface AlertDto {
  NotificationName: string;
  /** The event context as a JSON string, as Orchestrator sends it. */
  Data: string;
  Component: string;
  Severity: string;
  CreationTime: string;
  State: 'Unread' | 'Read';
  UserNotificationId: string;
  DeepLinkRelativeUrl: string;
  Id: string;
}

/** ACKNOWLEDGEMENT_KEYS are the names under which Data carries an acknowledgement (toAlertDto). */
const ACKNOWLEDGEMENT_KEYS = ['AcknowledgedBy', 'AcknowledgedAt', 'acknowledgedBy', 'acknowledgedAt'] as const;

/**
 * toAlertDto maps an alert read by a caller to Orchestrator's AlertDto. Orchestrator keeps one
 * delivery row per user and alert; Tocsin has none, so UserNotificationId is derived from the
 * pair (see userNotificationId). An acknowledged flood's alerts carry `AcknowledgedBy`
 * `{UserId, Name}` and `AcknowledgedAt` in Data, Orchestrator having no field of its own for it,
 * and the Alert's own `acknowledgedBy` `{userId, name}` and `acknowledgedAt` beside them.
 */
export function toAlertDto(alert: ReadAlert, userId: string, acknowledgement?: Acknowledgement): AlertDto {
  const context: Record<string, unknown> = { ...alert.data, Message: alert.message };
  // Those names are Tocsin's, as Message is: the raiser's data under them made an alert nobody acknowledged read as acknowledged.
  for (const key of ACKNOWLEDGEMENT_KEYS) delete context[key];
  if (alert.source) context.Source = alert.source;
  if (alert.folder) context.Folder = alert.folder;
  if (acknowledgement) {
    const at = new Date(acknowledgement.at).toISOString();
    context.AcknowledgedBy = { UserId: acknowledgement.by.userId, Name: acknowledgement.by.name };
    context.AcknowledgedAt = at;
    // Also as API.md names them on the Alert, which it says Data carries: a script reads the same fields in both APIs.
    context.acknowledgedBy = { userId: acknowledgement.by.userId, name: acknowledgement.by.name };
    context.acknowledgedAt = at;
  }
  return {
    NotificationName: alert.event,
    Data: JSON.stringify(context),
    Component: alert.component,
    Severity: alert.severity,
    CreationTime: new Date(alert.createdAt).toISOString(),
    State: alert.read ? 'Read' : 'Unread',
    UserNotificationId: userNotificationId(alert.id, userId),
    DeepLinkRelativeUrl: `/alerts/deeplink/${encodeURIComponent(alert.event)}?alertId=${alert.id}`,
    Id: alert.id,
  };
}

const DTO_FIELDS: readonly (keyof AlertDto)[] = [
  'NotificationName',
  'Data',
  'Component',
  'Severity',
  'CreationTime',
  'State',
  'UserNotificationId',
  'DeepLinkRelativeUrl',
  'Id',
];

/**
 * parseSelect reads `$select` (`Id,Severity`, names in any case, `*` for all) into the AlertDto
 * fields to answer with, undefined for all; an unknown name throws FilterSyntaxError.
 */
export function parseSelect(value: string | undefined): (keyof AlertDto)[] | undefined {
  if (value === undefined || value.trim() === '' || value.trim() === '*') return undefined;
  return value.split(',').map((part) => {
    const field = DTO_FIELDS.find((f) => f.toLowerCase() === part.trim().toLowerCase());
    if (!field) throw new FilterSyntaxError(`cannot select "${part.trim()}"; use ${DTO_FIELDS.join(', ')}`, 0);
    return field;
  });
}

/** selectFields keeps the `$select`ed fields of an AlertDto, in AlertDto order (all when undefined). */
export function selectFields(dto: AlertDto, fields: readonly (keyof AlertDto)[] | undefined): Partial<AlertDto> {
  if (!fields) return dto;
  return Object.fromEntries(DTO_FIELDS.filter((f) => fields.includes(f)).map((f) => [f, dto[f]]));
}
