/** SEVERITIES are the alert severities from least to most severe; the index is the stored rank. */
export const SEVERITIES = ['Info', 'Success', 'Warn', 'Error', 'Fatal'] as const;

/** Severity is one of SEVERITIES. */
export type Severity = (typeof SEVERITIES)[number];

const BY_LOWER_NAME: ReadonlyMap<string, Severity> = new Map([
  ...SEVERITIES.map((s) => [s.toLowerCase(), s] as const),
  // The Raise Alert activity's UI says "Warning"; Orchestrator's API says "Warn".
  ['warning', 'Warn'],
]);

// The canonical names, found as given: every alert of a batch is parsed, most spelled so.
const BY_NAME: ReadonlyMap<string, Severity> = new Map(SEVERITIES.map((s) => [s, s] as const));

/** parseSeverity reads a severity name, ignoring case and accepting `Warning` for `Warn`. */
export function parseSeverity(value: string): Severity | undefined {
  return BY_NAME.get(value) ?? BY_LOWER_NAME.get(value.toLowerCase());
}

/** severityRank is a severity's place on the ladder (Info 0 … Fatal 4), which is what is stored. */
export function severityRank(severity: Severity): number {
  return SEVERITIES.indexOf(severity);
}

/** severityOfRank is the inverse of severityRank; unknown ranks read as Info. */
export function severityOfRank(rank: number): Severity {
  return SEVERITIES[rank] ?? 'Info';
}

/** SEVERITY_MESSAGE is the one wording of an invalid severity, shared by every API that takes one. */
export const SEVERITY_MESSAGE = 'must be one of Info, Success, Warn, Error, Fatal (Warning is accepted for Warn)';
