import type { EmailKind, RenderedEmail } from '../contract.js';
import { newId } from '../../shared/ids.js';
import type { Db } from '../../storage/database.js';
import { type DeliveryPayload, type DeliveryRecipient, recipientColumns } from './enqueue.js';

/** DirectOutcome is how a send made outside the queue ended. */
export type DirectOutcome =
  | { readonly status: 'sent'; readonly response: string }
  | {
      readonly status: 'failed';
      readonly error: string;
      readonly code?: number | undefined;
      /** The server's refusal verbatim, when it answered. */
      readonly response?: string | undefined;
    };

/**
 * DirectSend is an email sent synchronously, outside the queue, because its caller waits for the
 * server's answer (Test Mail Settings); it is recorded so the delivery log shows it like any other.
 */
export interface DirectSend {
  /**
   * The row's id, taken when the send started (the one its Message-ID was made from, as for a
   * queued email): the log lists by id, newest first, so a slow send sits where it began.
   */
  readonly id: string;
  readonly tenantId: string;
  readonly kind: EmailKind;
  readonly recipient: DeliveryRecipient;
  readonly rendered: RenderedEmail;
  readonly messageId: string;
  readonly startedAt: number;
  readonly finishedAt: number;
  readonly outcome: DirectOutcome;
}

/**
 * recordDirectSend writes a finished delivery row and its one attempt, and what `inCommit` writes
 * with them (what the send tells of the tenant's mail health). The row is born `sent` or
 * `failed`, so no worker ever claims it: recording never sends anything again.
 */
export async function recordDirectSend(db: Db, send: DirectSend, inCommit?: (tx: Db) => Promise<void>): Promise<string> {
  const id = send.id;
  const outcome = send.outcome;
  const payload: DeliveryPayload = { rendered: send.rendered };
  const code = outcome.status === 'failed' ? (outcome.code ?? null) : Number(outcome.response.slice(0, 3)) || null;
  const text = outcome.status === 'sent' ? outcome.response : outcome.error;
  await db.transaction().execute(async (tx) => {
    await tx
      .insertInto('deliveries')
      .values({
        id,
        tenant_id: send.tenantId,
        kind: send.kind,
        idempotency_key: `direct:${id}`,
        ...recipientColumns(send.recipient),
        window_start: null,
        window_end: null,
        payload: JSON.stringify(payload),
        message_id: send.messageId,
        status: outcome.status,
        attempts: 1,
        next_attempt_at: send.startedAt,
        last_error: outcome.status === 'failed' ? outcome.error : null,
        // The row's code is a failure's, as the workers write it; the attempt keeps the 250.
        last_code: outcome.status === 'failed' ? code : null,
        // As the workers write it: the reply to the accepted send, or the last failure's reply.
        smtp_response: outcome.response ?? null,
        created_at: send.startedAt,
        sent_at: outcome.status === 'sent' ? send.finishedAt : null,
        deadline: send.finishedAt,
      })
      .execute();
    await tx
      .insertInto('delivery_attempts')
      .values({
        id: newId(),
        delivery_id: id,
        tenant_id: send.tenantId,
        attempt: 1,
        worker: 'direct',
        started_at: send.startedAt,
        finished_at: send.finishedAt,
        outcome: outcome.status,
        code,
        response: text,
        duration_ms: send.finishedAt - send.startedAt,
      })
      .execute();
    await inCommit?.(tx);
  });
  return id;
}
