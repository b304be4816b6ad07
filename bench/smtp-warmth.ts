/**
 * A lone email after a quiet spell: milliseconds from send() to the server's 250, through a new
 * pool (connect, greeting, EHLO, and with STARTTLS the upgrade and AUTH first) against a warm
 * connection the sender opened ahead of it (the pool's warm session, pool.ts). Alternating, on a real smtp-server on loopback:
 *   npx tsx bench/smtp-warmth.ts [rounds=20]
 */
import type { OutgoingEmail, SmtpEndpoint } from '../src/delivery/contract.js';
import { createMailSender } from '../src/delivery/smtp/sender.js';
import { startTestSmtpServer } from '../test/support/smtp-servers.js';

const PASSWORD = 'warmth-bench-password';
const rounds = Number(process.argv[2] ?? 20);

const email = (i: number): OutgoingEmail => ({
  to: { address: 'ops@example.com' },
  messageId: `<warmth-${i}-${Math.random().toString(36).slice(2)}@tocsin.bench>`,
  subject: 'Fatal',
  text: 'x',
  html: '<p>x</p>',
  headers: {},
});

const quantile = (values: number[], q: number) => [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.floor(q * values.length))]?.toFixed(1);

for (const security of ['none', 'starttls'] as const) {
  const tls = security === 'starttls';
  const server = await startTestSmtpServer(tls ? { tls: 'starttls', auth: { username: 'robot', password: PASSWORD, methods: ['PLAIN'] } } : {});
  const endpoint: SmtpEndpoint = {
    host: 'localhost',
    port: server.port,
    security,
    authMethod: tls ? 'plain' : 'none',
    ...(tls ? { username: 'robot', password: PASSWORD } : {}),
    fromAddress: 'alerts@example.com',
    timeoutMs: 30_000,
    ca: server.ca,
  };
  const times = { cold: [] as number[], warm: [] as number[] };
  for (let i = 0; i < rounds; i++) {
    for (const mode of ['cold', 'warm'] as const) {
      const sender = createMailSender(mode === 'warm' ? { warmMs: 60_000 } : {});
      if (mode === 'warm') {
        const opened = server.connections() + 1;
        sender.warm(endpoint);
        await server.waitForCommand(tls ? 'AUTH' : 'EHLO', opened);
        // the quiet spell: the connection is logged in and idle when the email comes
        await new Promise((resolve) => setTimeout(resolve, 300));
      }
      const started = performance.now();
      await sender.send(endpoint, email(i));
      times[mode].push(performance.now() - started);
      await sender.close();
    }
  }
  console.log(
    `${security}: new pool p50 ${quantile(times.cold, 0.5)} / p95 ${quantile(times.cold, 0.95)} ms; ` +
      `warm connection p50 ${quantile(times.warm, 0.5)} / p95 ${quantile(times.warm, 0.95)} ms (${rounds} each, alternating)`,
  );
  await server.close();
}
process.exit(0);
