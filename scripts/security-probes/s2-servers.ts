// S2 probe servers: write ports and CA, then the counts of plaintext AUTH / MAIL FROM / messages every 500 ms.
import fs from 'node:fs';
import { startTestSmtpServer } from '../../test/support/smtp-servers.js';
const out = process.argv[2]!;
const auth = { username: 'robot', password: 'S2-pass-91ab' };
const specs = {
  'no-starttls': { tls: 'none' },
  'stripped-starttls': { tls: 'starttls-hidden' },
  'starttls-self-signed': { tls: 'starttls', certificate: 'self-signed' },
  'starttls-expired': { tls: 'starttls', certificate: 'expired' },
  'starttls-wrong-host': { tls: 'starttls', certificate: 'wrong-host' },
  'tls-self-signed': { tls: 'implicit', certificate: 'self-signed' },
  'tls-expired': { tls: 'implicit', certificate: 'expired' },
  'tls-wrong-host': { tls: 'implicit', certificate: 'wrong-host' },
  'starttls-valid': { tls: 'starttls' },
} as const;
const servers: Record<string, Awaited<ReturnType<typeof startTestSmtpServer>>> = {};
for (const [name, spec] of Object.entries(specs)) servers[name] = await startTestSmtpServer({ ...spec, auth });
fs.writeFileSync(`${out}/ca.pem`, Object.values(servers)[0]!.ca);
const write = () =>
  fs.writeFileSync(
    `${out}/s2.json`,
    JSON.stringify(
      Object.fromEntries(
        Object.entries(servers).map(([n, s]) => [
          n,
          {
            port: s.port,
            connections: s.connections(),
            messages: s.messages.length,
            plaintextMessages: s.messages.filter((m) => !m.secure).length,
            plaintextAuth: s.authSeen.filter((a) => !a.secure).length,
            auth: s.authSeen.length,
            plaintextMailFrom: s.mailFromSeen.filter((m) => !m.secure).length,
          },
        ]),
      ),
    ),
  );
write();
setInterval(write, 500);
