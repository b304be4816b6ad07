// S2 black-box: a tenant per probe server; Test Mail Settings and one Fatal-immediately email each.
import { adminApi } from './api.mjs';
import fs from 'node:fs';
const OUT = process.env.OUT ?? '/tmp/secur';
const [base, prefix] = [process.argv[2], process.argv[3]];
const call = adminApi(base);
const servers = JSON.parse(fs.readFileSync(`${OUT}/s2.json`, 'utf8'));
const results = {};
for (const [name, s] of Object.entries(servers)) {
  const tn = `${prefix}-${name}`;
  await call('POST', '/api/v1/tenants', { name: tn });
  const T = `/api/v1/tenants/${tn}`;
  const custom = {
    host: 'localhost',
    port: s.port,
    security: name.startsWith('tls-') ? 'tls' : 'starttls',
    username: 'robot',
    password: 'S2-pass-91ab',
    authMethod: 'plain',
    fromAddress: `a@${tn}.example.com`,
  };
  const put = await call('PUT', `${T}/settings/mail`, { alertsEmailEnabled: true, useCustom: true, custom });
  const u = await call('POST', `${T}/users`, { email: `u@${tn}.example.com`, name: 'U', roles: ['Alerts Viewer'] });
  await call('PUT', `${T}/users/${u.json.id}/alert-preferences`, { email: { fatalImmediately: true } });
  const test = await call('POST', `${T}/settings/mail/test`, { sendTo: 'qa@example.com' });
  await call('POST', `${T}/alerts`, { severity: 'Fatal', component: 'Robots', message: 'S2 probe' });
  let d;
  for (let i = 0; i < 60; i++) {
    d = (await call('GET', `${T}/deliveries?kind=immediate&limit=1`)).json.items?.[0];
    if (d && d.status !== 'pending' && d.status !== 'sending') break;
    await new Promise((r) => setTimeout(r, 500));
  }
  results[name] = {
    put: put.status,
    test: test.json.ok ? 'ok' : `stage=${test.json.stage} ${test.json.message}`,
    outbox: `${d?.status} ${d?.lastError ?? d?.smtpResponse ?? ''}`,
  };
}
// A plaintext server with credentials and no explicit allowPlaintextAuth is refused at save.
const pl = await call('PUT', `/api/v1/tenants/${prefix}-no-starttls/settings/mail`, { custom: { security: 'none' } });
results['security none + password, no allowPlaintextAuth'] = { put: `${pl.status} ${JSON.stringify(pl.json.errors ?? pl.json)}`.slice(0, 200) };
await new Promise((r) => setTimeout(r, 1500));
console.log(JSON.stringify({ results, servers: JSON.parse(fs.readFileSync(`${OUT}/s2.json`, 'utf8')) }, null, 1));
