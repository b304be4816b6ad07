import { type Severity, severityRank } from '../../alerts/severity.js';

/**
 * SEVERITY_COLOURS are the severity colours of every email: white text on each passes WCAG AA,
 * and the severity is always written out too, never shown by colour alone.
 */
export const SEVERITY_COLOURS: Readonly<Record<Severity, string>> = Object.freeze({
  Fatal: '#7f1d1d',
  Error: '#c62828',
  Warn: '#b45309',
  Info: '#1d4ed8',
  Success: '#15803d',
});

/** mostSevereFirst orders by severity, most severe first, keeping the given order within one. */
export function mostSevereFirst<T extends { readonly severity: Severity }>(items: readonly T[]): T[] {
  return [...items].sort((a, b) => severityRank(b.severity) - severityRank(a.severity));
}
