import crypto from 'node:crypto';

/**
 * deliveryKeyDigest is what indexes a source's delivery or alert key: the first 16 bytes of the
 * SHA-256 of the source's id and the key. The keys are the senders' ids and content hashes, which
 * land at random places in the index whatever their form; 16 bytes an entry against the id and key
 * as text (about 80) fill fewer pages, so a commit of an orchestrator-webhook event's two keys
 * rewrites fewer of them (2.6 → 1.55 pages an event, bench/hot-paths.md 2026-12-07). The digests
 * are stored: changing how they are made would forget every key received before.
 */
export function deliveryKeyDigest(sourceId: string, key: string): Buffer {
  return crypto.createHash('sha256').update(sourceId).update('\n').update(key).digest().subarray(0, 16);
}
