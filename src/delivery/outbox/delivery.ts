import type { EmailKind } from '../contract.js';
import { refusedAsTooLarge } from '../smtp/too-large.js';
import type { DeliveryPayload, DeliveryRecipient } from './enqueue.js';
import type { DeliveryStatus, OutboxTables } from './tables.js';

/** DeliveryRow is a `deliveries` row as stored. */
export type DeliveryRow = OutboxTables['deliveries'];

/** Delivery is one queued email as the worker and the composers see it. */
export interface Delivery {
  readonly id: string;
  readonly tenantId: string;
  readonly kind: EmailKind;
  readonly idempotencyKey: string;
  readonly recipient: DeliveryRecipient;
  readonly windowStart: number | null;
  readonly windowEnd: number | null;
  readonly payload: DeliveryPayload;
  readonly messageId: string;
  readonly status: DeliveryStatus;
  /** Attempts so far, counting the one in progress once claimed. */
  readonly attempts: number;
  readonly createdAt: number;
  readonly deadline: number | null;
  readonly leaseToken: string | null;
  /** Its last attempt was refused for its size (a message size limit): its composer renders it shorter. */
  readonly refusedAsTooLarge?: boolean;
}

/** toDelivery maps a stored row to a Delivery. */
export function toDelivery(row: DeliveryRow): Delivery {
  return {
    id: row.id,
    tenantId: row.tenant_id,
    kind: row.kind as EmailKind,
    idempotencyKey: row.idempotency_key,
    recipient: {
      address: row.recipient_address,
      name: row.recipient_name ?? undefined,
      language: row.recipient_language,
      timeZone: row.recipient_time_zone,
      userId: row.recipient_user_id ?? undefined,
      groupId: row.recipient_group_id ?? undefined,
    },
    windowStart: row.window_start,
    windowEnd: row.window_end,
    payload: JSON.parse(row.payload) as DeliveryPayload,
    messageId: row.message_id,
    status: row.status as DeliveryStatus,
    attempts: row.attempts,
    createdAt: row.created_at,
    deadline: row.deadline,
    leaseToken: row.lease_token,
    // Read from the last attempt's outcome (see attemptDelivery); only a refusal (5xx) is looked into.
    refusedAsTooLarge: row.last_code !== null && row.last_code >= 500 && refusedAsTooLarge(row.last_code, row.smtp_response ?? row.last_error),
  };
}
