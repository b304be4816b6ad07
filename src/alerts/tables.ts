/** AlertTables are the stored alerts and each user's read state. */
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
}
