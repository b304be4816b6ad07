import type { TocsinMigration } from '../migrate.js';

/**
 * MIGRATIONS lists every migration, one line each, by the name recorded in the database (the
 * file's name without extension, so databases migrated before this list existed see no change).
 * Kysely applies them in name order. A static list, rather than a folder scan, is what lets the
 * compiled build in `dist/` find them; add a line here for each new file.
 */
export const MIGRATIONS: Readonly<Record<string, () => Promise<TocsinMigration>>> = {
  '20261127-01-host-and-access': () => import('./20261127-01-host-and-access.js'),
  '20261127-02-alerts-store': () => import('./20261127-02-alerts-store.js'),
  '20261127-20-delivery-outbox': () => import('./20261127-20-delivery-outbox.js'),
  '20261127-30-settings-mail': () => import('./20261127-30-settings-mail.js'),
  '20261127-50-reports-preferences-and-windows': () => import('./20261127-50-reports-preferences-and-windows.js'),
  '20261129-60-alerts-acknowledgements-mutes-audit': () => import('./20261129-60-alerts-acknowledgements-mutes-audit.js'),
  '20261129-61-settings-existing-tenants-keep-alerts-email': () => import('./20261129-61-settings-existing-tenants-keep-alerts-email.js'),
  '20261130-60-reports-undecided-fatal-alerts': () => import('./20261130-60-reports-undecided-fatal-alerts.js'),
  '20261130-61-reports-schedule': () => import('./20261130-61-reports-schedule.js'),
  '20261130-70-sources': () => import('./20261130-70-sources.js'),
  '20261130-90-reports-unsubscribe-legacy-links': () => import('./20261130-90-reports-unsubscribe-legacy-links.js'),
  '20261130-95-settings-mail-health': () => import('./20261130-95-settings-mail-health.js'),
  '20261130-96-delivery-attempts-by-time': () => import('./20261130-96-delivery-attempts-by-time.js'),
  '20261130-97-alerts-tenant-checked-per-batch': () => import('./20261130-97-alerts-tenant-checked-per-batch.js'),
  '20261201-10-alerts-time-floor': () => import('./20261201-10-alerts-time-floor.js'),
  '20261201-20-deliveries-by-age': () => import('./20261201-20-deliveries-by-age.js'),
  '20261202-10-alerts-time-floor-plpgsql': () => import('./20261202-10-alerts-time-floor-plpgsql.js'),
  '20261202-20-deliveries-by-recipient': () => import('./20261202-20-deliveries-by-recipient.js'),
  '20261203-10-settings-test-mail-turns': () => import('./20261203-10-settings-test-mail-turns.js'),
  '20261203-20-settings-older-plaintext-auth-kept': () => import('./20261203-20-settings-older-plaintext-auth-kept.js'),
  '20261205-10-alerts-host-read-state': () => import('./20261205-10-alerts-host-read-state.js'),
  '20261205-30-settings-daily-report-time-changed-at': () => import('./20261205-30-settings-daily-report-time-changed-at.js'),
  '20261205-50-settings-system-test-mail-turns': () => import('./20261205-50-settings-system-test-mail-turns.js'),
  '20261206-10-deliveries-urgent-due': () => import('./20261206-10-deliveries-urgent-due.js'),
  '20261207-10-alerts-by-severity': () => import('./20261207-10-alerts-by-severity.js'),
  '20261207-20-deliveries-by-kind': () => import('./20261207-20-deliveries-by-kind.js'),
  '20261207-30-alerts-floods-at-begin': () => import('./20261207-30-alerts-floods-at-begin.js'),
  '20261207-40-alerts-dedup-newest': () => import('./20261207-40-alerts-dedup-newest.js'),
  '20261207-50-alerts-floods-at-begin-withdrawn': () => import('./20261207-50-alerts-floods-at-begin-withdrawn.js'),
  '20261207-60-alerts-by-severity-per-rank': () => import('./20261207-60-alerts-by-severity-per-rank.js'),
  '20261207-70-alerts-kind-hours': () => import('./20261207-70-alerts-kind-hours.js'),
  '20261208-10-deliveries-failed': () => import('./20261208-10-deliveries-failed.js'),
  '20261208-20-keys-in-byte-order': () => import('./20261208-20-keys-in-byte-order.js'),
  '20261208-30-deliveries-due-by-id': () => import('./20261208-30-deliveries-due-by-id.js'),
};
