/**
 * `npm run build` (also run by `npm install` through `prepare`) writes the runnable service to
 * dist/: the TypeScript compiled by tsc, the console's static files and the storage's plain modules copied as they are, and every
 * email's HTML compiled from MJML, so a running server needs neither TypeScript nor MJML.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { COMPILED_HTML_FILE, compileEmailHtml } from '../src/reports/templates/email-html.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const dist = path.join(root, 'dist');

// From empty, so a module deleted from src/ does not linger in dist/ (and in the package).
fs.rmSync(dist, { recursive: true, force: true });
execFileSync(process.execPath, [path.join(root, 'node_modules/typescript/bin/tsc'), '-p', path.join(root, 'tsconfig.build.json')], { stdio: 'inherit' });
fs.cpSync(path.join(root, 'src/console/app'), path.join(dist, 'console/app'), { recursive: true });
// The idle checkpoint's thread is plain JavaScript (tsc does not emit it), so that it runs without tsx in development too.
for (const plain of ['checkpoint-worker.js', 'idle-checkpoint.js']) fs.copyFileSync(path.join(root, 'src/storage', plain), path.join(dist, 'storage', plain));
fs.writeFileSync(path.join(dist, 'reports/templates', COMPILED_HTML_FILE), JSON.stringify(await compileEmailHtml()));
