import type { Db } from '../storage/database.js';
import { type SecretBox, SecretDecryptError } from './secret-box.js';
import { savedSystemSecrets, secretOwner } from './mail-settings.js';
import { sourceSecretOwner } from '../sources/secrets.js';

/** How many of the most recently saved tenant SMTP secrets a start tries to open. */
const SAMPLE = 20;

/**
 * checkSecretKey tells whether `secretBox` opens the secrets saved (the most recently saved SMTP
 * passwords and tokens of the tenants, the sources' secrets, and the system default's password or
 * token, which every email of the tenants without their own server goes through): `other` when there are some and none opens,
 * as for a process started with another key (a data folder not kept, a backup restored without
 * its key, a second machine without TOCSIN_SECRET_KEY), where every email through them would fail
 * and every receive URL answer 503; `same` otherwise, including once they are saved again under
 * the key in use.
 */
export async function checkSecretKey(db: Db, secretBox: SecretBox): Promise<'same' | 'other'> {
  const rows = await db
    .selectFrom('tenant_mail_settings')
    .select(['tenant_id', 'custom_password', 'custom_access_token'])
    .where((eb) => eb.or([eb('custom_password', 'is not', null), eb('custom_access_token', 'is not', null)]))
    .orderBy('updated_at', 'desc')
    .limit(SAMPLE)
    .execute();
  const sourceSecrets = await db.selectFrom('source_secrets').select(['source_id', 'sealed']).orderBy('created_at', 'desc').limit(SAMPLE).execute();
  const saved: [sealed: string, owner: string][] = [
    ...rows.map((row): [string, string] =>
      row.custom_password !== null
        ? [row.custom_password, secretOwner.password(row.tenant_id)]
        : [row.custom_access_token!, secretOwner.accessToken(row.tenant_id)],
    ),
    ...sourceSecrets.map((row): [string, string] => [row.sealed, sourceSecretOwner(row.source_id)]),
    ...(await savedSystemSecrets(db)),
  ];
  if (saved.length === 0) return 'same';
  return saved.some(([sealed, owner]) => opens(secretBox, sealed, owner)) ? 'same' : 'other';
}

function opens(secretBox: SecretBox, sealed: string, owner: string): boolean {
  try {
    secretBox.open(sealed, owner);
    return true;
  } catch (err) {
    if (err instanceof SecretDecryptError) return false;
    throw err;
  }
}

/** OTHER_SECRET_KEY is what the start logs when checkSecretKey says `other`. */
export const OTHER_SECRET_KEY =
  "this process's secret key (TOCSIN_SECRET_KEY, else the data folder's secret.key) opens none of the SMTP passwords and source secrets saved in this database: " +
  "the passwords read as unset and the emails sent through them fail, and the sources' receive URLs answer 503; start every process with the key that saved them " +
  "(the same TOCSIN_SECRET_KEY everywhere, README: Scale-out; a restored backup's own key; a copy of the data folder's secret.key file, " +
  "whose contents set as TOCSIN_SECRET_KEY are a passphrase and give another key), or save the passwords again and rotate the sources' secrets";
