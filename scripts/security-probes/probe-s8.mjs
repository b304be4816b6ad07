// S8 black-box: tenant Y's Fatal-immediately latency (alert POST → catcher), alone, then while tenant X's smarthost hangs.
import { adminApi } from './api.mjs';
import fs from 'node:fs';
const OUT = process.env.OUT ?? '/tmp/secur';
const [base, prefix, hangPort] = [process.argv[2], process.argv[3], Number(process.argv[4])];
const call = adminApi(base);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const setup = async (tn, readers, custom) => {
  await call('POST', '/api/v1/tenants', { name: tn });
  await call('PUT', `/api/v1/tenants/${tn}/settings/mail`, { alertsEmailEnabled: true, ...(custom ? { useCustom: true, custom } : {}) });
  for (let i = 0; i < readers; i++) {
    const u = await call('POST', `/api/v1/tenants/${tn}/users`, { email: `r${i}@${tn}.example.com`, name: `R${i}`, roles: ['Alerts Viewer'] });
    await call('PUT', `/api/v1/tenants/${tn}/users/${u.json.id}/alert-preferences`, {
      email: { fatalImmediately: true, tenMinuteSummary: false, dailyReport: false },
    });
  }
};
const X = `${prefix}-x`,
  Y = `${prefix}-y`;
await setup(Y, 1);
await setup(X, 10, { host: '127.0.0.1', port: hangPort, security: 'none', fromAddress: `a@${X}.example.com`, timeoutMs: 120000 });
const yLatency = async (n) => {
  const out = [];
  for (let i = 0; i < n; i++) {
    const marker = `S8 ${Date.now()}-${i}`;
    const t0 = Date.now();
    await call('POST', `/api/v1/tenants/${Y}/alerts`, { severity: 'Fatal', component: 'Robots', message: marker });
    for (;;) {
      const items = (await call('GET', '/api/v1/system/mail-catcher/messages')).json.items;
      const m = items.find((x) => x.text?.includes(marker));
      if (m) {
        out.push(Date.parse(m.receivedAt) - t0);
        break;
      }
      await sleep(20);
    }
    await call('DELETE', '/api/v1/system/mail-catcher/messages');
  }
  return out.sort((a, b) => a - b);
};
const stats = (xs) => ({ n: xs.length, p50: xs[Math.floor(xs.length * 0.5)], p99: xs[Math.ceil(xs.length * 0.99) - 1], max: xs.at(-1) });
await yLatency(3); // warm-up
const baseline = await yLatency(40);
// X: 30 Fatal alerts × 10 readers = 300 emails to a server that never greets.
for (let i = 0; i < 30; i++) await call('POST', `/api/v1/tenants/${X}/alerts`, { severity: 'Fatal', component: 'Robots', message: `X ${i}` });
await sleep(1500);
const during = await yLatency(40);
const xlog = (await call('GET', `/api/v1/tenants/${X}/deliveries?limit=1000&kind=immediate`)).json.items;
const xs = {};
for (const d of xlog) xs[d.status] = (xs[d.status] ?? 0) + 1;
console.log(JSON.stringify({ baseline: stats(baseline), during: stats(during), x: xs, hang: JSON.parse(fs.readFileSync(`${OUT}/hang.json`, 'utf8')) }));
