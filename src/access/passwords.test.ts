import { hash } from '@node-rs/argon2';
import { describe, expect, it } from 'vitest';
import { hashPassword, verifyPassword } from './passwords.js';

describe('console passwords', () => {
  const composed = 'Caf\u00e9 cr\u00e8me';
  const decomposed = composed.normalize('NFD');

  it('verifies a password typed with its accents composed or decomposed against a hash of either', async () => {
    for (const set of [composed, decomposed]) {
      const stored = await hashPassword(set);
      expect([await verifyPassword(stored, composed), await verifyPassword(stored, decomposed), await verifyPassword(stored, 'Cafe creme')]).toEqual([
        true,
        true,
        false,
      ]);
    }
  });

  it('still verifies a hash stored, before passwords were composed, of a decomposed password as typed', async () => {
    const stored = await hash(decomposed, { memoryCost: 19_456, timeCost: 2, parallelism: 1 });
    expect([await verifyPassword(stored, composed), await verifyPassword(stored, decomposed)]).toEqual([true, true]);
  });
});
