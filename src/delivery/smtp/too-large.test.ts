import { describe, expect, it } from 'vitest';
import { refusedAsTooLarge } from './too-large.js';

describe('refusedAsTooLarge', () => {
  it.each([
    [552, 'Message failed: 552 5.3.4 Message size exceeds fixed limit'], // Postfix
    [552, '552 5.3.4 Message size exceeds fixed maximum message size'], // Exchange
    [552, "552-5.2.3 Your message exceeded Google's message size limits."], // Gmail
    [552, '552 Error: message exceeds fixed maximum message size'], // smtp-server at MAIL FROM SIZE=
    [554, '554 5.3.4 Message too big for system'],
    [552, '552 Message too large'],
  ])('takes %i "%s" for a size refusal', (code, reply) => {
    expect(refusedAsTooLarge(code, reply)).toBe(true);
  });

  it.each([
    [552, '552 5.2.2 <full@example.com>: Mailbox full'],
    [552, '552 Requested mail action aborted: exceeded storage allocation'],
    [550, '550 5.1.1 User unknown'],
    [452, '452 4.3.1 Insufficient system storage'],
    [421, '421 4.3.4 message too big for now'],
  ])('does not take %i "%s" for one', (code, reply) => {
    expect(refusedAsTooLarge(code, reply)).toBe(false);
  });
});
