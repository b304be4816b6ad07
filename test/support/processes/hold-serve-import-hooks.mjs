// The module hooks of hold-serve-import.mjs (they run on Node's loader thread).
import fs from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

let release;

export function initialize(data) {
  release = data.release;
}

export async function resolve(specifier, context, next) {
  if (release && specifier === './serve.js' && context.parentURL?.endsWith('/cli/main.js')) {
    fs.writeFileSync(`${release}.held`, '');
    while (!fs.existsSync(release)) await sleep(20);
  }
  return next(specifier, context);
}
