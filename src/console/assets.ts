import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { PERMISSIONS } from '../access/permissions.js';
import { RETENTION_DAYS } from '../access/retention-days.js';

/** Asset is one file the console serves, read once at start-up. */
export interface Asset {
  readonly body: Buffer;
  readonly type: string;
  readonly etag: string;
}

/** APP_DIR holds the console's own modules, styles and strings, served as they are. */
export const APP_DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), 'app');

/**
 * VENDOR_MODULES maps the bare specifiers of the import map to the packages' own ES module
 * builds, so the browser loads them without a bundler.
 */
export const VENDOR_MODULES: Readonly<Record<string, string>> = {
  preact: 'preact/dist/preact.mjs',
  'preact/hooks': 'preact/hooks/dist/hooks.mjs',
  htm: 'htm/dist/htm.module.js',
  luxon: 'luxon/build/es6/luxon.mjs',
  uplot: 'uplot/dist/uPlot.esm.js',
};

/**
 * SHARED_MODULES are console modules written from the server's own definitions, so the console
 * and the API hold one copy of them: their bare specifiers are in the import map, and
 * tsconfig.console.json resolves the same specifiers to the TypeScript they are written from.
 */
export const SHARED_MODULES: Readonly<Record<string, string>> = {
  'tocsin/permissions': `export const PERMISSIONS = ${JSON.stringify(PERMISSIONS)};\n`,
  'tocsin/retention': `export const RETENTION_DAYS = ${JSON.stringify(RETENTION_DAYS)};\n`,
};

/** VENDOR_STYLES are the style sheets that vendor modules need, served at /console/vendor/<name>.css. */
export const VENDOR_STYLES: Readonly<Record<string, string>> = {
  uplot: 'uplot/dist/uPlot.min.css',
};

const TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.html': 'text/html; charset=utf-8',
  '.svg': 'image/svg+xml',
};

/** vendorUrl is where the console serves the module behind a bare specifier. */
export function vendorUrl(specifier: string): string {
  return `/console/vendor/${specifier.replace('/', '-')}.mjs`;
}

/** sharedUrl is where the console serves the shared module behind a bare specifier. */
export function sharedUrl(specifier: string): string {
  return `/console/shared/${specifier.replace('/', '-')}.js`;
}

/** vendorStyleUrl is where the console serves a vendor module's style sheet. */
export function vendorStyleUrl(name: string): string {
  return `/console/vendor/${name}.css`;
}

/**
 * loadAssets reads every file under APP_DIR and the vendor modules into memory, keyed by the URL
 * they are served at. A fixed table (rather than a path from the request) means no request can
 * reach a file outside it.
 */
export function loadAssets(): Map<string, Asset> {
  const assets = new Map<string, Asset>();
  for (const file of fs.readdirSync(APP_DIR, { recursive: true, encoding: 'utf8' })) {
    const full = path.join(APP_DIR, file);
    const type = TYPES[path.extname(file)];
    if (!type || !fs.statSync(full).isFile()) continue;
    assets.set(`/console/${file.split(path.sep).join('/')}`, asset(fs.readFileSync(full), type));
  }
  for (const [specifier, file] of Object.entries(VENDOR_MODULES)) {
    assets.set(vendorUrl(specifier), asset(fs.readFileSync(packageFile(file)), TYPES['.mjs']!));
  }
  for (const [specifier, source] of Object.entries(SHARED_MODULES)) {
    assets.set(sharedUrl(specifier), asset(Buffer.from(source), TYPES['.js']!));
  }
  for (const [name, file] of Object.entries(VENDOR_STYLES)) {
    assets.set(vendorStyleUrl(name), asset(fs.readFileSync(packageFile(file)), TYPES['.css']!));
  }
  return assets;
}

function asset(body: Buffer, type: string): Asset {
  return { body, type, etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"` };
}

/** Finds a file of an installed package; the packages' `exports` maps hide their ES builds from require.resolve. */
function packageFile(file: string): string {
  for (let dir = APP_DIR; ; dir = path.dirname(dir)) {
    const candidate = path.join(dir, 'node_modules', file);
    if (fs.existsSync(candidate)) return candidate;
    if (path.dirname(dir) === dir) throw new Error(`console: ${file} is not installed`);
  }
}
