/** AlertTables are the stored alerts, each user's read state, acknowledgements and the audit of actions on alerts. */
export interface AlertTables {
  alerts: {
    /** UUIDv7, so ids also sort by creation. */
    id: string;
    tenant_id: string;
    /** The severity's rank (Info 0 … Fatal 4), so that the ladder is a range. */
    severity: number;
    component: string;
    event: string;
    message: string;
    /** JSON object as text, at most 16 KiB. */
    data: string | null;
    /** JSON `{process?, robot?, machine?, queue?, job?}` as text. */
    source: string | null;
    folder: string | null;
    dedup_key: string | null;
    /**
     * The id of the first alert of a flood: alerts sharing a dedup key, each within the flood
     * window of the previous one, share it. Null for alerts without a dedup key (a flood of one).
     */
    group_id: string | null;
    occurred_at: number;
    /** When Tocsin stored it; windows, pagination and retention go by this time. */
    created_at: number;
  };
  /**
   * alert_kind_hours holds, for each hour (created_at / HOUR_MS) in which a tenant stored an alert,
   * one row per severity, component and event of those alerts (kind-hours.ts): a superset of what
   * the alerts hold, never missing a stored alert's kind and hour.
   */
  alert_kind_hours: {
    tenant_id: string;
    hour: number;
    severity: number;
    component: string;
    event: string;
  };
  /** alert_time_floor's one row (id 1): no alert is stamped before the end of a report window judged (time-floor.ts). */
  alert_time_floor: { id: number; not_before: number };
  /** alert_read_marks holds each reader's "read everything created up to" watermark. */
  alert_read_marks: {
    user_id: string;
    tenant_id: string;
    read_through: number;
  };
  /** alert_read_state holds the exceptions to the watermark: 1 read, 0 unread. */
  alert_read_state: {
    user_id: string;
    alert_id: string;
    tenant_id: string;
    read: number;
  };
  /** host_alert_read_marks holds the host administrator's watermark in each tenant, as alert_read_marks a user's. */
  host_alert_read_marks: {
    tenant_id: string;
    read_through: number;
  };
  /** host_alert_read_state holds the exceptions to the host administrator's watermark (an alert has one tenant): 1 read, 0 unread. */
  host_alert_read_state: {
    alert_id: string;
    tenant_id: string;
    read: number;
  };
  /** alert_acknowledgements: one "I'm on it" per flood (group id; a lone alert's own id). */
  alert_acknowledgements: {
    tenant_id: string;
    group_id: string;
    /** A user's id, or `host` for the host administrator. */
    user_id: string;
    /** The name at the time, so it still reads after the user is gone. */
    user_name: string;
    acknowledged_at: number;
  };
  /** alert_action_audit lists who acknowledged, muted, snoozed or lifted what, and when. */
  alert_action_audit: {
    /** UUIDv7, so ids sort by time. */
    id: string;
    tenant_id: string;
    user_id: string;
    user_name: string;
    action: string;
    /** `api` or `email` (an email's action link). */
    via: string;
    /** JSON object: what was acted on. */
    detail: string;
    at: number;
  };
}
