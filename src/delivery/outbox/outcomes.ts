import { newId } from '../../shared/ids.js';
import { asStage } from '../../storage/errors.js';
import { CompiledQuery } from 'kysely';
import { SMTP_STAGES } from '../contract.js';
import type { Dialect } from '../../storage/dialect.js';
import type { MailHealthSignal } from '../../mail-health/model.js';
import type { Db } from '../../storage/database.js';
import type { Storage } from '../../storage/storage.js';
import type { AttemptOutcome } from './tables.js';

/**
 * FAILURE_STAGES are where an attempt can fail, for tocsin_delivery_failures_total: the SMTP
 * dialogue's stages, the tenant's mail settings (a password that no longer decrypts), the email's
 * render, or this process itself (no file descriptor for the socket: LocalSendError).
 */
export const FAILURE_STAGES = [...SMTP_STAGES, 'settings', 'render', 'local'] as const;
/** FailureStage is one of FAILURE_STAGES. */
export type FailureStage = (typeof FAILURE_STAGES)[number];

/** AttemptResult is how one claimed attempt ended, ready to be written. */
export type AttemptResult = (
  | {
      readonly status: 'sent';
      readonly response: string;
      /** The Message-ID as sent, under the From address's domain (see bindMessageIds); left out, the row's stays. */
      readonly messageId?: string | undefined;
    }
  | {
      readonly status: 'retrying' | 'failed';
      readonly nextAttemptAt?: number;
      readonly error: string;
      /** Where it failed, as an operator alerts on it (auth: the credentials; recipient: one address). */
      readonly stage: FailureStage;
      readonly code?: number | undefined;
      readonly response?: string | undefined;
      /** The Message-ID of a message that may have arrived (bindMessageIds), kept for its resend; left out, the row's stays. */
      readonly messageId?: string | undefined;
    }
) & {
  /** What the attempt says about the tenant's mail server, when it says something. */
  readonly health?: MailHealthSignal | undefined;
};

/** FinishedAttempt is one attempt's result with the claim it belongs to. */
export interface FinishedAttempt {
  readonly deliveryId: string;
  readonly tenantId: string;
  readonly leaseToken: string;
  /** Which attempt at the delivery this was (1 for the first), and the worker that made it. */
  readonly attempt: number;
  readonly worker: string;
  /** When the attempt began: the row's claim (or its lease at insert). */
  readonly claimedAt: number;
  /** When the send itself started, and when the server's answer (or the failure) came. */
  readonly startedAt: number;
  readonly finishedAt: number;
  readonly result: AttemptResult;
}

const ATTEMPT_OUTCOME: Record<AttemptResult['status'], AttemptOutcome> = { sent: 'sent', retrying: 'retry', failed: 'failed' };

type SqlType = 'text' | 'bigint' | 'integer';

/**
 * valuesList writes `(cast(p as t1), …), …` for `rows` rows of the given column types,
 * with the dialect's placeholders. Casts type PostgreSQL's parameters
 * (SQLite accepts the same); the columns are `column1`, `column2`… on both.
 */
function valuesList(dialect: Dialect, types: readonly SqlType[], rows: number): string {
  let n = 1;
  const param = () => (dialect === 'postgres' ? `$${n++}` : '?');
  return Array.from({ length: rows }, () => `(${types.map((t) => `cast(${param()} as ${t})`).join(', ')})`).join(', ');
}

/** A delivery row's id, lease token and result columns, in the update's order. */
const RESULT_TYPES: readonly SqlType[] = ['text', 'text', 'text', 'bigint', 'bigint', 'text', 'integer', 'text', 'text'];
const ATTEMPT_COLUMNS = ['id', 'delivery_id', 'tenant_id', 'attempt', 'worker', 'started_at', 'finished_at', 'outcome', 'code', 'response', 'duration_ms'];
const ATTEMPT_TYPES: readonly SqlType[] = ['text', 'text', 'text', 'integer', 'text', 'bigint', 'bigint', 'text', 'integer', 'text', 'integer'];

/**
 * The two statements of a group commit for `rows` attempts, written once per dialect and size:
 * built through Kysely's query builder, their many parameters cost more CPU than the database's
 * own work (one node per value, compiled anew for every commit).
 */
const recordSql = new Map<string, { update: string; insert: string }>();

function recordStatements(dialect: Dialect, rows: number): { update: string; insert: string } {
  const key = `${dialect}:${rows}`;
  let statements = recordSql.get(key);
  if (!statements) {
    statements = {
      // One row of results per delivery, joined by id: the row changes only while its lease token matches.
      update:
        'update deliveries set status = v.column3, sent_at = v.column4, next_attempt_at = v.column5, last_error = v.column6, ' +
        'last_code = v.column7, smtp_response = v.column8, message_id = coalesce(v.column9, deliveries.message_id), ' +
        'lease_owner = null, lease_token = null, lease_expires_at = null ' +
        `from (values ${valuesList(dialect, RESULT_TYPES, rows)}) as v ` +
        'where deliveries.id = v.column1 and deliveries.lease_token = v.column2 returning deliveries.id',
      // Only for rows still there: a tenant deleted while its email was at the server took its rows
      // with it, and its attempt's foreign key would refuse the whole batch, the other tenants' results
      // with it (their emails then sent again once their leases ran out).
      insert:
        `insert into delivery_attempts (${ATTEMPT_COLUMNS.join(', ')}) ` +
        `select ${ATTEMPT_COLUMNS.map((_, i) => `v.column${i + 1}`).join(', ')} from (values ${valuesList(dialect, ATTEMPT_TYPES, rows)}) as v ` +
        'where exists (select 1 from deliveries where deliveries.id = v.column2)',
    };
    // A few sizes are common; any size is correct, so the kept texts are only bounded.
    if (recordSql.size > 1_000) recordSql.clear();
    recordSql.set(key, statements);
  }
  return statements;
}

/**
 * AfterRecord runs in the transaction that records a batch, with the attempts whose lease held:
 * what must change with them, atomically (the tenants' mail health). It may return what to do
 * once that transaction has committed (AfterCommit: log what changed), which the AttemptRecorder
 * runs then, and only then: a commit retried runs AfterRecord again, one that failed never commits.
 */
export type AfterRecord = (tx: Db, recorded: readonly FinishedAttempt[]) => Promise<AfterCommit | undefined>;

/** AfterCommit is what an AfterRecord leaves to do after its commit; it must not throw. */
export type AfterCommit = () => void;

/**
 * recordAttempts writes finished attempts in one transaction of two statements, whatever their
 * number (a group commit: one fsync for all the sends that finished together): the delivery rows'
 * results, and the attempt log's rows, inserted whole. A delivery row
 * changes only where (id, lease_token) still match, so a worker that lost its lease cannot
 * overwrite the new owner's work; the attempt itself is logged either way, because it happened,
 * unless its row is gone with its tenant (then it counts as lost).
 * Returns the ids whose lease was lost; those of them whose row is gone with its tenant are also
 * added to `gone` when given. A failure is the record stage's StorageUnavailableError
 * (the recorder tries again) or StorageRejectedError.
 */
export async function recordAttempts(storage: Storage, attempts: readonly FinishedAttempt[], afterRecord?: AfterRecord, gone?: Set<string>): Promise<string[]> {
  if (attempts.length === 0) return [];
  const failure = (a: FinishedAttempt) => (a.result.status === 'sent' ? undefined : a.result);

  const updated = await asStage('record', () =>
    storage.db.transaction().execute(async (tx) => {
      const { update, insert } = recordStatements(storage.dialect, attempts.length);
      const { rows } = await tx.executeQuery<{ id: string }>(
        CompiledQuery.raw(
          update,
          attempts.flatMap((a) => {
            const failed = failure(a);
            return [
              a.deliveryId,
              a.leaseToken,
              a.result.status,
              a.result.status === 'sent' ? a.finishedAt : null,
              // When a retry is due; a finished row's is never read again.
              failed?.nextAttemptAt ?? a.finishedAt,
              failed?.error ?? null,
              failed?.code ?? null,
              a.result.response ?? null,
              a.result.messageId ?? null,
            ];
          }),
        ),
      );
      // A late answer of a worker that lost its lease replaces the `interrupted` its takeover logged.
      const kept = new Set(rows.map((r) => r.id));
      const late = attempts.filter((a) => !kept.has(a.deliveryId));
      let present = new Set<string>();
      if (late.length > 0) {
        // Which of them are still there: the others went with their tenant, lost to nobody.
        const still = await tx
          .selectFrom('deliveries')
          .select('id')
          .where(
            'id',
            'in',
            late.map((a) => a.deliveryId),
          )
          .execute();
        present = new Set(still.map((r) => r.id));
        await tx
          .deleteFrom('delivery_attempts')
          .where('outcome', '=', 'interrupted')
          .where((eb) => eb.or(late.map((a) => eb.and([eb('delivery_id', '=', a.deliveryId), eb('attempt', '=', a.attempt)]))))
          .execute();
      }
      // The attempt log gets its row now, whole: nothing is written for an attempt while it runs.
      await tx.executeQuery(
        CompiledQuery.raw(
          insert,
          attempts.flatMap((a) => [
            newId(),
            a.deliveryId,
            a.tenantId,
            a.attempt,
            a.worker,
            a.claimedAt,
            a.finishedAt,
            ATTEMPT_OUTCOME[a.result.status],
            a.result.status === 'sent' ? codeOf(a.result.response) : (a.result.code ?? null),
            a.result.status === 'sent' ? a.result.response : (a.result.response ?? a.result.error),
            Math.max(0, a.finishedAt - a.startedAt),
          ]),
        ),
      );
      if (afterRecord) {
        await afterRecord(
          tx,
          attempts.filter((a) => kept.has(a.deliveryId)),
        );
      }
      return { rows, present };
    }),
  );
  const kept = new Set(updated.rows.map((r) => r.id));
  const lost = attempts.filter((a) => !kept.has(a.deliveryId)).map((a) => a.deliveryId);
  for (const id of lost) if (!updated.present.has(id)) gone?.add(id);
  return lost;
}

/**
 * transientFailuresOf counts a row's attempts that its server failed for now (`retry`), the steps
 * of the retry ladder it has climbed; interrupted attempts are not among them.
 */
export async function transientFailuresOf(storage: Storage, deliveryId: string): Promise<number> {
  const row = await storage.db
    .selectFrom('delivery_attempts')
    .select((eb) => eb.fn.countAll<number | string>().as('n'))
    .where('delivery_id', '=', deliveryId)
    .where('outcome', '=', 'retry')
    .executeTakeFirst();
  return Number(row?.n ?? 0);
}

/** codeOf reads the reply code at the start of an SMTP reply such as `250 2.0.0 Ok`. */
function codeOf(reply: string): number | null {
  const match = /^(\d{3})\b/.exec(reply.trim());
  return match ? Number(match[1]) : null;
}
