/** DeliveryStatus is where one email is in its life: queued, being sent, waiting to retry, or done. */
export type DeliveryStatus = 'pending' | 'sending' | 'retrying' | 'sent' | 'failed';

/** DELIVERY_STATUSES lists every status, in the order of an email's life. */
export const DELIVERY_STATUSES: readonly DeliveryStatus[] = Object.freeze(['pending', 'sending', 'retrying', 'sent', 'failed']);

/** UNFINISHED_STATUSES are those of an email that is still to be sent (or being sent): its row may change. */
export const UNFINISHED_STATUSES: readonly DeliveryStatus[] = Object.freeze(['pending', 'sending', 'retrying']);

/** FINISHED_STATUSES are those of an email that is done with: nothing will send it or write its row again. */
export const FINISHED_STATUSES: readonly DeliveryStatus[] = Object.freeze(['sent', 'failed']);

/** AttemptOutcome is how one attempt ended; `sending` while it runs, `interrupted` when its worker died. */
export type AttemptOutcome = 'sending' | 'sent' | 'retry' | 'failed' | 'interrupted' | 'deferred';

/** OutboxTables are the durable outbox (`deliveries`, one row per email) and its attempt log. */
export interface OutboxTables {
  deliveries: {
    id: string;
    tenant_id: string;
    kind: string;
    /** Same key, same email: the unique (tenant_id, idempotency_key) makes enqueueing idempotent. */
    idempotency_key: string;
    recipient_address: string;
    recipient_name: string | null;
    recipient_language: string;
    recipient_time_zone: string;
    recipient_user_id: string | null;
    recipient_group_id: string | null;
    window_start: number | null;
    window_end: number | null;
    /** JSON: `{"rendered": RenderedEmail}` or `{"data": …}` for the kind's composer. */
    payload: string;
    /** Generated once at enqueue and reused on every attempt, so duplicates can be recognised downstream. */
    message_id: string;
    status: string;
    attempts: number;
    next_attempt_at: number;
    lease_owner: string | null;
    lease_token: string | null;
    lease_expires_at: number | null;
    last_error: string | null;
    last_code: number | null;
    smtp_response: string | null;
    created_at: number;
    sent_at: number | null;
    /** After this time a transient failure is final; null means created_at + the configured deadline. */
    deadline: number | null;
  };
  delivery_attempts: {
    id: string;
    delivery_id: string;
    tenant_id: string;
    /** 1 for the first attempt; matches `deliveries.attempts` when it started. */
    attempt: number;
    worker: string;
    started_at: number;
    finished_at: number | null;
    outcome: string;
    code: number | null;
    /** The server's reply, or the error text (never a secret). */
    response: string | null;
    duration_ms: number | null;
  };
}
