/** SourceTables are the tenants' inbound sources and what they received. */
export interface SourceTables {
  sources: {
    /** Random (UUIDv4): it is part of the public receive URL, so it must not be guessable. */
    id: string;
    tenant_id: string;
    /** Unique within the tenant. */
    name: string;
    /** orchestrator-webhook | orchestrator-pull | alertmanager | webhook */
    kind: string;
    enabled: number;
    /** The kind's mapping (JSON), defaults filled in. */
    mapping: string;
    /** The pull settings of an orchestrator-pull source (JSON) without its secrets. */
    pull: string | null;
    /** The upstream password, sealed by SecretBox for `source:<id>:pull-password`. */
    pull_password: string | null;
    /** The upstream OAuth client secret, sealed for `source:<id>:pull-client-secret`. */
    pull_client_secret: string | null;
    /** The pull connector's own state (cursor, lag), JSON; null until it first runs. */
    pull_state: string | null;
    last_received_at: number | null;
    accepted: number;
    rejected: number;
    /** Receptions ever logged; `receptions % RECEPTION_SLOTS` is the next slot of source_receptions. */
    receptions: number;
    last_error: string | null;
    last_error_at: number | null;
    created_at: number;
    updated_at: number;
  };
  /** At most two rows per source: the newest secret and the one before it, both accepted. */
  source_secrets: {
    id: string;
    source_id: string;
    /** Sealed by SecretBox for `source:<source id>:secret`. */
    sealed: string;
    created_at: number;
  };
  /** The last receptions of each source, as a ring of RECEPTION_SLOTS slots. */
  source_receptions: {
    source_id: string;
    slot: number;
    received_at: number;
    /** accepted | duplicate | ignored | rejected | invalid | unavailable */
    outcome: string;
    /** The HTTP status answered. */
    status: number;
    /** JSON array of the alert ids stored (or answered again for a duplicate). */
    alert_ids: string;
    error: string | null;
  };
  /** One row per delivery (event) id a source received: a redelivery answers these ids again. */
  source_deliveries: {
    source_id: string;
    delivery_id: string;
    tenant_id: string;
    alert_ids: string;
    received_at: number;
  };
}
