import { afterEach, expect, it } from 'vitest';
import { ROUTE_MODULES } from './route-modules.js';
import { routesFor, startTocsin } from './server.js';
import { ADMIN_TOKEN, type TestApp, startTestApp } from '../test/support/http.js';
import { captureWarnings } from '../test/support/log-capture.js';
import { loadConfig } from './config.js';
import { opsRoutes } from './ops/routes.js';
import { describeEachDialect } from '../test/support/storage.js';

it('gives a worker only the operations routes, and api and all every route', async () => {
  expect(await routesFor('worker')).toEqual([opsRoutes]);
  expect(await routesFor('api')).toBe(ROUTE_MODULES);
  expect(await routesFor('all')).toBe(ROUTE_MODULES);
});

describeEachDialect('tocsin serve --role', (dialect) => {
  let app: TestApp | undefined;
  afterEach(async () => {
    await app?.close();
    app = undefined;
  });

  it('worker answers health, readiness and metrics, and nothing of the API', async () => {
    app = await startTestApp(dialect, { TOCSIN_ROLE: 'worker' });
    expect((await app.call('GET', '/healthz', undefined, '')).statusCode).toBe(200);
    expect((await app.call('GET', '/readyz', undefined, '')).statusCode).toBe(200);
    expect((await app.call('GET', '/metrics', undefined, '')).statusCode).toBe(200);
    const tenants = await app.call('GET', '/api/v1/tenants');
    expect(tenants.statusCode).toBe(404);
    expect(tenants.headers['content-type']).toContain('application/problem+json');
  });

  it('api serves the API', async () => {
    app = await startTestApp(dialect, { TOCSIN_ROLE: 'api' });
    expect((await app.call('GET', '/api/v1/tenants')).statusCode).toBe(200);
  });
});

it('takes PORT=0 as any free port, and names that port in the public URL of links and receive URLs', async () => {
  const app = await startTestApp('sqlite', { PORT: '0', HOST: '127.0.0.1' }, { listen: true });
  try {
    const url = app.tocsin.url!;
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(url).not.toMatch(/:0$/);
    expect(app.tocsin.deps.config.publicUrl).toBe(url);
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
    await app.call('POST', '/api/v1/tenants', { name: 'port-zero' });
    const source = (await app.call('POST', '/api/v1/tenants/port-zero/sources', { name: 'hook', kind: 'webhook' })).json();
    expect(source.url.startsWith(`${url}/api/v1/sources/`)).toBe(true);
  } finally {
    await app.close();
  }
  // A public URL that was given stays as it is.
  const given = await startTestApp('sqlite', { PORT: '0', TOCSIN_PUBLIC_URL: 'https://alerts.example.com' }, { listen: true });
  try {
    expect(given.tocsin.deps.config.publicUrl).toBe('https://alerts.example.com');
  } finally {
    await given.close();
  }
});

describeEachDialect('a system default SMTP saved in System mail settings', (dialect) => {
  it('is named at start-up, in a warning and in place of TOCSIN_SMTP_URL or the catcher, which it is used instead of', async () => {
    // Saved once (console or PUT), it is what every email goes through, restart after restart; the start
    // said nothing of it and named TOCSIN_SMTP_URL all the same, so an operator who changed the variable
    // read the new server in the banner and saw the emails still go to the saved one.
    const app = await startTestApp(dialect, { TOCSIN_SMTP_URL: 'smtps://ops:first-pw@first.example.com' });
    const { databaseUrl, dataDir } = app.tocsin.deps.config;
    const restart = async (env: Record<string, string>) => {
      const { log, entries } = captureWarnings();
      const config = loadConfig({ DATABASE_URL: databaseUrl, TOCSIN_DATA_DIR: dataDir, TOCSIN_ADMIN_TOKEN: ADMIN_TOKEN, LOG_LEVEL: 'silent', ...env });
      const tocsin = await startTocsin(config, { listen: false, logger: log, mailCatcher: false });
      await tocsin.close();
      return { tocsin, warnings: entries.map((e) => e.msg) };
    };
    try {
      const unsaved = await restart({ TOCSIN_SMTP_URL: 'smtps://ops:second-pw@second.example.com' });
      expect(unsaved.tocsin.systemSmtpSaved).toBeUndefined();
      expect(unsaved.warnings.filter((w) => w.includes('System mail settings'))).toEqual([]);

      const saved = await app.call('PUT', '/api/v1/system/mail-settings', {
        host: 'saved.example.com',
        port: 587,
        security: 'starttls',
        username: 'ops',
        password: 'saved-pw',
        fromAddress: 'alerts@example.com',
      });
      expect(saved.statusCode).toBe(200);
      const shadowed = await restart({ TOCSIN_SMTP_URL: 'smtps://ops:second-pw@second.example.com' });
      expect(shadowed.tocsin.systemSmtpSaved).toBe('smtp://saved.example.com:587');
      expect(shadowed.warnings).toContain(
        'the system default SMTP saved in System mail settings (smtp://saved.example.com:587) is used, not TOCSIN_SMTP_URL (smtps://ops:***@second.example.com): change or replace the saved one there (PUT /api/v1/system/mail-settings)',
      );
      expect(shadowed.warnings.join('\n')).not.toMatch(/pw/);
    } finally {
      await app.close();
    }
  });
});
