import crypto from 'node:crypto';
import { z } from 'zod';
import { findComponent } from '../../alerts/catalogue.js';
import { type AlertInput, MAX_BATCH } from '../../alerts/input.js';
import { parseSeverity } from '../../alerts/severity.js';
import { ALERTMANAGER_DEFAULTS, type SourceMapping } from '../model.js';
import { zodIssueFieldErrors } from '../../http/problem.js';
import { type MappedAlerts, type MappingFailure, applyOverride, clip, cut, deliveryKey, eventName, fits, instantOf, mappingFailure } from './shared.js';

const labels = z.record(z.string(), z.string());

/**
 * alertmanagerPayload is Alertmanager's webhook body, version 4 (reference §3.1 [D]); fields
 * Tocsin does not read are let through, newer senders add some (notification_reason, routeLabels).
 */
const alertmanagerPayload = z.object({
  version: z.literal('4', { error: 'must be "4" (Alertmanager\'s webhook format)' }),
  groupKey: z.string().optional(),
  status: z.string().optional(),
  receiver: z.string().optional(),
  externalURL: z.string().optional(),
  truncatedAlerts: z.number().int().nonnegative().optional().catch(undefined),
  // No count limit: a group refused whole would be lost (Alertmanager retries no 4xx); the body's
  // 1 MB bounds it, and mapAlertmanager keeps the first MAX_BATCH of it.
  alerts: z.array(
    z.object({
      status: z.enum(['firing', 'resolved']),
      labels,
      annotations: labels.optional(),
      startsAt: z.string().optional(),
      endsAt: z.string().optional(),
      generatorURL: z.string().optional(),
      fingerprint: z.string().max(200).optional(),
    }),
  ),
});

// Alertmanager writes "0001-01-01T00:00:00Z" for an alert that has not ended: no time.
const time = (value: string | undefined) => {
  const ms = instantOf(value);
  return ms === undefined ? undefined : new Date(ms).toISOString();
};

const fingerprintOf = (set: Record<string, string>) =>
  crypto
    .createHash('sha256')
    .update(JSON.stringify(Object.entries(set).sort(([a], [b]) => (a < b ? -1 : 1))))
    .digest('hex')
    .slice(0, 16);

/**
 * mapAlertmanager turns an Alertmanager notification into one alert per `alerts[]` item: severity
 * from the mapping's label (critical or page→Fatal … by default, else a Tocsin severity's own
 * name), component and event from labels, the
 * message from the summary, description or message annotation, the fingerprint as dedupKey so flood control
 * collapses repeats; a resolved alert is a Success alert for the same key. Each alert is keyed by
 * its episode (fingerprint, startsAt, status), not the notification by the set of them: retries and
 * HA copies are no-ops, and so are the alerts Alertmanager sends again when another alert joins or
 * leaves their group (the whole group is re-sent), while a new episode alerts again (reference §3.1 [I]).
 * Of a group larger than MAX_BATCH, the first MAX_BATCH alerts are kept, as Alertmanager's own
 * max_alerts would; each alert's data counts the alerts cut here and by the sender (truncatedAlerts).
 * Such a mapping also gives `allKeys`, the key of every alert of the group: mapped again with those
 * `received` before, it keeps the first MAX_BATCH not received before, so that the alerts cut from
 * one delivery are stored when Alertmanager sends the group again.
 */
export function mapAlertmanager(
  body: unknown,
  _rawText: string,
  mapping: SourceMapping,
  received?: ReadonlySet<string>,
): (MappedAlerts & { allKeys?: readonly string[] }) | MappingFailure {
  const parsed = alertmanagerPayload.safeParse(body);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    return mappingFailure(zodIssueFieldErrors(issue));
  }
  const payload = parsed.data;
  const m = { ...ALERTMANAGER_DEFAULTS, ...mapping };
  // Label values are matched in any case, so the mapping's keys are too: `{"P1": "Fatal"}` is
  // what people write for `priority="P1"`, and the label's value is lowered below.
  const severities = new Map(Object.entries(m.severities).map(([value, severity]) => [value.toLowerCase(), severity]));
  const alerts: AlertInput[] = [];
  const alertKeys: string[] = [];
  let ignored = 0;
  const over = payload.alerts.length > MAX_BATCH;
  // Of a group too large to keep whole, the alerts not received before go first: those a first
  // delivery cut are stored when Alertmanager sends the group again (it sends it whole each time).
  const order =
    over && received
      ? [...payload.alerts.filter((a) => !received.has(episodeKey(a))), ...payload.alerts.filter((a) => received.has(episodeKey(a)))]
      : payload.alerts;
  const kept = order.slice(0, MAX_BATCH);
  const truncated = (payload.truncatedAlerts ?? 0) + payload.alerts.length - kept.length;
  for (const item of kept) {
    const annotations = item.annotations ?? {};
    const fingerprint = fingerprintOfItem(item);
    const level = labelOf(item.labels, m.severityLabel).trim().toLowerCase();
    // A label naming one of Tocsin's own severities (severity="fatal", "warn") is that severity.
    const severity = severities.get(level) ?? parseSeverity(level) ?? m.defaultSeverity;
    const component = findComponent(labelOf(item.labels, m.componentLabel))?.name ?? m.defaultComponent;
    const alertname = labelOf(item.labels, m.eventLabel);
    const event = eventName(alertname, 'Alertmanager.Alert');
    const resolved = applyOverride({ severity, component, alert: true }, m.events, alertname, event);
    if (!resolved.alert) {
      ignored += 1;
      continue;
    }
    // kube-prometheus's rules of before 2020 (and many copied from them) have only `message`.
    const text = annotations.summary || annotations.description || annotations.message || `${alertname || 'Alert'} ${item.status}`;
    const isResolved = item.status === 'resolved';
    const occurredAt = time(isResolved ? item.endsAt : item.startsAt);
    const instance = item.labels.instance;
    alerts.push({
      severity: isResolved ? 'Success' : resolved.severity,
      component: resolved.component,
      event,
      message: clip(isResolved ? `Resolved: ${text}` : text),
      data: dataOf(item, fingerprint, payload, truncated),
      ...(instance ? { source: { machine: cut(instance, 512) } } : {}),
      dedupKey: fingerprint.slice(0, 256),
      ...(occurredAt ? { occurredAt } : {}),
    });
    alertKeys.push(episodeKey(item));
  }
  // The key of every alert of a group that was cut, to learn which were received before (`received`).
  return { alerts, deliveryKeys: [], alertKeys, ignored, ...(over && !received ? { allKeys: payload.alerts.map(episodeKey) } : {}) };
}

type Item = z.infer<typeof alertmanagerPayload>['alerts'][number];

const fingerprintOfItem = (item: Item) => item.fingerprint || fingerprintOf(item.labels);

/** episodeKey keys an alert by its episode: (fingerprint, startsAt, status). */
const episodeKey = (item: Item) => deliveryKey('episode', `${fingerprintOfItem(item)}:${item.startsAt ?? ''}:${item.status}`);

/** labelOf is an alert's own label of that name, else empty: a mapping may name `constructor`, which every object inherits. */
function labelOf(labels: Readonly<Record<string, string>>, name: string): string {
  return Object.hasOwn(labels, name) ? labels[name]! : '';
}

type Notification = z.infer<typeof alertmanagerPayload>;

/**
 * dataOf keeps an alert's labels, annotations and links, without the annotations when they are too
 * large, and how many alerts of its group were cut when some were.
 */
function dataOf(item: Notification['alerts'][number], fingerprint: string, payload: Notification, truncated: number): Record<string, unknown> {
  const data: Record<string, unknown> = {
    status: item.status,
    fingerprint,
    startsAt: item.startsAt ?? null,
    endsAt: item.endsAt ?? null,
    generatorURL: item.generatorURL ?? null,
    receiver: payload.receiver ?? null,
    groupKey: payload.groupKey ?? null,
    externalURL: payload.externalURL ?? null,
    ...(truncated > 0 ? { truncatedAlerts: truncated } : {}),
    labels: item.labels,
    annotations: item.annotations ?? {},
  };
  if (fits(data)) return data;
  const { annotations: _dropped, ...rest } = data;
  return fits(rest) ? { ...rest, note: 'annotations too large to keep' } : { status: item.status, fingerprint, note: 'labels too large to keep' };
}
