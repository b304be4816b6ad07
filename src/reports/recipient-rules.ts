import { idempotencyKey } from '../delivery/idempotency-key.js';
import type { Delivery } from '../delivery/outbox/delivery.js';
import type { NewDelivery } from '../delivery/outbox/enqueue.js';
import { isSubscribed } from '../preferences/model.js';
import { type Recipient, wantsKind } from '../recipients/eligibility.js';
import type { EventCount, FatalFlood, FloodAlert } from './alert-facts.js';
import type { Window } from './windows.js';

/** ReportData is what a report delivery stores for its composer: whose email it is, and for an immediate one, which alert. */
export interface ReportData {
  readonly recipient: { readonly type: 'user' | 'group'; readonly id: string };
  readonly alertId?: string;
  readonly groupId?: string;
}

function subscribedToAny(recipient: Recipient, events: readonly EventCount[]): boolean {
  return events.some((e) => isSubscribed(recipient.preferences, e.component, e.event));
}

/**
 * getsWindowReport decides whether a recipient gets the summary or daily report of a window:
 * it wants that kind, and the window holds an alert it subscribes to (for the summary, `events`
 * are already only Fatal and Error), or the tenant asked for "all quiet" daily reports.
 */
export function getsWindowReport(recipient: Recipient, kind: 'summary' | 'daily', events: readonly EventCount[], sendEmptyDaily: boolean): boolean {
  if (!wantsKind(recipient, kind)) return false;
  return subscribedToAny(recipient, events) || (kind === 'daily' && sendEmptyDaily);
}

/** getsImmediate decides whether a recipient gets the immediate email of a Fatal alert. */
export function getsImmediate(recipient: Recipient, alert: Pick<FloodAlert, 'component' | 'event'>): boolean {
  return wantsKind(recipient, 'immediate') && isSubscribed(recipient.preferences, alert.component, alert.event);
}

/** windowDelivery is the outbox row of a summary or daily report for one recipient. */
export function windowDelivery(tenantId: string, kind: 'summary' | 'daily', window: Window, recipient: Recipient): NewDelivery {
  const data: ReportData = { recipient: { type: recipient.type, id: recipient.id } };
  return {
    tenantId,
    kind,
    idempotencyKey: idempotencyKey(kind, tenantId, window.start, recipient.address),
    recipient: deliveryRecipient(recipient),
    windowStart: window.start,
    windowEnd: window.end,
    data,
  };
}

/** immediateDelivery is the outbox row of the immediate email of one Fatal flood for one recipient, about one of its alerts (its first by default). */
export function immediateDelivery(tenantId: string, flood: Pick<FatalFlood, 'groupId' | 'alertId'>, recipient: Recipient): NewDelivery {
  const data: ReportData = { recipient: { type: recipient.type, id: recipient.id }, alertId: flood.alertId, groupId: flood.groupId };
  return {
    tenantId,
    kind: 'immediate',
    idempotencyKey: idempotencyKey('immediate', tenantId, flood.groupId, recipient.address),
    recipient: deliveryRecipient(recipient),
    data,
  };
}

/**
 * idempotencyKeyAt is the idempotency key a queued report email would have been decided under for
 * another address: the same window's report, or the same Fatal flood's email (as windowDelivery and
 * immediateDelivery key them), for the reader's new address.
 */
export function idempotencyKeyAt(delivery: Pick<Delivery, 'tenantId' | 'kind' | 'windowStart'>, data: ReportData, address: string): string {
  const about = delivery.kind === 'immediate' ? data.groupId : delivery.windowStart;
  if (about === undefined || about === null) throw new Error(`a ${delivery.kind} email names no ${delivery.kind === 'immediate' ? 'flood' : 'window'}`);
  return idempotencyKey(delivery.kind, delivery.tenantId, about, address);
}

function deliveryRecipient(recipient: Recipient) {
  return {
    address: recipient.address,
    name: recipient.name,
    language: recipient.language,
    timeZone: recipient.timeZone,
    ...(recipient.type === 'user' ? { userId: recipient.id } : { groupId: recipient.id }),
  };
}
