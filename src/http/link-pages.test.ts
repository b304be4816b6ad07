import { describe, expect, it } from 'vitest';
import { startTestApp } from '../../test/support/http.js';
import { TEST_PG_URL } from '../../test/support/storage.js';
import { proxyFor, viaProxy } from '../../test/support/tcp-proxy.js';
import { ActionLinks } from '../actions/links.js';
import { UnsubscribeLinks } from '../reports/unsubscribe/links.js';

// An outage is a connection cut between Tocsin and PostgreSQL (openapi-answers.test.ts cuts one the same way).
describe.runIf(TEST_PG_URL)("the pages of an email's links while the database cannot be reached", () => {
  it("tell a person's browser in its language to try again (503 with Retry-After), and a script the problem", async () => {
    const proxy = await proxyFor(TEST_PG_URL!);
    const t = await startTestApp('postgres', {}, {}, { reach: (url) => viaProxy(url, proxy) });
    try {
      const { tenantId, userId, email } = await t.tenantWithUser('outage');
      const [alert] = (await t.call('POST', '/api/v1/tenants/outage/alerts', { severity: 'Fatal', component: 'Jobs', message: 'Job faulted' })).json<{
        ids: string[];
      }>().ids;
      const deps = t.tocsin.deps;
      const actions = new ActionLinks(deps.secretBox, deps.config.publicUrl, 3_600_000, deps.clock);
      const links = actions.urlsFor({ tenantId, userId, address: email, canMute: true }, { alertId: alert! });
      const unsubscribe = await new UnsubscribeLinks(deps.storage.db, deps.config.publicUrl, deps.clock).url({
        tenantId,
        kind: 'daily',
        recipient: { type: 'user', id: userId, address: email },
      });
      const paths = [links.acknowledge!, links.snooze!, unsubscribe].map((url) => new URL(url).pathname);
      proxy.cut();
      for (const path of paths) {
        for (const method of ['GET', 'POST'] as const) {
          const browser = await t.tocsin.app.inject({ method, url: path, headers: { accept: 'text/html,*/*', 'accept-language': 'fr-FR,fr;q=0.9' } });
          expect(browser.statusCode, `${method} ${path}`).toBe(503);
          expect(browser.headers['retry-after'], `${method} ${path}`).toBe('5');
          expect(browser.headers['content-type'], `${method} ${path}`).toBe('text/html; charset=utf-8');
          expect(browser.headers['content-security-policy'], `${method} ${path}`).toContain("frame-ancestors 'none'");
          expect(browser.body, `${method} ${path}`).toContain('<html lang="fr">');
          expect(browser.body, `${method} ${path}`).toContain('Tocsin ne peut pas répondre pour le moment');
          const script = await t.tocsin.app.inject({ method, url: path });
          expect(script.statusCode, `${method} ${path}`).toBe(503);
          expect(script.headers['content-type'], `${method} ${path}`).toBe('application/problem+json; charset=utf-8');
        }
      }
    } finally {
      proxy.restore();
      await t.close();
      await proxy.close();
    }
  });
});
