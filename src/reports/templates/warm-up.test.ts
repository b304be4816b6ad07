import { simpleParser } from 'mailparser';
import { describe, expect, it } from 'vitest';
import { LANGUAGES } from '../../i18n/languages.js';
import { renderImmediateEmail } from './immediate-email.js';
import { sampleContext, sampleImmediate } from './samples.js';
import { warmImmediateEmails } from './warm-up.js';

describe('warmImmediateEmails', () => {
  it("encodes the sample Fatal alert's email in every language, alone and shared by recipients, as messages a server would take", async () => {
    const messages = warmImmediateEmails();
    expect(messages).toHaveLength(2 * LANGUAGES.length);
    for (const [i, language] of LANGUAGES.entries()) {
      const expected = renderImmediateEmail(sampleImmediate(sampleContext(language)));
      for (const bytes of messages.slice(2 * i, 2 * i + 2)) {
        const parsed = await simpleParser(bytes);
        expect(parsed.subject).toBe(expected.subject);
        expect(parsed.to).toMatchObject({ value: [{ address: 'warm-up@warm-up.invalid' }] });
        expect(parsed.html).toBe(expected.html);
        expect(parsed.text?.trim()).toBe(expected.text.trim());
      }
    }
  });
});
