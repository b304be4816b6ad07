/**
 * Indexed the receivers' delivery keys by a 16-byte digest of the source and key (main of
 * 2026-12-07 from 08:41 UTC, 0f09589e, until its withdrawal). Withdrawn: digests scatter the ids that senders send in order
 * (Standard Webhooks' time-ordered ids, the pull imports' upstream ids), which then cost three
 * times the pages (bench/hot-paths.md 2026-12-07). Kept by name, doing nothing, so that a database
 * that did not run it never does; 20261207-20 puts back the keys of one that did.
 */
export async function up(): Promise<void> {}
