import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import {
  type CommandArguments,
  MIGRATE_ARGUMENTS,
  type Options,
  RAISE_ARGUMENTS,
  SERVE_ARGUMENTS,
  TEST_MAIL_ARGUMENTS,
  parseCommandArgs,
} from './arguments.js';
import { failureMessage } from './failure.js';
import { holdYoungGeneration } from './heap.js';
import { closestName } from './suggest.js';
import { listenForStop } from './stop-signals.js';

/** A CLI command: it parses its own arguments and returns the process exit code. */
export type Command = (args: string[]) => Promise<number>;

// Each command's module is loaded when it runs: a `serve` process (a worker above all) keeps the
// other commands' imports, such as test-mail's password hashing, out of its memory, and a command's
// --help (usage.ts), or arguments it refuses (arguments.ts), load none.
const COMMANDS: Record<string, { run: Command; summary: string; arguments: CommandArguments<Options> }> = {
  serve: {
    run: async (args) => {
      // Before serve's modules load, which would otherwise grow the young generation for good.
      holdYoungGeneration();
      // Heard from here: a stop while serve's modules load (seconds on a busy machine) ends the start gracefully.
      const stop = listenForStop();
      return (await import('./serve.js')).serveCommand(args, stop);
    },
    summary: 'run the HTTP API, the scheduler and the delivery workers',
    arguments: SERVE_ARGUMENTS,
  },
  migrate: {
    run: async (args) => (await import('./migrate.js')).migrateCommand(args),
    summary: 'apply pending database migrations and exit',
    arguments: MIGRATE_ARGUMENTS,
  },
  raise: {
    run: async (args) => (await import('./raise.js')).raiseCommand(args),
    summary: 'raise one alert through the HTTP API (token from --token, TOCSIN_TOKEN or TOCSIN_ADMIN_TOKEN)',
    arguments: RAISE_ARGUMENTS,
  },
  'test-mail': {
    run: async (args) => (await import('./test-mail.js')).testMailCommand(args),
    summary: "send a test email with a tenant's saved mail settings (--tenant T --to addr)",
    arguments: TEST_MAIL_ARGUMENTS,
  },
};

function usage(): string {
  const lines = Object.entries(COMMANDS).map(([name, c]) => `  tocsin ${name.padEnd(10)} ${c.summary}`);
  return `usage:\n${lines.join('\n')}\n\n\`tocsin help <command>\` (or \`tocsin <command> --help\`) shows its options. Configuration comes from environment variables; see README.md.`;
}

async function main(argv: string[]): Promise<number> {
  // `tocsin help raise` asks what `tocsin raise --help` does, as git's and npm's help do.
  if (argv[0] === 'help' && argv[1] !== undefined) return main([argv[1], '--help']);
  const [name, ...rest] = argv;
  if (name === '--version' || name === '-V' || name === 'version') {
    process.stdout.write(`tocsin ${packageVersion()}\n`);
    return 0;
  }
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    // Asked for, the usage is the answer (stdout, 0); without a command it is a usage error (stderr, 2).
    (name ? process.stdout : process.stderr).write(`${usage()}\n`);
    return name ? 0 : 2;
  }
  const command = COMMANDS[name];
  if (!command) {
    const near = closestName(name, Object.keys(COMMANDS));
    process.stderr.write(`tocsin: unknown command "${name}"${near ? ` (did you mean tocsin ${near}?)` : ''}\n${usage()}\n`);
    return 2;
  }
  // Asked for help, a command only says how to use it: `migrate --help` applies no migration, and
  // `serve --help` starts nothing.
  if (rest.includes('--help') || rest.includes('-h')) {
    process.stdout.write(`${command.arguments.usage}\n`);
    return 0;
  }
  // Refused before the command loads: `serve --bogus` or `test-mail` without --to waited seconds for
  // the command's modules to say one line.
  const refusal = parseCommandArgs(command.arguments, rest, process.env).refusal;
  if (refusal !== undefined) {
    process.stderr.write(refusal);
    return 2;
  }
  return command.run(rest);
}

/**
 * ignoreClosedPipe lets a command go on when the reader of its output has gone, as a command killed
 * by SIGPIPE would have nothing left to say: Node has no SIGPIPE, and the write's EPIPE was thrown,
 * a stack trace and exit 1 after `tocsin migrate` had applied its migrations. Any other error throws.
 */
function ignoreClosedPipe(err: NodeJS.ErrnoException): void {
  if (err.code !== 'EPIPE') throw err;
}

/** packageVersion is the version of package.json, two folders up from src/cli and from dist/cli alike. */
function packageVersion(): string {
  const file = fileURLToPath(new URL('../../package.json', import.meta.url));
  return (JSON.parse(fs.readFileSync(file, 'utf8')) as { version: string }).version;
}

const argv = process.argv.slice(2);
// A command that prints and ends (all but a serve that serves): a reader gone before it
// (`tocsin migrate | head -1`) only ends what it prints.
if (argv[0] !== 'serve' || argv.includes('--help') || argv.includes('-h')) {
  for (const stream of [process.stdout, process.stderr]) stream.on('error', ignoreClosedPipe);
}
main(argv).then(
  (code) => {
    if (code !== 0) process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`tocsin: ${failureMessage(err)}\n`);
    process.exitCode = 1;
  },
);
