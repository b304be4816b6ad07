/**
 * CPU per immediate email for rendering and MIME encoding alone, before and after prepared MIME, in
 * one process at one time (so a loaded machine inflates both alike): "before" renders each email
 * in full and lets nodemailer build its MIME (as the sender did), "after" renders an alert once
 * with slots and splices each recipient's values into its prepared MIME (ImmediateEmailCache,
 * smtp/mime.ts). Both with the same template and per-recipient action and unsubscribe links.
 *
 *   npx tsx bench/mime-cpu.ts [emails]
 */
import nodemailer from 'nodemailer';
import { renderImmediateEmail } from '../src/reports/templates/immediate-email.js';
import { ImmediateEmailCache } from '../src/reports/templates/immediate-cache.js';
import { sampleImmediate } from '../src/reports/templates/samples.js';
import { writeMime } from '../src/delivery/smtp/mime.js';
const ctx = {
  tenant: { name: 'acme', displayName: 'Acme Finance', timeZone: 'Europe/Paris' },
  language: 'en' as const,
  timeZone: 'Europe/Paris',
  now: Date.UTC(2026, 10, 27, 9, 3),
  publicUrl: 'https://tocsin.example.com',
  summaryIntervalSeconds: 600,
};
const base = sampleImmediate(ctx);
const N = Number(process.argv[2] ?? 2000);
/** views are N emails about `distinct` alerts, each with its own links. */
const views = (distinct: number) =>
  Array.from({ length: N }, (_, i) => ({
    ...base,
    alert: {
      ...base.alert,
      id: `a${i % distinct}`,
      message: `Robot R${i % distinct} is not responding`,
      actions: { acknowledge: `https://tocsin.example.com/actions/ack${i}`, snooze: `https://tocsin.example.com/actions/snz${i}` },
    },
    links: { ...base.links, unsubscribe: `https://tocsin.example.com/unsubscribe/u${i}` },
  }));
const transport = nodemailer.createTransport({ streamTransport: true, buffer: true });
async function old(vs: any[]) {
  for (const v of vs) {
    const e = renderImmediateEmail(v);
    await transport.sendMail({
      from: { name: 'T', address: 'a@example.com' },
      to: { name: 'Ana', address: 'ana@example.com' },
      subject: e.subject,
      text: e.text,
      html: e.html,
      headers: { ...e.headers },
      messageId: '<m@t>',
    });
  }
}
async function neu(vs: any[]) {
  const cache = new ImmediateEmailCache();
  for (const v of vs) {
    const e = cache.render(v);
    writeMime(e.prepared!.template, {
      from: { name: 'T', address: 'a@example.com' },
      to: { name: 'Ana', address: 'ana@example.com' },
      messageId: '<m@t>',
      date: new Date(),
      values: e.prepared!.values,
    });
  }
}
for (const [label, distinct] of [
  ['every email a new alert', N],
  ['10 recipients per alert', N / 10],
] as const) {
  const vs = views(distinct as number);
  // An alert's recipients together, as its decision queues them.
  if (distinct !== N) vs.sort((a, b) => a.alert.id.localeCompare(b.alert.id));
  for (const [name, f] of [
    ['nodemailer MIME (before)', old],
    ['prepared MIME (after)', neu],
  ] as const) {
    await f(vs.slice(0, 300));
    const c = process.cpuUsage();
    await f(vs);
    const u = process.cpuUsage(c);
    console.log(`${label}: ${name}: ${((u.user + u.system) / 1000 / N).toFixed(3)} CPU-ms per email`);
  }
}
