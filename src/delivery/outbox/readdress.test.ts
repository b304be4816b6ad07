import { describe, expect, it } from 'vitest';
import { holderDelivers, holdsReleasedKey } from './readdress.js';

describe('holderDelivers: whether the row holding a key keeps it from a row moving to its address', () => {
  const at = (status: 'pending' | 'sending' | 'retrying' | 'sent' | 'failed') => ({ status, address: 'desk@example.com' });

  it('keeps it once sent, wherever its recipient is now', () => {
    expect(holderDelivers(at('sent'), undefined)).toBe(true);
    expect(holderDelivers(at('sent'), 'elsewhere@example.com')).toBe(true);
  });

  it('gives it up once failed: the mailbox got nothing', () => {
    expect(holderDelivers(at('failed'), 'desk@example.com')).toBe(false);
  });

  it('keeps it while waiting for a recipient still at that mailbox, however spelt', () => {
    for (const status of ['pending', 'sending', 'retrying'] as const) {
      expect(holderDelivers(at(status), 'Desk@Example.com')).toBe(true);
      expect(holderDelivers(at(status), 'elsewhere@example.com')).toBe(false);
      expect(holderDelivers(at(status), undefined)).toBe(false);
    }
  });
});

describe('holdsReleasedKey', () => {
  it('tells a row that gave its own key up from one holding a key a decision made', () => {
    expect(holdsReleasedKey({ id: 'd1', idempotencyKey: 'summary:t:1:desk@example.com#released:d1' })).toBe(true);
    expect(holdsReleasedKey({ id: 'd1', idempotencyKey: 'summary:t:1:desk@example.com' })).toBe(false);
    expect(holdsReleasedKey({ id: 'd2', idempotencyKey: 'summary:t:1:desk@example.com#released:d1' })).toBe(false);
  });
});
