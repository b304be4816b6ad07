import { v5 as uuidv5 } from 'uuid';
import type { Acknowledgement } from '../acknowledgements.js';
import type { ReadAlert } from '../store.js';

// Any fixed namespace will do: it only has to make UserNotificationId stable per user and alert.
const USER_NOTIFICATION_NAMESPACE = '6f1c2a52-3d0e-4f6b-9a59-6b1f3c3f2a10';

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

/**
 * toAlertDto maps an alert read by a caller to Orchestrator's AlertDto. Orchestrator keeps one
 * delivery row per user and alert; Tocsin has none, so UserNotificationId is derived from the
 * pair (stable, and distinct per user). An acknowledged flood's alerts carry `AcknowledgedBy`
 * `{UserId, Name}` and `AcknowledgedAt` in Data, Orchestrator having no field of its own for it.
 */
export function toAlertDto(alert: ReadAlert, userId: string, acknowledgement?: Acknowledgement): AlertDto {
  const context: Record<string, unknown> = { ...alert.data, Message: alert.message };
  if (alert.source) context.Source = alert.source;
  if (alert.folder) context.Folder = alert.folder;
  if (acknowledgement) {
    context.AcknowledgedBy = { UserId: acknowledgement.by.userId, Name: acknowledgement.by.name };
    context.AcknowledgedAt = new Date(acknowledgement.at).toISOString();
  }
  return {
    NotificationName: alert.event,
    Data: JSON.stringify(context),
    Component: alert.component,
    Severity: alert.severity,
    CreationTime: new Date(alert.createdAt).toISOString(),
    State: alert.read ? 'Read' : 'Unread',
    UserNotificationId: uuidv5(`${userId}/${alert.id}`, USER_NOTIFICATION_NAMESPACE),
    DeepLinkRelativeUrl: `/alerts/deeplink/${encodeURIComponent(alert.event)}?alertId=${alert.id}`,
    Id: alert.id,
  };
}
