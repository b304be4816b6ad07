import { type ParseArgsConfig, parseArgs } from 'node:util';
import { didYouMean } from './suggest.js';

/**
 * Each command's options, declared once for main.ts, which refuses arguments that do not parse
 * before it loads the command (serve's whole server, migrate's and test-mail's storage and mail
 * modules took a second of CPU, several on a busy machine, to print one line), and for the command,
 * which reads its values. This module imports nothing of the commands'.
 */
/** Options are a command's options, as parseArgs takes them. */
export type Options = NonNullable<ParseArgsConfig['options']>;

/** SERVE_OPTIONS are the options of `tocsin serve`. */
export const SERVE_OPTIONS = { role: { type: 'string' }, processes: { type: 'string' } } as const satisfies Options;

/** MIGRATE_OPTIONS are the options of `tocsin migrate`: none. */
export const MIGRATE_OPTIONS = {} as const satisfies Options;

/** RAISE_OPTIONS are the options of `tocsin raise`, every one a string. */
export const RAISE_OPTIONS = {
  tenant: { type: 'string' },
  severity: { type: 'string' },
  component: { type: 'string' },
  message: { type: 'string' },
  event: { type: 'string' },
  'dedup-key': { type: 'string' },
  folder: { type: 'string' },
  data: { type: 'string' },
  process: { type: 'string' },
  robot: { type: 'string' },
  machine: { type: 'string' },
  queue: { type: 'string' },
  job: { type: 'string' },
  'occurred-at': { type: 'string' },
  url: { type: 'string' },
  token: { type: 'string' },
} as const satisfies Options;

/** TEST_MAIL_OPTIONS are the options of `tocsin test-mail`. */
export const TEST_MAIL_OPTIONS = { tenant: { type: 'string' }, to: { type: 'string' } } as const satisfies Options;

/** Parsed is what parseCommandArgs answers: the option values, or what to print to stderr before exiting 2. */
export type Parsed<O extends Options> =
  | { values: ReturnType<typeof parseArgs<{ args: string[]; options: O; strict: true }>>['values']; refusal?: undefined }
  | { refusal: string };

/**
 * parseCommandArgs parses `tocsin <command>`'s arguments with its options: an unknown option (with
 * the one near it), a missing value or a stray word is refused as `tocsin <command>: <why>` and
 * the command's usage.
 */
export function parseCommandArgs<O extends Options>(command: string, options: O, usage: string, args: string[]): Parsed<O> {
  try {
    return { values: parseArgs({ args, options, strict: true }).values };
  } catch (err) {
    return { refusal: `tocsin ${command}: ${(err as Error).message}${didYouMean(err, Object.keys(options))}\n${usage}\n` };
  }
}
