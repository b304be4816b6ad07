import { WINDOWS_TO_IANA_MAP } from 'windows-iana';
import { isTimeZone, zoneSpelling } from '../shared/validation.js';

/**
 * RENAMED_BY_IANA are the zones that CLDR's Windows mapping names by a name IANA has since retired
 * for another (keeping the old one only as a link): CLDR's own ids never change, and its newer data
 * gives the IANA name beside them, which windows-iana does not carry. Taken from the 001 targets of
 * WINDOWS_TO_IANA_MAP that are links in tzdata's `backward` file.
 */
const RENAMED_BY_IANA: Readonly<Record<string, string>> = {
  'America/Buenos_Aires': 'America/Argentina/Buenos_Aires',
  'America/Godthab': 'America/Nuuk',
  'America/Indianapolis': 'America/Indiana/Indianapolis',
  'Asia/Calcutta': 'Asia/Kolkata',
  'Asia/Katmandu': 'Asia/Kathmandu',
  'Asia/Rangoon': 'Asia/Yangon',
  'Europe/Kiev': 'Europe/Kyiv',
};

/** ianaName is a zone by IANA's current name, when it has one that the runtime knows. */
function ianaName(cldr: string): string {
  const renamed = RENAMED_BY_IANA[cldr];
  return renamed !== undefined && isTimeZone(renamed) ? renamed : cldr;
}

/** Each Windows time zone id (lower-cased) → its IANA zone, CLDR's territory 001 (the zone's own region). */
const WINDOWS_ZONES = new Map(
  WINDOWS_TO_IANA_MAP.filter((z) => z.territory === '001').map((z) => [z.windowsName.toLowerCase(), ianaName(z.iana[0]!)] as const),
);

/**
 * orchestratorZone reads an `Abp.Timing.TimeZone` value as Orchestrator's scripts write it: ABP
 * keeps Windows time zone ids (`Romance Standard Time`), Tocsin IANA names (`Europe/Paris`). Either,
 * in any case, white space around it dropped, is the IANA zone as IANA spells it (a Windows id by
 * IANA's current name: Nepal Standard Time is Asia/Kathmandu, not CLDR's Asia/Katmandu); undefined
 * when it is neither.
 */
export function orchestratorZone(value: string): string | undefined {
  // White space around either is dropped, as the REST timeZone fields drop it.
  const name = value.trim();
  if (isTimeZone(name)) return zoneSpelling(name);
  return WINDOWS_ZONES.get(name.toLowerCase());
}
