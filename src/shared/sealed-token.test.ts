import crypto from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { lookAlikeTokens } from '../../test/support/tokens.js';
import { ADDRESS_TAG_BYTES, addressTag, isAddressTagOf, openToken, sealToken } from './sealed-token.js';

describe('sealed tokens', () => {
  const key = Buffer.alloc(32, 5);
  const purpose = Buffer.from('tocsin-test:v1');

  it('round-trip a payload, differ each time, and open only under the same key and purpose', () => {
    const token = sealToken(key, purpose, Buffer.from('tenant\nuser'));
    expect(openToken(key, purpose, token)?.toString()).toBe('tenant\nuser');
    expect(sealToken(key, purpose, Buffer.from('tenant\nuser'))).not.toBe(token);
    expect(openToken(Buffer.alloc(32, 6), purpose, token)).toBeUndefined();
    expect(openToken(key, Buffer.from('tocsin-other:v1'), token)).toBeUndefined();
  });

  it('refuse any altered byte, a truncated token and what is not base64url, without throwing', () => {
    const token = sealToken(key, purpose, Buffer.from('x'));
    const raw = Buffer.from(token, 'base64url');
    for (let i = 0; i < raw.length; i++) {
      const altered = Buffer.from(raw);
      altered[i]! ^= 1;
      expect(openToken(key, purpose, altered.toString('base64url'))).toBeUndefined();
    }
    expect(openToken(key, purpose, token.slice(0, 30))).toBeUndefined();
    expect(openToken(key, purpose, `${token}!`)).toBeUndefined();
    expect(openToken(key, purpose, '')).toBeUndefined();
  });

  it('refuse a token with a character added or its last character changed, which decode to the same bytes', () => {
    // Payloads of 1, 2 and 3 bytes give tokens of every length modulo 4.
    for (const payload of ['x', 'xy', 'xyz']) {
      const token = sealToken(key, purpose, Buffer.from(payload));
      expect(openToken(key, purpose, token)?.toString()).toBe(payload);
      for (const tampered of lookAlikeTokens(token)) expect(openToken(key, purpose, tampered)).toBeUndefined();
    }
  });
});

describe('address tags', () => {
  it('are one for every spelling of a mailbox, and none of another', () => {
    const tag = addressTag('ann@xn--bcher-kva.example');
    for (const spelling of ['Ann@Bücher.example', 'ann@bücher.example', 'ANN@XN--BCHER-KVA.EXAMPLE']) {
      expect(addressTag(spelling).equals(tag), spelling).toBe(true);
      expect(isAddressTagOf(tag, spelling), spelling).toBe(true);
    }
    expect(isAddressTagOf(tag, 'bob@bücher.example')).toBe(false);
  });

  it("take the tags of links sealed before, the address's lower case digested, for the address they were sent to", () => {
    const sealedBefore = (address: string) => crypto.createHash('sha256').update(address.toLowerCase()).digest().subarray(0, ADDRESS_TAG_BYTES);
    expect(isAddressTagOf(sealedBefore('Ann@xn--bcher-kva.example'), 'ann@xn--bcher-kva.example')).toBe(true);
    expect(isAddressTagOf(sealedBefore('ann@example.com'), 'ANN@example.com')).toBe(true);
    expect(isAddressTagOf(sealedBefore('ann@example.com'), 'bob@example.com')).toBe(false);
  });
});
