import type { Kysely } from 'kysely';

/** The stored SMTP JSON's fields this migration reads (`allowPlaintextAuth` absent before 2026-11-29 23:38). */
interface OlderSmtp {
  security?: string;
  username?: string | null;
  authMethod?: string;
  allowPlaintextAuth?: boolean;
}

/**
 * keptInClear is the stored JSON with `allowPlaintextAuth: true` when it was saved before the field
 * existed and signs in over `security: none` (what Tocsin then did), else null (left as it is).
 */
function keptInClear(json: string, hasSecret: boolean): string | null {
  const smtp = JSON.parse(json) as OlderSmtp;
  if ('allowPlaintextAuth' in smtp || smtp.security !== 'none' || smtp.authMethod === 'none') return null;
  if (!smtp.username && !hasSecret) return null;
  return JSON.stringify({ ...smtp, allowPlaintextAuth: true });
}

/**
 * SMTP settings saved before `allowPlaintextAuth` existed (2026-11-29 23:38) signed in over a
 * connection without TLS when their security was `none`; the sender now refuses that unless the
 * settings allow it, so after an upgrade every email of such a tenant (those queued before it
 * too) failed for good and its mail stopped. Those settings, a tenant's custom ones and the saved
 * system default, now say so explicitly, as if allowed when saved: nobody's mail stops, and the
 * Mail tab shows the choice, which its administrator may undo. Other settings are left as they are.
 */
export async function up(db: Kysely<any>): Promise<void> {
  const tenants = await db
    .selectFrom('tenant_mail_settings')
    .select(['tenant_id', 'custom_smtp', 'custom_password', 'custom_access_token'])
    .where('custom_smtp', 'is not', null)
    .execute();
  for (const row of tenants) {
    const smtp = keptInClear(row.custom_smtp as string, row.custom_password !== null || row.custom_access_token !== null);
    if (smtp !== null) await db.updateTable('tenant_mail_settings').set({ custom_smtp: smtp }).where('tenant_id', '=', row.tenant_id).execute();
  }
  const system = await db.selectFrom('host_settings').select('value').where('key', '=', 'system-mail-settings').executeTakeFirst();
  if (!system) return;
  const saved = JSON.parse(system.value as string) as { smtp: string; password: string | null; accessToken: string | null };
  const smtp = keptInClear(saved.smtp, saved.password !== null || saved.accessToken !== null);
  if (smtp !== null)
    await db
      .updateTable('host_settings')
      .set({ value: JSON.stringify({ ...saved, smtp }) })
      .where('key', '=', 'system-mail-settings')
      .execute();
}
