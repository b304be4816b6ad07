import { describe, expect, it } from 'vitest';
import { isEmailAddress } from './email-address.js';
import { firstKnownZone, INSTANT_RANGE_MESSAGE, isoInstant, queryCount } from './validation.js';

describe('firstKnownZone', () => {
  it('is the first stored zone the runtime knows, passing over unknown and missing ones, else UTC', () => {
    expect(firstKnownZone('Europe/Paris')).toBe('Europe/Paris');
    // A zone saved by a runtime with newer tzdata is passed over for the tenant's, not read as no zone.
    expect(firstKnownZone('Mars/Olympus', 'Asia/Tokyo')).toBe('Asia/Tokyo');
    expect(firstKnownZone(null, undefined, '', 'America/New_York')).toBe('America/New_York');
    expect(firstKnownZone('Mars/Olympus')).toBe('UTC');
    expect(firstKnownZone()).toBe('UTC');
  });
});

describe('isEmailAddress', () => {
  it('takes an address literal only when it holds an IP address, as it would be delivered to', () => {
    const valid = ['ops@[192.0.2.1]', 'ops@[IPv6:2001:db8::1]', 'ops@[IPv6:::1]', 'ops@[IPv6:::ffff:192.0.2.1]'];
    const invalid = ['ops@[999.1.1.1]', 'ops@[192.0.2.256]', 'ops@[IPv6:::::]', 'ops@[IPv6:1.2.3.4]', 'ops@[IPv6:2001:db8::1::2]'];
    expect(valid.map(isEmailAddress)).toEqual(valid.map(() => true));
    expect(invalid.map(isEmailAddress)).toEqual(invalid.map(() => false));
  });
});

describe('isEmailAddress, internationalized domains', () => {
  it('takes an internationalized domain only when its punycode is a domain name, as SMTP and DNS will look it up', () => {
    const valid = ['ops@bücher.de', 'ops@☃.net', `ops@${'ü'.repeat(20)}.de`, 'ops@xn--bcher-kva.de', 'ops@EXAMPLE.com'];
    // A label of 63 letters with an accent is 70 letters of punycode (DNS takes 63); xn--zz is no punycode at all.
    const invalid = [`ops@é${'a'.repeat(62)}.de`, `ops@${'ü'.repeat(63)}.de`, 'ops@xn--zz.example'];
    expect(valid.map(isEmailAddress)).toEqual(valid.map(() => true));
    expect(invalid.map(isEmailAddress)).toEqual(invalid.map(() => false));
  });
});

describe('isoInstant', () => {
  it('refuses a year of more than four digits with the one error that says what to write, not also the range', () => {
    // Date.parse reads +275760-… (the largest Date), so the range's check also failed and the 400 listed
    // "must be a date and time…" and "must fall within the years 0000 to 9999" for the same field.
    for (const written of ['+275760-09-13T00:00:00Z', '+010000-01-01T00:00:00Z', '-000001-01-01T00:00:00Z']) {
      const issues = isoInstant.safeParse(written).error?.issues ?? [];
      expect(
        issues.map((issue) => issue.message),
        written,
      ).toEqual(['must be a date and time with its offset from UTC, such as 2026-03-01T09:00:00+01:00 or 2026-03-01T08:00:00Z']);
    }
    expect(isoInstant.safeParse('9999-12-31T23:59:59-14:00').error?.issues.map((issue) => issue.message)).toEqual([INSTANT_RANGE_MESSAGE]);
  });
});

describe('queryCount', () => {
  it('words a count out of its range as its other refusals, naming the range, not in zod\'s "Too big: expected number to be <=1000"', () => {
    // GET /alerts?limit=1001 answered 'limit: Too big: expected number to be <=1000', and $top and
    // limit=0 alike, beside 'must be a whole number written in digits' for limit=abc.
    const limit = queryCount(1000, 1);
    const messages = ['1001', '0'].map((value) => limit.safeParse(value).error?.issues.map((issue) => issue.message));
    expect(messages).toEqual([['must be a whole number from 1 to 1,000'], ['must be a whole number from 1 to 1,000']]);
    expect(limit.parse('1000')).toBe(1000);
  });
});

describe('queryCount, counts of eleven digits or more', () => {
  it('refuses a count written in digits but past the range by naming the range, not by saying it is no digits', () => {
    // $skip=99999999999 (or limit=, $top=) was told 'must be a whole number written in digits': a
    // script paging by $skip read that it had written something else than digits.
    const skip = queryCount(10_000_000);
    for (const written of ['99999999999', '9007199254740993', '9'.repeat(400)]) {
      expect(
        skip.safeParse(written).error?.issues.map((issue) => issue.message),
        written,
      ).toEqual(['must be a whole number from 0 to 10,000,000']);
    }
    expect(skip.parse('00000000000010')).toBe(10);
    expect(skip.safeParse('1e3').error?.issues.map((issue) => issue.message)).toEqual(['must be a whole number written in digits']);
  });
});
