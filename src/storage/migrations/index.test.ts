import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { MIGRATIONS } from './index.js';

const here = new URL('./', import.meta.url);
const files = fs.readdirSync(here).filter((f) => /^\d{8}-\d{2}-[\w-]+\.ts$/.test(f) && !f.endsWith('.test.ts'));

describe('the migration list', () => {
  it('lists every migration file of the folder, by its file name', () => {
    expect(Object.keys(MIGRATIONS).sort()).toEqual(files.map((f) => f.replace(/\.ts$/, '')).sort());
  });

  it('loads each migration from the file its name says', () => {
    // A name recorded in the database must keep meaning the same file, so a copied line that
    // imports another file is an error even when the folder and the list have the same names.
    const source = fs.readFileSync(new URL('./index.ts', here), 'utf8');
    for (const name of Object.keys(MIGRATIONS)) expect(source).toContain(`'${name}': () => import('./${name}.js')`);
  });

  it('gives every migration an up function', async () => {
    for (const load of Object.values(MIGRATIONS)) expect(typeof (await load()).up).toBe('function');
  });
});
