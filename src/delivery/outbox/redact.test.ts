import { describe, expect, it } from 'vitest';
import { redactSecrets } from './redact.js';

describe('redactSecrets', () => {
  it('removes a password written plainly, in base64 and inside an AUTH PLAIN blob', () => {
    const password = 's3cret-Pa55';
    const plain = Buffer.from(`\0ana\0${password}`).toString('base64');
    const text = `535 bad ${password} / ${Buffer.from(password).toString('base64')} / AUTH PLAIN ${plain}`;
    const out = redactSecrets(text, { username: 'ana', values: [password] });
    expect(out).not.toContain(password);
    expect(out).not.toContain(plain);
    expect(out).not.toContain(Buffer.from(password).toString('base64'));
    expect(out).toContain('535 bad ***');
  });

  it('leaves text alone when there is no secret', () => {
    expect(redactSecrets('421 try later', { values: [undefined, ''] })).toBe('421 try later');
  });
});
