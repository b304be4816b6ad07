import { describe, expect, it } from 'vitest';
import { orchestratorZone } from './windows-zones.js';

describe('Abp.Timing.TimeZone as Orchestrator writes it', () => {
  it('reads a Windows id as the zone IANA names today, not the former name CLDR keeps for it', () => {
    // CLDR maps Nepal Standard Time to Asia/Katmandu, a name IANA keeps only as a link to Asia/Kathmandu: every email of
    // such a tenant said 'Times are shown in Asia/Katmandu (UTC+05:45)', one set over REST 'Asia/Kathmandu (UTC+05:45)'.
    expect(orchestratorZone('Nepal Standard Time')).toBe('Asia/Kathmandu');
    expect(orchestratorZone('India Standard Time')).toBe('Asia/Kolkata');
    expect(orchestratorZone('FLE Standard Time')).toBe('Europe/Kyiv');
    expect(orchestratorZone('Myanmar Standard Time')).toBe('Asia/Yangon');
    expect(orchestratorZone('Greenland Standard Time')).toBe('America/Nuuk');
    expect(orchestratorZone('Argentina Standard Time')).toBe('America/Argentina/Buenos_Aires');
    expect(orchestratorZone('US Eastern Standard Time')).toBe('America/Indiana/Indianapolis');
    // Those CLDR names as IANA writes them are kept; an IANA name, as typed, is as before.
    expect(orchestratorZone('Romance Standard Time')).toBe('Europe/Paris');
    expect(orchestratorZone('Newfoundland Standard Time')).toBe('America/St_Johns');
    expect(orchestratorZone('Dateline Standard Time')).toBe('Etc/GMT+12');
    expect(orchestratorZone('Asia/Calcutta')).toBe('Asia/Calcutta');
    expect(orchestratorZone('Mars Standard Time')).toBeUndefined();
  });
});
