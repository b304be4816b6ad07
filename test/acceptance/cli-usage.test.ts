import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT, cleanEnv, ensureBuilt, start } from './processes.js';

const cwd = fs.mkdtempSync(path.join(os.tmpdir(), 'tocsin-cli-usage-'));

/** tocsin runs bin/tocsin.js as a user types it, in a folder of its own, and waits for its end. */
async function tocsin(...args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return tocsinWith({}, ...args);
}

/** tocsinWith runs bin/tocsin.js as tocsin does, with these variables in its environment. */
async function tocsinWith(env: Record<string, string>, ...args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const run = start('node', [path.join(REPO_ROOT, 'bin/tocsin.js'), ...args], { cwd, env: cleanEnv(env) });
  const { code } = await run.exited();
  return { code, stdout: run.stdout(), stderr: run.stderr() };
}

beforeAll(ensureBuilt, 180_000);
afterAll(() => fs.rmSync(cwd, { recursive: true, force: true }));

/** CLI_ONLY are the modules of dist/ that main.ts loads before a command: none of a server, storage or mail sender. */
const CLI_ONLY = /^(cli\/(main|usage|arguments|failure|heap|suggest|stop-signals)|shared\/(in-words|serve-roles|email-address))\.js$/;

/** tocsinNamingModules runs tocsin as tocsin does, with a loader hook that names each module of dist/ as it loads. */
async function tocsinNamingModules(...args: string[]): Promise<{ code: number | null; stdout: string; stderr: string; loaded: string[] }> {
  const hooks = `export async function load(url, context, next) { if (url.includes('/dist/')) process.stderr.write('loaded ' + url + '\\n'); return next(url, context); }`;
  const register = `import { register } from 'node:module'; register(${JSON.stringify(`data:text/javascript,${encodeURIComponent(hooks)}`)});`;
  const run = start('node', ['--import', `data:text/javascript,${encodeURIComponent(register)}`, path.join(REPO_ROOT, 'bin/tocsin.js'), ...args], {
    cwd,
    env: cleanEnv({}),
  });
  const { code } = await run.exited();
  const loaded = [...run.stderr().matchAll(/^loaded .*\/dist\/(.*)$/gm)].map((m) => m[1] ?? m[0]);
  return { code, stdout: run.stdout(), stderr: run.stderr(), loaded };
}

describe('tocsin, typed by a person', () => {
  it('answers `tocsin help <command>` with that command’s usage, as `<command> --help` does', async () => {
    // `tocsin help raise` printed the list of commands, the page that had sent the user to ask.
    for (const command of ['serve', 'migrate', 'raise', 'test-mail']) {
      const help = await tocsin('help', command);
      expect(help.code, command).toBe(0);
      expect(help.stdout, command).toBe((await tocsin(command, '--help')).stdout);
      expect(help.stdout, command).toMatch(new RegExp(`^usage: tocsin ${command}`));
    }
    // The list of commands says how to ask.
    expect((await tocsin('help')).stdout).toContain('`tocsin help <command>` (or `tocsin <command> --help`) shows its options.');
    const unknown = await tocsin('help', 'serv');
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/^tocsin: unknown command "serv"/);
    expect(fs.existsSync(path.join(cwd, 'data')), 'no ./data created').toBe(false);
  });

  it('prints a command’s help without loading the command: no server, storage or mail modules for one line', async () => {
    // `tocsin serve --help` loaded the whole server (1.1 CPU-seconds, 7 s on a busy machine) to print
    // its usage line; migrate and test-mail their storage and mail modules.
    for (const command of ['serve', 'migrate', 'raise', 'test-mail']) {
      const run = await tocsinNamingModules(command, '--help');
      expect(run.code, command).toBe(0);
      expect(run.stdout, command).toMatch(new RegExp(`^usage: tocsin ${command}`));
      expect(run.loaded, command).toContain('cli/main.js');
      expect(
        run.loaded.filter((module) => !CLI_ONLY.test(module)),
        command,
      ).toEqual([]);
    }
  });

  it('refuses an argument a command does not take, or the lack of one it needs, without loading the command: no server, storage or mail modules for one line', async () => {
    // `tocsin serve --bogus` loaded the whole server, as --help had, to say that --bogus is no option;
    // migrate and test-mail their storage and mail modules, test-mail without --to too.
    for (const [args, said] of [
      [['serve', '--bogus'], "tocsin serve: Unknown option '--bogus'"],
      [['serve', '--roles', 'api'], "tocsin serve: Unknown option '--roles' (did you mean --role?)"],
      [['serve', '--role'], "tocsin serve: Option '--role <value>' argument missing"],
      [['serve', '--role', 'foo'], 'tocsin serve: --role must be api, worker or all'],
      [['serve', '--role', 'api', '--processes', '0'], 'tocsin serve: --processes must be a whole number from 1 to 64'],
      [['migrate', '--dry-run'], "tocsin migrate: Unknown option '--dry-run'"],
      [['migrate', 'now'], "tocsin migrate: Unexpected argument 'now'"],
      [['test-mail', '--tenent', 'acme', '--to', 'ops@example.com'], "tocsin test-mail: Unknown option '--tenent' (did you mean --tenant?)"],
      [['raise', '--tennant', 'acme'], "tocsin raise: Unknown option '--tennant' (did you mean --tenant?)"],
      [['test-mail', '--tenant', 'acme'], 'tocsin test-mail: missing --to'],
      [['test-mail'], 'tocsin test-mail: missing --tenant, --to'],
      [['test-mail', '--tenant', 'acme', '--to', 'ops at example.com'], 'tocsin test-mail: --to must be an email address'],
      [['raise', '--tenant', 'acme', '--message', 'm'], 'tocsin raise: missing --severity, --component, --token (or TOCSIN_TOKEN or TOCSIN_ADMIN_TOKEN)'],
    ] as const) {
      const run = await tocsinNamingModules(...args);
      expect(run.code, args.join(' ')).toBe(2);
      expect(run.stderr.replace(/^loaded .*\n/gm, ''), args.join(' ')).toMatch(new RegExp(`^${said.replace(/[()?<>.]/g, '\\$&')}.*\nusage: tocsin ${args[0]}`));
      expect(run.loaded, args.join(' ')).toContain('cli/main.js');
      expect(
        run.loaded.filter((module) => !CLI_ONLY.test(module)),
        args.join(' '),
      ).toEqual([]);
    }
    expect(fs.existsSync(path.join(cwd, 'data')), 'no ./data created').toBe(false);
  });

  it('names the command a misspelt one is near, exiting 2, and the option of a command near a misspelt one', async () => {
    const serv = await tocsin('serv');
    expect(serv.code).toBe(2);
    expect(serv.stderr).toMatch(/^tocsin: unknown command "serv" \(did you mean tocsin serve\?\)\nusage:/);
    const far = await tocsin('start');
    expect(far.stderr).toMatch(/^tocsin: unknown command "start"\nusage:/);
    const option = await tocsin('serve', '--roles', 'api');
    expect(option.code).toBe(2);
    expect(option.stderr).toMatch(/^tocsin serve: Unknown option '--roles' \(did you mean --role\?\)\n/);
    const testMail = await tocsin('test-mail', '--tenent', 'acme', '--to', 'ops@example.com');
    expect(testMail.code).toBe(2);
    expect(testMail.stderr).toMatch(/^tocsin test-mail: Unknown option '--tenent' \(did you mean --tenant\?\)\n/);
    expect(fs.existsSync(path.join(cwd, 'data')), 'no ./data created').toBe(false);
  });

  it('says which version it is with --version (or -V, or `tocsin version`), as an operator asks before an upgrade', async () => {
    // It was an unknown command, exit 2: nothing on the machine said which Tocsin was installed.
    const { version } = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string };
    for (const asked of ['--version', '-V', 'version']) {
      const answer = await tocsin(asked);
      expect(answer.code, asked).toBe(0);
      expect(answer.stdout, asked).toBe(`tocsin ${version}\n`);
      expect(answer.stderr, asked).toBe('');
    }
  });

  it('names the setting a misspelt variable is near in `tocsin migrate` and `tocsin test-mail`, as serve does', async () => {
    // `TOCSIN_DATA_DIRR=… tocsin migrate` made and migrated ./data/tocsin.db, exit 0, without a word:
    // only serve said that the variable is no setting.
    const dataDir = path.join(cwd, 'misspelt');
    const migrated = await tocsinWith({ TOCSIN_DATA_DIRR: path.join(cwd, 'meant'), TOCSIN_DATA_DIR: dataDir }, 'migrate');
    expect(migrated.code, migrated.stderr).toBe(0);
    expect(migrated.stderr).toBe('tocsin migrate: warning: TOCSIN_DATA_DIRR is not a setting of Tocsin and is not read: did you mean TOCSIN_DATA_DIR?\n');
    const testMail = await tocsinWith(
      { TOCSIN_SECRET_KEYY: 'meant-secret-key-1234', TOCSIN_DATA_DIR: dataDir },
      'test-mail',
      '--tenant',
      'acme',
      '--to',
      'ops@example.com',
    );
    expect(testMail.stderr).toMatch(
      /^tocsin test-mail: warning: TOCSIN_SECRET_KEYY is not a setting of Tocsin and is not read: did you mean TOCSIN_SECRET_KEY\?\n/,
    );
  });

  it('says which variable is bad when `tocsin raise` finds the server by PORT, HOST or TOCSIN_PUBLIC_URL, as the server would, not a stack trace', async () => {
    // PORT=abc was tried as http://127.0.0.1:NaN ('cannot reach … Invalid URL'); a TOCSIN_PUBLIC_URL that is no
    // URL stopped it with a TypeError and its stack.
    const args = ['raise', '--tenant', 'acme', '--severity', 'Error', '--component', 'Jobs', '--message', 'm', '--token', 'tcs_x'];
    for (const [name, value, said] of [
      ['PORT', 'abc', 'must be a whole number from 0 to 65535'],
      ['HOST', 'no such host name', 'must be an address or host name of this machine'],
      ['TOCSIN_PUBLIC_URL', 'tocsin.example.com', 'must be an http:// or https:// address'],
    ] as const) {
      const raised = await tocsinWith({ [name]: value }, ...args);
      expect(raised.code, name).toBe(1);
      expect(raised.stderr, name).toMatch(new RegExp(`^tocsin: invalid configuration:\n  ${name}: ${said.replace(/[/.]/g, '\\$&')}`));
      expect(raised.stderr, name).not.toContain('    at ');
    }
  });

  it('finishes its work when the reader of its output goes away first (`tocsin migrate | head -1`): no EPIPE stack trace, exit 0', async () => {
    // Node has no SIGPIPE: the write to the closed pipe threw 'Error: write EPIPE' with its stack and
    // exit 1, after the migrations were applied, so a deploy script under pipefail stopped there.
    const dataDir = path.join(cwd, 'piped');
    for (const args of [['migrate'], ['--version'], ['raise', '--help']]) {
      const child = spawn('node', [path.join(REPO_ROOT, 'bin/tocsin.js'), ...args], {
        cwd,
        env: cleanEnv({ TOCSIN_DATA_DIR: dataDir }),
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      // The reader leaves before the first line comes.
      child.stdout.destroy();
      let stderr = '';
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
      expect(stderr, args.join(' ')).toBe('');
      expect(code, args.join(' ')).toBe(0);
    }
    expect(fs.existsSync(path.join(dataDir, 'tocsin.db'))).toBe(true);
  });
});
