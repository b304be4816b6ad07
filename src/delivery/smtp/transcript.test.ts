import { describe, expect, it } from 'vitest';
import { createTranscript } from './transcript.js';

describe('the SMTP dialogue of Test Mail Settings', () => {
  it('says a connection was established without an address the socket no longer knew (reset at once), not "undefined:undefined"', () => {
    const transcript = createTranscript({ values: [] });
    // nodemailer's own words, with the socket's remoteAddress and remotePort, gone once a reset came first.
    transcript.logger.info({ tnx: 'network' }, '%s established to %s:%s', 'Connection', undefined, undefined);
    transcript.logger.info({ tnx: 'network' }, '%s established to %s:%s', 'Secure connection', '127.0.0.1', 465);
    expect(transcript.lines()).toEqual(['* Connection established', '* Secure connection established to 127.0.0.1:465']);
  });
});
