// S7 black-box probe: every private-host spelling through every way a tenant can name an SMTP host.
import { adminApi } from './api.mjs';
const [base, tenant] = [process.argv[2], process.argv[3]];
const call = adminApi(base);
const hosts = [
  '127.0.0.1',
  'localhost',
  'LOCALHOST',
  'localhost.',
  'vm',
  'runsc',
  '0.0.0.0',
  '0',
  '::1',
  '[::1]',
  '::',
  '::ffff:127.0.0.1',
  '::ffff:7f00:1',
  '::127.0.0.1',
  '127.0.0.2',
  '127.1.2.3',
  '127.1',
  '2130706433',
  '0x7f000001',
  '0x7f.0.0.1',
  '017700000001',
  '0177.0.0.1',
  '127.0.0.1.',
  '169.254.169.254',
  '10.0.0.1',
  '172.16.0.1',
  '192.168.0.1',
  '100.64.0.1',
  'fd00::1',
  'fe80::1',
  '[fd00::1]',
  '2852039166',
  '0xa9fea9fe',
];
const answers = {}; // message -> count
const accepted = [];
const note = (kind, host, port, r) => {
  let msg;
  try {
    const j = JSON.parse(r.text);
    msg = j.errors?.map((e) => `${e.path}: ${e.message}`).join('; ') ?? (j.ok === false ? `stage=${j.stage}: ${j.message}` : (j.detail ?? r.text));
  } catch {
    msg = r.text;
  }
  if (r.status < 300 && !r.text.includes('"ok":false')) accepted.push(`${kind} ${host}:${port} ${r.status} ${r.text.slice(0, 120)}`);
  const key = `${r.status} ${msg}`;
  answers[key] = answers[key] ?? [];
  answers[key].push(`${kind} ${host}:${port}`);
};
for (const port of [587, 25, 2525, 465, 6379, 5432]) {
  for (const host of hosts) {
    const tn = `${tenant}-${port}-${hosts.indexOf(host)}`;
    await call('POST', '/api/v1/tenants', { name: tn });
    const T = `/api/v1/tenants/${tn}`;
    const smtp = { host, port, security: 'none', fromAddress: 'a@probe.example.com' };
    note('PUT', host, port, await call('PUT', `${T}/settings/mail`, { alertsEmailEnabled: true, useCustom: true, custom: smtp }));
    note('TEST', host, port, await call('POST', `${T}/settings/mail/test`, { sendTo: 'qa@example.com', settings: smtp }));
    note(
      'VERIFY',
      host,
      port,
      await call(
        'POST',
        '/odata/Settings/UiPath.Server.Configuration.OData.VerifySmtpSetting',
        { sendTo: 'qa@example.com', smtpSettingModel: { Host: host, Port: port, EnableSsl: false, DefaultFromAddress: 'a@probe.example.com' } },
        { 'x-tocsin-tenant': tn },
      ),
    );
    note(
      'BULK',
      host,
      port,
      await call(
        'POST',
        '/odata/Settings/UiPath.Server.Configuration.OData.UpdateBulk',
        {
          settings: [
            { Name: 'Abp.Net.Mail.Smtp.Host', Value: host },
            { Name: 'Abp.Net.Mail.Smtp.Port', Value: String(port) },
            { Name: 'Abp.Net.Mail.DefaultFromAddress', Value: 'a@probe.example.com' },
          ],
        },
        { 'x-tocsin-tenant': tn },
      ),
    );
  }
}
console.log(
  JSON.stringify(
    { accepted, answers: Object.fromEntries(Object.entries(answers).map(([k, v]) => [k, `${v.length} e.g. ${v.slice(0, 4).join(', ')}`])) },
    null,
    1,
  ),
);
