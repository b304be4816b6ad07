import { describe, expect, it } from 'vitest';
import { displaySmtpUrl } from './serve.js';

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
