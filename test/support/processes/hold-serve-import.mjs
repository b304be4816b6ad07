// Loaded with `node --import` before `tocsin serve`: holds the CLI's import of serve.js (the service's
// modules, seconds on a busy machine) until the file HOLD_SERVE_RELEASE exists, having written
// HOLD_SERVE_RELEASE + '.held' to say the hold began. A test sends its signal in that window.
import { register } from 'node:module';

register('./hold-serve-import-hooks.mjs', import.meta.url, { data: { release: process.env.HOLD_SERVE_RELEASE } });
