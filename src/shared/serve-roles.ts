/**
 * What `tocsin serve` runs, read by the configuration (TOCSIN_ROLE, TOCSIN_API_PROCESSES) and by the
 * CLI, which refuses `--role` and `--processes` before it loads the server. This module imports nothing.
 */

/** ROLES are the roles a Tocsin process takes: the HTTP API, the delivery workers, or both. */
export const ROLES = ['api', 'worker', 'all'] as const;

/** Role is one of ROLES. */
export type Role = (typeof ROLES)[number];

/** MAX_API_PROCESSES is the most api processes one port takes (TOCSIN_API_PROCESSES, --processes). */
export const MAX_API_PROCESSES = 64;

/** isApiProcesses tells whether a text is a count of api processes: decimal digits, from 1 to MAX_API_PROCESSES. */
export function isApiProcesses(text: string): boolean {
  const trimmed = text.trim();
  return /^\d+$/.test(trimmed) && Number(trimmed) >= 1 && Number(trimmed) <= MAX_API_PROCESSES;
}
