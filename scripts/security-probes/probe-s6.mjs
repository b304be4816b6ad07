// S6 black-box: a summary in the catcher, its List-Unsubscribe link: GET, tampered POSTs, one-click POST, replay, next window.
import { adminApi } from './api.mjs';
const [base, tn] = [process.argv[2], process.argv[3]];
const call = adminApi(base);
const T = `/api/v1/tenants/${tn}`;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
await call('POST', '/api/v1/tenants', { name: tn });
await call('PUT', `${T}/settings/mail`, { alertsEmailEnabled: true });
const to = `reader@${tn}.example.com`;
await call('POST', `${T}/users`, { email: to, name: 'Reader', roles: ['Alerts Viewer'] });
const summariesTo = async () =>
  (await call('GET', '/api/v1/system/mail-catcher/messages')).json.items.filter((m) => m.envelope.to.includes(to) && m.headers['x-tocsin-kind'] === 'summary');
const out = {};
await call('POST', `${T}/alerts`, { severity: 'Error', component: 'Jobs', message: 'S6 first' });
let first;
for (let i = 0; i < 60 && !first; i++) {
  first = (await summariesTo())[0];
  if (!first) await sleep(500);
}
out.headers = { 'list-unsubscribe': first.headers['list-unsubscribe'], 'list-unsubscribe-post': first.headers['list-unsubscribe-post'] };
const url = /<([^>]+)>/.exec(first.headers['list-unsubscribe'])[1];
const path = new URL(url).pathname;
const oneClick = { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'List-Unsubscribe=One-Click' };
const prefs = async () => (await call('GET', `${T}/users`)).json.items.find((u) => u.email === to);
const uid = (await prefs()).id;
const summaryOn = async () => (await call('GET', `${T}/users/${uid}/alert-preferences`)).json.email.tenMinuteSummary;
out.get = (await fetch(base + path)).status;
out.afterGet = await summaryOn();
const token = path.split('/').pop();
const tampered = [token.slice(0, -1) + (token.at(-1) === 'A' ? 'B' : 'A'), `${token}x`, token.slice(1), `x${token}`];
out.tampered = await Promise.all(tampered.map(async (t) => (await fetch(`${base}/unsubscribe/${t}`, oneClick)).status));
out.afterTampered = await summaryOn();
const t0 = Date.now();
out.post = (await fetch(base + path, oneClick)).status;
out.afterPost = await summaryOn();
out.msToSuppression = Date.now() - t0;
out.replay = (await fetch(base + path, oneClick)).status;
const before = (await summariesTo()).length;
await call('POST', `${T}/alerts`, { severity: 'Error', component: 'Jobs', message: 'S6 after unsubscribe' });
// A second reader of the tenant gets that window's summary: once it is there, the window has been sent.
const other = `other@${tn}.example.com`;
await call('POST', `${T}/users`, { email: other, name: 'Other', roles: ['Alerts Viewer'] });
await call('POST', `${T}/alerts`, { severity: 'Error', component: 'Jobs', message: 'S6 for the other' });
for (let i = 0; i < 60; i++) {
  const m = (await call('GET', '/api/v1/system/mail-catcher/messages')).json.items.filter((x) => x.envelope.to.includes(other));
  if (m.length) break;
  await sleep(500);
}
out.summariesAfterUnsubscribe = (await summariesTo()).length - before;
console.log(JSON.stringify(out));
