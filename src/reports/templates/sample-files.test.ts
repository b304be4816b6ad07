import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { emailSampleFiles } from './sample-files.js';

const DOCS = path.resolve(import.meta.dirname, '../../../docs/emails');

describe('docs/emails', () => {
  it('holds the samples as the templates render them today (npm run emails:samples writes them)', () => {
    const files = emailSampleFiles();
    const stale = [...files].filter(([name, content]) => !fs.existsSync(path.join(DOCS, name)) || fs.readFileSync(path.join(DOCS, name), 'utf8') !== content);
    expect(
      stale.map(([name]) => name),
      'out of date: run npm run emails:samples',
    ).toEqual([]);
    const leftOver = fs.readdirSync(DOCS).filter((name) => name !== 'README.md' && !files.has(name));
    expect(leftOver, 'no longer written by npm run emails:samples').toEqual([]);
  });

  it("shows the daily report of a new tenant's period, ending at the default report time, as it is sent", () => {
    const files = emailSampleFiles();
    expect(files.get('daily.en.txt')).toContain('135 alerts from Nov 26, 2026, 10:00 to Nov 27, 2026, 10:00.');
    expect(files.get('daily-quiet.fr.txt')).toContain('Aucune alerte du 26 nov. 2026, 10:00 au 27 nov. 2026, 10:00');
  });
});
