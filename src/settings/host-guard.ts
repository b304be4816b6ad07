import dns from 'node:dns/promises';
import { LookupShortageError, lookupShortage } from '../shared/out-of-descriptors.js';
import net from 'node:net';
import { untilAborted } from '../shared/deadline.js';
import { StageError } from '../shared/stage-error.js';

/** GUARDED_PORTS are the only SMTP ports a tenant may use when private hosts are refused. */
const GUARDED_PORTS: readonly number[] = [25, 465, 587, 2525];

/** REFUSED_HOST_MESSAGE is the one answer for every refused host, so refusals reveal nothing about the network. */
export const REFUSED_HOST_MESSAGE = 'This SMTP server cannot be used: give a public host name or address, on port 25, 465, 587 or 2525.';

const NON_PUBLIC = new net.BlockList();
for (const [network, prefix] of [
  ['0.0.0.0', 8], // "this network"
  ['10.0.0.0', 8],
  ['100.64.0.0', 10], // CGNAT
  ['127.0.0.0', 8],
  ['169.254.0.0', 16], // link-local, cloud metadata
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.0.2.0', 24],
  ['192.88.99.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['198.51.100.0', 24],
  ['203.0.113.0', 24],
  ['224.0.0.0', 4], // multicast
  ['240.0.0.0', 4], // reserved and broadcast
] as const) {
  NON_PUBLIC.addSubnet(network, prefix, 'ipv4');
}
for (const [network, prefix] of [
  ['::', 96], // unspecified, loopback, and IPv4-compatible addresses (::127.0.0.1, deprecated), which embed an IPv4
  ['::ffff:0:0:0', 96], // IPv4-translated (SIIT) addresses embed an IPv4 too
  ['64:ff9b::', 96], // NAT64 can reach any IPv4, private ones included
  ['64:ff9b:1::', 48],
  ['100::', 64], // discard
  ['2001::', 32], // Teredo
  ['2001:db8::', 32],
  ['2002::', 16], // 6to4 embeds an IPv4
  ['fc00::', 7], // unique local
  ['fe80::', 10], // link-local
  ['fec0::', 10], // site-local
  ['ff00::', 8], // multicast
] as const) {
  NON_PUBLIC.addSubnet(network, prefix, 'ipv6');
}

/** isPublicAddress tells whether an IP address is on the public internet (IPv4-mapped IPv6 as its IPv4). */
export function isPublicAddress(ip: string): boolean {
  const family = net.isIP(ip);
  if (family === 0) return false;
  return !NON_PUBLIC.check(ip, family === 4 ? 'ipv4' : 'ipv6');
}

/** RefusedHostError says a tenant's SMTP host may not be used; its message is always the same. */
export class RefusedHostError extends StageError {
  override readonly name = 'RefusedHostError';

  constructor(
    /** Whether asking again later may help (a DNS failure), for the outbox. */
    readonly retryable: boolean,
    /**
     * The setting at fault, for a 400 that names it: `port` when the port is not a mail port (known
     * before any lookup, so naming it tells nothing about the network), `host` otherwise.
     */
    readonly field: 'host' | 'port' = 'host',
  ) {
    super(REFUSED_HOST_MESSAGE);
  }
}

/** Resolver returns every address of a host name. */
export type Resolver = (host: string) => Promise<string[]>;

/** systemResolver asks the operating system, as a connection would. */
const systemResolver: Resolver = async (host) => (await dns.lookup(host, { all: true, verbatim: true })).map((a) => a.address);

/**
 * checkSmtpHost resolves a tenant's SMTP host once, refuses it unless every address is public and
 * the port is a mail port, and returns the address to connect to, so that a second resolution
 * (DNS rebinding) cannot send the connection elsewhere.
 */
export async function checkSmtpHost(host: string, port: number, resolve: Resolver = systemResolver): Promise<string> {
  if (!GUARDED_PORTS.includes(port)) throw new RefusedHostError(false, 'port');
  return checkPublicHost(host, resolve);
}

/**
 * checkPublicHost resolves a tenant-chosen host once (an SMTP server, a pull source's Orchestrator),
 * refuses it unless every address is public, and returns the address to connect to, so that a
 * second resolution (DNS rebinding) cannot send the connection elsewhere. Throws RefusedHostError,
 * or LookupShortageError when the lookup failed for want of a file descriptor.
 */
export async function checkPublicHost(host: string, resolve: Resolver = systemResolver): Promise<string> {
  let addresses: string[];
  try {
    addresses = await addressesOf(host, resolve);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    // Out of descriptors, glibc's lookup fails as for a name that does not exist: no answer of DNS's,
    // and no refusal of the host either.
    const shortage = lookupShortage(code);
    if (shortage) throw new LookupShortageError(shortage, host);
    throw new RefusedHostError(code === 'EAI_AGAIN' || code === 'ETIMEOUT' || code === 'ESERVFAIL');
  }
  if (addresses.length === 0 || !addresses.every(isPublicAddress)) throw new RefusedHostError(false);
  return addresses[0]!;
}

/**
 * checkSavedSmtpHost refuses, when a tenant saves its SMTP settings, a host that the connection
 * would refuse: a non-mail port, or a name or address of which any address is not public. A name
 * that does not resolve now, or not before `until` aborts (the settings' timeout: a resolver that
 * never answers holds no save), is no private host and may be saved (every connection checks
 * again). Throws RefusedHostError, whose message is the same whatever the reason.
 */
export async function checkSavedSmtpHost(host: string, port: number, until: AbortSignal, resolve: Resolver = systemResolver): Promise<void> {
  if (!GUARDED_PORTS.includes(port)) throw new RefusedHostError(false, 'port');
  await checkSavedHost(host, until, resolve);
}

/** checkSavedHost refuses, when a tenant saves it, a host of which any address is not public (checkSavedSmtpHost without the port). */
export async function checkSavedHost(host: string, until: AbortSignal, resolve: Resolver = systemResolver): Promise<void> {
  const addresses = await untilAborted(addressesOf(host, resolve), until).catch(() => []);
  if (!addresses.every(isPublicAddress)) throw new RefusedHostError(false);
}

/** HostPolicy is TOCSIN_ALLOW_PRIVATE_SMTP_HOSTS and the DNS to check tenant-chosen hosts with. */
export interface HostPolicy {
  readonly allowPrivateHosts: boolean;
  readonly resolver?: Resolver | undefined;
  /** How long the lookup of a source's host being saved may take: the upstream request's timeout unless a test shortens it. */
  readonly lookupTimeoutMs?: number | undefined;
}

async function addressesOf(host: string, resolve: Resolver): Promise<string[]> {
  return net.isIP(host) ? [host] : resolve(host);
}
