import type { Registry } from 'prom-client';
import { zeroedCounter } from '../../ops/metrics.js';

/**
 * PULL_FAILURES are why a poll of an Orchestrator pull source failed: the upstream refused it or
 * could not be reached (a wrong password, an Orchestrator down), the source's saved secret no longer
 * decrypts (TOCSIN_SECRET_KEY changed), or Tocsin could not store what it read (its database).
 */
const PULL_FAILURES = ['upstream', 'secret_unreadable', 'store'] as const;
/** PullFailure is one of PULL_FAILURES. */
export type PullFailure = (typeof PULL_FAILURES)[number];
/** CountPullFailure counts one failed poll. */
export type CountPullFailure = (reason: PullFailure) => void;

/**
 * pullFailuresCounter registers tocsin_source_pull_failures_total: a failed poll was only a log line
 * (at info for an upstream's refusal) and the source's last error, which no scrape reads, so an
 * operator could not alert on pull sources that stopped importing.
 */
export function pullFailuresCounter(registry: Registry): CountPullFailure {
  const failures = zeroedCounter(registry, {
    name: 'tocsin_source_pull_failures_total',
    help: 'Failed polls of orchestrator-pull sources, by reason: upstream (refused or unreachable), secret_unreadable (its saved secret no longer decrypts), store (its alerts could not be stored).',
    label: 'reason',
    values: PULL_FAILURES,
  });
  return (reason) => failures.inc({ reason });
}
