// S3 probe servers: one taking PLAIN/LOGIN with password P in plaintext, one refusing every login and echoing it.
import fs from 'node:fs';
import { startTestSmtpServer } from '../../test/support/smtp-servers.js';
const out = process.argv[2]!;
const P = process.argv[3]!;
const good = await startTestSmtpServer({ auth: { username: 'robot', password: P, methods: ['PLAIN', 'LOGIN'] } });
const echo = await startTestSmtpServer({ auth: { username: 'robot', echo: true, methods: ['PLAIN'] } });
const write = () =>
  fs.writeFileSync(`${out}/s3.json`, JSON.stringify({ good: good.port, echo: echo.port, goodAuth: good.authSeen, messages: good.messages.length }));
write();
setInterval(write, 500);
