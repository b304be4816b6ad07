import { writeMime, prepareMime } from '../../delivery/smtp/mime.js';
import { LANGUAGES } from '../../i18n/languages.js';
import { ImmediateEmailCache } from './immediate-cache.js';
import { renderImmediateEmail } from './immediate-email.js';
import { sampleContext, sampleImmediate } from './samples.js';

/**
 * warmImmediateEmails renders the sample Fatal alert's immediate email once in every language and
 * encodes it as MIME, as a sending process does for a real one (alone, and through the cache shared
 * by an alert's recipients), and returns the messages' bytes. Run once at the start of a sending
 * process, it takes off the first real Fatal alert's path what only the first email of a process
 * pays: Handlebars compiles the template at its first fill, each language's messages and Intl
 * formats are built at their first use, and V8 parses and compiles each function of the render and
 * the MIME at its first call. The first Fatal alert after a start took 108-250 ms to its email
 * where the next ones took about 10 (bench/hot-paths.md, 2026-12-07 rv73c). Nothing is stored or sent.
 */
export function warmImmediateEmails(): Buffer[] {
  const cache = new ImmediateEmailCache();
  return LANGUAGES.flatMap((language) => {
    const view = sampleImmediate(sampleContext(language));
    const send = { from: { name: 'Tocsin', address: 'tocsin@warm-up.invalid' }, to: { name: 'Warm-up', address: 'warm-up@warm-up.invalid' }, date: new Date() };
    const alone = renderImmediateEmail(view);
    const shared = cache.render(view);
    return [
      writeMime(prepareMime(alone), { ...send, messageId: `<warm-up-${language}@tocsin>` }),
      writeMime(shared.prepared!.template, { ...send, messageId: `<warm-up-${language}-shared@tocsin>`, values: shared.prepared!.values }),
    ];
  });
}
