/**
 * refusedAsTooLarge tells whether a server's permanent refusal is of the message's size (its
 * message size limit) rather than of the mailbox or the sender: the enhanced codes 5.3.4 "message
 * too big for system" and 5.2.3 "message length exceeds administrative limit" (Postfix, Exchange,
 * Gmail), or a 552 whose words are of the size ("exceeds fixed maximum message size", "too large").
 * A 552 alone is not enough: servers also answer it for a full mailbox (5.2.2).
 */
export function refusedAsTooLarge(code: number | null | undefined, reply: string | null | undefined): boolean {
  if (code === undefined || code === null || code < 500 || !reply) return false;
  if (/\b5\.(3\.4|2\.3)\b/.test(reply)) return true;
  return code === 552 && /\b(message size|size limits?|maximum message size|too (big|large))\b/i.test(reply);
}
