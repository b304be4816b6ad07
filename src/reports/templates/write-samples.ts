import fs from 'node:fs';
import path from 'node:path';
import { emailSampleFiles } from './sample-files.js';

/**
 * `npm run emails:samples [dir]` writes the sample of every email in English and French (HTML, and
 * the text part under its headers) to docs/emails/, so reviewers can read them without a server.
 */
const dir = path.resolve(process.argv[2] ?? 'docs/emails');
fs.mkdirSync(dir, { recursive: true });
for (const [name, content] of emailSampleFiles()) fs.writeFileSync(path.join(dir, name), content);
process.stdout.write(`wrote the email samples to ${dir}\n`);
