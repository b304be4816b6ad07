/** ReportTables are the decided windows of the alert emails and the group mailboxes' opt-outs. */
export interface ReportTables {
  /** A group mailbox that used its one-click unsubscribe link for one kind of email. */
  email_unsubscribes: { tenant_id: string; address_key: string; kind: string; created_at: number };
  /** One row per (tenant, kind, window start) decided; the key makes a window go out once. */
  report_windows: {
    tenant_id: string;
    kind: string;
    window_start: number;
    window_end: number;
    deliveries: number;
    decided_at: number;
  };
  /**
   * A Fatal alert whose immediate email is not decided yet: inserted with the alert, deleted by the
   * decision, so the decider's sweep finds the decisions a crash lost.
   */
  undecided_fatal_alerts: { alert_id: string; tenant_id: string; created_at: number };
  /**
   * When a tenant's summary or daily windows next need a look: the next window end (plus the
   * settle delay), 0 for "now" after a change, or a claiming scheduler's lease while it decides.
   */
  report_schedule: { tenant_id: string; kind: string; due_at: number };
}
