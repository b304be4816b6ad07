import { describe, expect, it } from 'vitest';
import { firstKnownZone } from './validation.js';

describe('firstKnownZone', () => {
  it('is the first stored zone the runtime knows, passing over unknown and missing ones, else UTC', () => {
    expect(firstKnownZone('Europe/Paris')).toBe('Europe/Paris');
    // A zone saved by a runtime with newer tzdata is passed over for the tenant's, not read as no zone.
    expect(firstKnownZone('Mars/Olympus', 'Asia/Tokyo')).toBe('Asia/Tokyo');
    expect(firstKnownZone(null, undefined, '', 'America/New_York')).toBe('America/New_York');
    expect(firstKnownZone('Mars/Olympus')).toBe('UTC');
    expect(firstKnownZone()).toBe('UTC');
  });
});
