import { WINDOWS_TO_IANA_MAP } from 'windows-iana';
import { isTimeZone, zoneSpelling } from '../shared/validation.js';

/** Each Windows time zone id (lower-cased) → its IANA zone, CLDR's territory 001 (the zone's own region). */
const WINDOWS_ZONES = new Map(WINDOWS_TO_IANA_MAP.filter((z) => z.territory === '001').map((z) => [z.windowsName.toLowerCase(), z.iana[0]!] as const));

/**
 * orchestratorZone reads an `Abp.Timing.TimeZone` value as Orchestrator's scripts write it: ABP
 * keeps Windows time zone ids (`Romance Standard Time`), Tocsin IANA names (`Europe/Paris`). Either,
 * in any case, white space around it dropped, is the IANA zone as IANA spells it; undefined when it is neither.
 */
export function orchestratorZone(value: string): string | undefined {
  // White space around either is dropped, as the REST timeZone fields drop it.
  const name = value.trim();
  if (isTimeZone(name)) return zoneSpelling(name);
  return WINDOWS_ZONES.get(name.toLowerCase());
}
