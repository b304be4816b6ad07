import type { Kysely, Transaction } from 'kysely';
import type { AccessTables } from '../access/tables.js';
import type { AlertTables } from '../alerts/tables.js';
import type { OutboxTables } from '../delivery/outbox/tables.js';
import type { MuteTables } from '../mutes/tables.js';
import type { PreferenceTables } from '../preferences/tables.js';
import type { ReportTables } from '../reports/tables.js';
import type { MailSettingsTables } from '../settings/tables.js';
import type { SourceTables } from '../sources/tables.js';
import type { HostTables } from './host-tables.js';

/**
 * Database is the whole schema as Kysely sees it: each domain declares its own tables in a
 * `tables.ts` beside its code, and this interface joins them.
 */
export interface Database
  extends HostTables,
    AccessTables,
    AlertTables,
    OutboxTables,
    PreferenceTables,
    ReportTables,
    MailSettingsTables,
    MuteTables,
    SourceTables {}

/** Db is a Kysely handle on the schema, or a transaction on it. */
export type Db = Kysely<Database> | Transaction<Database>;
