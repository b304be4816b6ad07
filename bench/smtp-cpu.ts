/**
 * CPU per email of the ways to hand finished bytes to an SMTP server, side by side in one process
 * against the bench sink in a process of its own (no TLS, 10 connections, 20 sends in flight):
 * nodemailer's pool transport given the bytes as a `raw` message, nodemailer's SMTPConnection
 * given the same bytes, and Tocsin's sender (createMailSender: SessionPool over SMTPConnection,
 * writing each message from a MIME prepared once, with its own From, To, Message-ID and Date), given
 * the email rendered or as a PendingEmail. The rounds alternate so load drifts hit each alike.
 *
 *   npx tsx bench/smtp-cpu.ts [emails=3000] [rounds=2]
 */
import crypto from 'node:crypto';
import nodemailer from 'nodemailer';
import SMTPConnection from 'nodemailer/lib/smtp-connection';
import { prepareMime } from '../src/delivery/smtp/mime.js';
import { createMailSender } from '../src/delivery/smtp/sender.js';
import { plainEndpointOf } from '../test/support/smtp-servers.js';
import { startSinkProcess } from './sink-client.js';
import { runConcurrently } from './stats.js';

const EMAILS = Number(process.argv[2] ?? 3000);
const ROUNDS = Number(process.argv[3] ?? 2);
const CONNECTIONS = 10;
const IN_FLIGHT = 20;
const TEXT = 'Robot "Finance-07" stopped responding on machine FIN-VM-07. =\r\n'.repeat(120);
const HTML = `<table>${'<tr><td>Fatal</td><td>Robot "Finance-07" stopped responding.</td></tr>'.repeat(100)}</table>`;

const sink = await startSinkProcess();
// A fresh envelope per send: SMTPConnection keeps its recipients' progress on the object it is given.
const envelope = () => ({ from: 'alerts@example.com', to: ['ops@example.com'] });
const raw = (id: string) =>
  Buffer.from(
    `From: alerts@example.com\r\nTo: ops@example.com\r\nSubject: Fatal\r\nMessage-ID: <${id}@bench>\r\nMIME-Version: 1.0\r\n` +
      `Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n${TEXT}`,
  );

type Way = (count: number, tag: string) => Promise<unknown>;

const transport = nodemailer.createTransport({
  host: '127.0.0.1',
  port: sink.port,
  pool: true,
  maxConnections: CONNECTIONS,
  maxMessages: 100,
  ignoreTLS: true,
});
const pool: Way = (count, tag) =>
  runConcurrently(count, IN_FLIGHT, async (i) => {
    await transport.sendMail({ envelope: envelope(), raw: raw(`${tag}-${i}`) });
  });

const sessions = await Promise.all(
  Array.from(
    { length: CONNECTIONS },
    () =>
      new Promise<SMTPConnection>((resolve, reject) => {
        const connection = new SMTPConnection({ host: '127.0.0.1', port: sink.port, ignoreTLS: true });
        connection.once('error', reject);
        connection.connect(() => resolve(connection));
      }),
  ),
);
const connection: Way = async (count, tag) => {
  let next = 0;
  await Promise.all(
    sessions.map(async (session) => {
      for (let i = next++; i < count; i = next++) {
        await new Promise((resolve, reject) => session.send(envelope(), raw(`${tag}-${i}`), (err, info) => (err ? reject(err) : resolve(info))));
      }
    }),
  );
};

const sender = createMailSender({ maxConnections: CONNECTIONS });
const endpoint = plainEndpointOf(sink);
// Prepared once, as an immediate email is for all its recipients: each send writes its own headers.
const rendered = { subject: 'Fatal', text: TEXT, html: HTML, headers: {} };
const prepared = { template: prepareMime(rendered), values: [] };
const email = (tag: string, i: number) => ({ ...rendered, to: { address: 'ops@example.com', name: 'Ops' }, messageId: `<${tag}-${i}@bench>`, prepared });
const tocsin: Way = (count, tag) =>
  runConcurrently(count, IN_FLIGHT, async (i) => {
    await sender.send(endpoint, email(tag, i));
  });
// The same, as a PendingEmail (a Fatal alert's first email): MAIL FROM, RCPT TO and DATA go out before the render resolves.
const pending: Way = (count, tag) =>
  runConcurrently(count, IN_FLIGHT, async (i) => {
    const ready = email(tag, i);
    await sender.send(endpoint, { to: ready.to, rendering: Promise.resolve(ready) });
  });

const ways: [string, Way][] = [
  ["nodemailer's pool transport, raw bytes", pool],
  ["nodemailer's SMTPConnection, the same bytes", connection],
  ['Tocsin createMailSender, a prepared MIME written per email', tocsin],
  ['Tocsin createMailSender, the same as a PendingEmail', pending],
];
const cpu = new Map<string, number[]>();
for (const [, way] of ways) await way(300, `warm-${crypto.randomUUID()}`);
for (let round = 0; round < ROUNDS; round++) {
  for (const [name, way] of ways) {
    const before = process.cpuUsage();
    await way(EMAILS, `${round}-${crypto.randomUUID()}`);
    const used = process.cpuUsage(before);
    cpu.set(name, [...(cpu.get(name) ?? []), (used.user + used.system) / 1000 / EMAILS]);
  }
}
for (const [name, values] of cpu) console.log(`${name}: ${values.map((v) => v.toFixed(2)).join(', ')} CPU-ms per email`);
console.log(`(${EMAILS} emails per way and round, ${ROUNDS} rounds; reproduce: npx tsx bench/smtp-cpu.ts ${EMAILS} ${ROUNDS})`);
transport.close();
for (const session of sessions) session.quit();
await sender.close();
await sink.stop();
