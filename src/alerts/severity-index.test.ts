import { sql } from 'kysely';
import { expect, it } from 'vitest';
import { newAlert } from '../../test/support/alerts.js';
import { insertTestTenant } from '../../test/support/outbox-fixtures.js';
import { describeEachDialect, openTestStorage } from '../../test/support/storage.js';
import { SEVERITIES } from './severity.js';
import { insertAlerts } from './store.js';

const T0 = Date.parse('2026-03-01T10:00:00Z');

describeEachDialect("a tenant's alerts by severity", (dialect) => {
  it.runIf(dialect === 'postgres')(
    'are indexed in pages about as full as the alerts by time on PostgreSQL, each commit of every severity going on at one place per rank',
    async () => {
      // A storage of its own: the pages counted are this test's alerts' alone.
      const storage = await openTestStorage(dialect);
      try {
        const tenantId = await insertTestTenant(storage.db, 'by-severity');
        // Commits as robots' batches make them: the severities interleaved, one alert in ten of a dedup key.
        for (let commit = 0; commit < 40; commit++) {
          const alerts = Array.from({ length: 250 }, (_, i) =>
            newAlert({
              severity: SEVERITIES[(commit + i) % SEVERITIES.length]!,
              component: 'Robots',
              event: 'Process.RaiseAlert',
              message: `job ${commit}-${i} faulted`,
              ...(i % 10 === 0 ? { dedupKey: `robot-${i % 20}` } : {}),
            }),
          );
          await insertAlerts(storage.db, tenantId, alerts, T0 + commit * 1_000);
        }
        const { rows } = await sql<{ severity: string; created: string }>`
          select sum(pg_relation_size(c.oid)) filter (where c.relname like 'alerts\\_tenant\\_severity%') as severity,
            sum(pg_relation_size(c.oid)) filter (where c.relname = 'alerts_tenant_created') as created
          from pg_index i join pg_class c on c.oid = i.indexrelid
          where i.indrelid = 'alerts'::regclass`.execute(storage.db);
        // One index led by the severity, taking each commit at five places, kept its leaves 56 %
        // full: about twice the pages of alerts_tenant_created (2.0 times here).
        expect(Number(rows[0]!.severity) / Number(rows[0]!.created)).toBeLessThan(1.3);
      } finally {
        await storage.close();
      }
    },
  );
});
