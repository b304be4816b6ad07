#!/usr/bin/env node
// Runs the compiled CLI that `npm install` (the `prepare` script) or `npm run build` writes to dist/.
import '../dist/cli/main.js';
