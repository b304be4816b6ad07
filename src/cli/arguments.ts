import { type ParseArgsConfig, parseArgs } from 'node:util';
import { isEmailAddress } from '../shared/email-address.js';
import { inWords } from '../shared/in-words.js';
import { MAX_API_PROCESSES, ROLES, isApiProcesses } from '../shared/serve-roles.js';
import { didYouMean } from './suggest.js';
import { MIGRATE_USAGE, RAISE_USAGE, SERVE_USAGE, TEST_MAIL_USAGE } from './usage.js';

/**
 * Each command's arguments, declared once for main.ts, which refuses arguments that do not parse, or
 * lack what the command needs, before it loads the command (serve's whole server, migrate's and
 * test-mail's storage and mail modules took a second of CPU, several on a busy machine, to print one
 * line), and for the command, which reads its values. This module imports nothing of the commands'.
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

/** Values are the option values parseArgs reads with these options. */
export type Values<O extends Options> = ReturnType<typeof parseArgs<{ args: string[]; options: O; strict: true }>>['values'];

/** CommandArguments declare a command's arguments: its name, options and usage, and what it cannot go without. */
export interface CommandArguments<O extends Options> {
  readonly command: string;
  readonly options: O;
  readonly usage: string;
  /** missing names what the command cannot go without and was not given (`--tenant`): nothing when absent. */
  missing?(values: Values<O>, env: NodeJS.ProcessEnv): string[];
  /** invalid says which given values the command cannot take, and what it takes (`--role must be …`): nothing when absent. */
  invalid?(values: Values<O>): string[];
}

/** SERVE_ARGUMENTS are the arguments of `tocsin serve`. */
export const SERVE_ARGUMENTS: CommandArguments<typeof SERVE_OPTIONS> = {
  command: 'serve',
  options: SERVE_OPTIONS,
  usage: SERVE_USAGE,
  // Typed on the command line, a bad value is a usage error (exit 2, before the server loads), as a
  // bad option is: it was the configuration's (exit 1, after a second of loading). TOCSIN_ROLE and
  // TOCSIN_API_PROCESSES set in the environment stay the configuration's to refuse.
  invalid: (values) => [
    ...(values.role !== undefined && !(ROLES as readonly string[]).includes(values.role) ? [`--role must be ${inWords(ROLES)}`] : []),
    ...(values.processes !== undefined && !isApiProcesses(values.processes) ? [`--processes must be a whole number from 1 to ${MAX_API_PROCESSES}`] : []),
  ],
};

/** MIGRATE_ARGUMENTS are the arguments of `tocsin migrate`: none. */
export const MIGRATE_ARGUMENTS: CommandArguments<typeof MIGRATE_OPTIONS> = { command: 'migrate', options: MIGRATE_OPTIONS, usage: MIGRATE_USAGE };

/**
 * raiseToken is the token `tocsin raise` sends: --token, else TOCSIN_TOKEN, else the host
 * administrator's TOCSIN_ADMIN_TOKEN, as a shell set up to run `tocsin serve` has it. A variable set
 * to spaces is unset, as the server reads its own (loadConfig): an env file's `TOCSIN_TOKEN= `.
 */
export function raiseToken(values: Values<typeof RAISE_OPTIONS>, env: NodeJS.ProcessEnv): string | undefined {
  const setting = (name: string) => env[name]?.trim() || undefined;
  return values.token ?? setting('TOCSIN_TOKEN') ?? setting('TOCSIN_ADMIN_TOKEN');
}

/** RAISE_ARGUMENTS are the arguments of `tocsin raise`: an alert's tenant, severity, component and message, and a token. */
export const RAISE_ARGUMENTS: CommandArguments<typeof RAISE_OPTIONS> = {
  command: 'raise',
  options: RAISE_OPTIONS,
  usage: RAISE_USAGE,
  missing: (values, env) => [
    ...(['tenant', 'severity', 'component', 'message'] as const).filter((k) => !values[k]).map((k) => `--${k}`),
    ...(raiseToken(values, env) ? [] : ['--token (or TOCSIN_TOKEN or TOCSIN_ADMIN_TOKEN)']),
  ],
  // A list, a string or a number parse as JSON too: they were posted, and the server's 400 made a
  // mistyped option exit 1, as a refused alert does, where a --data that is no JSON at all exits 2.
  invalid: (values) => (values.data !== undefined && !isJsonObject(values.data) ? ['--data must be a JSON object, such as \'{"k":"v"}\''] : []),
};

/** isJsonObject tells whether a text is a JSON object (`{…}`), not a list, a string, a number, true, false or null. */
function isJsonObject(text: string): boolean {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null && !Array.isArray(value);
  } catch {
    return false;
  }
}

/** TEST_MAIL_ARGUMENTS are the arguments of `tocsin test-mail`: a tenant and an address, both needed. */
export const TEST_MAIL_ARGUMENTS: CommandArguments<typeof TEST_MAIL_OPTIONS> = {
  command: 'test-mail',
  options: TEST_MAIL_OPTIONS,
  usage: TEST_MAIL_USAGE,
  missing: (values) => [...(values.tenant ? [] : ['--tenant']), ...(values.to ? [] : ['--to'])],
  // Says what is wrong, as `tocsin raise` does: the usage alone did not tell a mistyped address from
  // a missing one. Before the command loads: its storage and mail modules took a second to say it.
  invalid: (values) => (values.to !== undefined && !isEmailAddress(values.to) ? ['--to must be an email address'] : []),
};

/** Parsed is what parseCommandArgs answers: the option values, or what to print to stderr before exiting 2. */
export type Parsed<O extends Options> = { values: Values<O>; refusal?: undefined } | { refusal: string };

/**
 * parseCommandArgs parses a command's arguments as declared: an unknown option (with the one near
 * it), a missing value, a stray word, a needed option not given or a value the command cannot take is refused as
 * `tocsin <command>: <why>` and the command's usage.
 */
export function parseCommandArgs<O extends Options>(declared: CommandArguments<O>, args: string[], env: NodeJS.ProcessEnv): Parsed<O> {
  let values: Values<O>;
  try {
    ({ values } = parseArgs({ args, options: declared.options, strict: true }));
  } catch (err) {
    return { refusal: `tocsin ${declared.command}: ${(err as Error).message}${didYouMean(err, Object.keys(declared.options))}\n${declared.usage}\n` };
  }
  const missing = declared.missing?.(values, env) ?? [];
  if (missing.length > 0) return { refusal: `tocsin ${declared.command}: missing ${missing.join(', ')}\n${declared.usage}\n` };
  const invalid = declared.invalid?.(values) ?? [];
  if (invalid.length > 0) return { refusal: `tocsin ${declared.command}: ${invalid.join('; ')}\n${declared.usage}\n` };
  return { values };
}
