import { describe, expect, it } from 'vitest';
import { displaySmtpUrl, maskDialogueLine, maskSecrets, serverSaid } from './redact.js';

describe('maskSecrets', () => {
  it('removes a password written plainly, in base64 and inside an AUTH PLAIN blob', () => {
    const password = 's3cret-Pa55';
    const plain = Buffer.from(`\0ana\0${password}`).toString('base64');
    const text = `535 bad ${password} / ${Buffer.from(password).toString('base64')} / AUTH PLAIN ${plain}`;
    const out = maskSecrets(text, { username: 'ana', values: [password] });
    expect(out).not.toContain(password);
    expect(out).not.toContain(plain);
    expect(out).not.toContain(Buffer.from(password).toString('base64'));
    expect(out).toContain('535 bad ***');
  });

  it('leaves text alone when there is no secret', () => {
    expect(maskSecrets('421 try later', { values: [undefined, ''] })).toBe('421 try later');
  });
});

describe('serverSaid', () => {
  it('keeps a reply whole up to 2,000 characters and cuts a longer one, saying how much was left out', () => {
    const gmail = `550-5.1.1 The email account that you tried to reach does not exist.\n550 5.1.1 ${'x'.repeat(1_900)}`;
    expect(serverSaid(gmail, { values: [] })).toBe(gmail);
    const flood = `550 5.1.1 ${'x'.repeat(200_000)}`;
    const said = serverSaid(flood, { values: [] });
    expect(said).toBe(`${flood.slice(0, 2_000)}… (198,010 more characters)`);
  });

  it('masks the secrets and replaces NUL before it cuts', () => {
    const password = 's3cret-Pa55';
    expect(serverSaid(`535 ${'y'.repeat(1_990)}${password}\0`, { values: [password] })).toBe(`535 ${'y'.repeat(1_990)}***\uFFFD`);
  });
});

describe('maskDialogueLine', () => {
  it('hides the AUTH argument, the answers to AUTH challenges and the secret anywhere else', () => {
    const secrets = { values: ['s3cret-Pa55'] };
    expect(maskDialogueLine('C: AUTH PLAIN AGFuYQBzM2NyZXQ=', secrets, false)).toBe('C: AUTH PLAIN ***');
    expect(maskDialogueLine('C: czNjcmV0LVBhNTU=', secrets, true)).toBe('C: ***');
    expect(maskDialogueLine('S: 535 no such user s3cret-Pa55', secrets, false)).toBe('S: 535 no such user ***');
    expect(maskDialogueLine('C: MAIL FROM:<a@example.com>', secrets, false)).toBe('C: MAIL FROM:<a@example.com>');
  });
});

describe('the SMTP URL in the start banner and logs', () => {
  it('shows the mail catcher as scheme, host and port, not garbled by its sender address', () => {
    expect(displaySmtpUrl('smtp://127.0.0.1:2525?from=tocsin@localhost')).toBe('smtp://127.0.0.1:2525');
  });

  it('masks the password and keeps the user, host and port', () => {
    const shown = displaySmtpUrl('smtps://ops:s3cret%40x@mail.example.com:465?from=alerts@example.com');
    expect(shown).toBe('smtps://ops:***@mail.example.com:465');
    expect(displaySmtpUrl('smtp://[::1]:25')).toBe('smtp://[::1]:25');
  });

  it('says the URL is invalid rather than printing it', () => {
    expect(displaySmtpUrl('not a url with pass:word@host')).toBe('(invalid URL)');
  });
});
