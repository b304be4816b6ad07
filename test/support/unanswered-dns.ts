import type { Resolver } from '../../src/settings/host-guard.js';

/**
 * unansweredDns is a resolver that never answers (a DNS server that drops the query), the hosts it
 * was asked, and a promise of its first question: for the tests of what a lookup may hold up.
 */
export function unansweredDns(): { asked: string[]; firstLookup: Promise<void>; resolver: Resolver } {
  const asked: string[] = [];
  let lookedUp: () => void = () => {};
  const firstLookup = new Promise<void>((resolve) => {
    lookedUp = resolve;
  });
  const resolver: Resolver = (host) => {
    asked.push(host);
    lookedUp();
    return new Promise<string[]>(() => {});
  };
  return { asked, firstLookup, resolver };
}
