// S3 black-box: use password P every way a tenant can, then collect every answer body and /metrics.
import { adminApi } from './api.mjs';
import fs from 'node:fs';
const OUT = process.env.OUT ?? '/tmp/secur';
const [base, prefix, P] = [process.argv[2], process.argv[3], process.argv[4]];
const bodies = [];
const call = adminApi(base, (answer) => bodies.push(answer));
const s = JSON.parse(fs.readFileSync(`${OUT}/s3.json`, 'utf8'));
const tn = `${prefix}-s3`;
const T = `/api/v1/tenants/${tn}`;
const O = '/odata/Settings/UiPath.Server.Configuration.OData';
await call('POST', '/api/v1/tenants', { name: tn });
const custom = (port, extra = {}) => ({
  host: '127.0.0.1',
  port,
  security: 'none',
  allowPlaintextAuth: true,
  username: 'robot',
  password: P,
  authMethod: 'login',
  fromAddress: `a@${tn}.example.com`,
  ...extra,
});
const log = [];
const expectStatus = (what, res, status) => log.push(`${what}: ${res.status}${res.status === status ? '' : ` (expected ${status})`}`);
expectStatus('save with P', await call('PUT', `${T}/settings/mail`, { alertsEmailEnabled: true, useCustom: true, custom: custom(s.good) }), 200);
expectStatus('PUT without password', await call('PUT', `${T}/settings/mail`, { custom: { fromDisplayName: 'Kept' } }), 200);
const kept = await call('GET', `${T}/settings/mail`);
log.push(`passwordSet after a PUT without it: ${kept.json.custom?.passwordSet}`);
const t1 = await call('POST', `${T}/settings/mail/test`, { sendTo: 'qa@example.com' });
log.push(`test LOGIN with the kept password: ok=${t1.json.ok}`);
const t2 = await call('POST', `${T}/settings/mail/test`, { sendTo: 'qa@example.com', settings: { authMethod: 'plain' } });
log.push(`test PLAIN: ok=${t2.json.ok}`);
const t3 = await call('POST', `${T}/settings/mail/test`, { sendTo: 'qa@example.com', settings: custom(s.echo, { authMethod: 'plain' }) });
log.push(`test against the echoing server: ${t3.json.stage} ${t3.json.code}`);
for (const bad of [{ port: 0 }, { password: `${P}\r\nX` }, { allowPlaintextAuth: false }])
  await call('PUT', `${T}/settings/mail`, { custom: { ...custom(s.good), ...bad } });
await call(
  'POST',
  `${O}.VerifySmtpSetting`,
  {
    sendTo: 'qa@example.com',
    smtpSettingModel: { Host: '127.0.0.1', Port: s.echo, UserName: 'robot', Password: P, EnableSsl: false, DefaultFromAddress: `a@${tn}.example.com` },
  },
  { 'x-tocsin-tenant': tn },
);
await call(
  'POST',
  `${O}.UpdateBulk`,
  {
    settings: [
      { Name: 'Abp.Net.Mail.Smtp.Password', Value: P },
      { Name: 'Abp.Net.Mail.Smtp.Port', Value: 'x' },
    ],
  },
  { 'x-tocsin-tenant': tn },
);
await call('GET', '/odata/Settings', undefined, { 'x-tocsin-tenant': tn });
const u = await call('POST', `${T}/users`, { email: `u@${tn}.example.com`, name: 'U', roles: ['Alerts Viewer'] });
await call('PUT', `${T}/users/${u.json.id}/alert-preferences`, { email: { fatalImmediately: true } });
await call('POST', `${T}/alerts`, { severity: 'Fatal', component: 'Robots', message: 'S3 probe sent' });
const waitDelivery = async (want) => {
  for (let i = 0; i < 60; i++) {
    const d = (await call('GET', `${T}/deliveries?kind=immediate&limit=1`)).json.items?.[0];
    if (d && d.status === want) return d;
    await new Promise((r) => setTimeout(r, 500));
  }
};
log.push(`outbox with P: ${(await waitDelivery('sent'))?.status}`);
await call('PUT', `${T}/settings/mail`, { custom: custom(s.echo, { authMethod: 'plain' }) });
await call('POST', `${T}/alerts`, { severity: 'Fatal', component: 'Robots', message: 'S3 probe echoed' });
log.push(`outbox to the echoing server: ${(await waitDelivery('failed'))?.status}`);
for (const p of [
  `${T}/settings/mail`,
  `${T}/settings/mail/health`,
  `${T}/deliveries?limit=100`,
  `${T}/alerts?limit=100`,
  '/api/v1/system/mail-settings',
  `${T}/sources`,
])
  await call('GET', p);
const metrics = await (await fetch(`${base}/metrics`)).text();
fs.writeFileSync(`${OUT}/${prefix}-answers.txt`, bodies.join('\n'));
fs.writeFileSync(`${OUT}/${prefix}-metrics.txt`, metrics);
console.log(log.join('\n'));
