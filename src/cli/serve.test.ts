import path from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { ConfigError } from '../shared/config-error.js';
import { loadConfig } from '../config.js';
import { banner, serveCommand, shownSystemSmtp } from './serve.js';
import type { StopSignals } from './stop-signals.js';
import { SERVE_USAGE } from './usage.js';

describe('tocsin serve given a bad option value', () => {
  it('refuses a bad --role or --processes as the usage error it is (exit 2, the usage), naming what it takes, and starts nothing', async () => {
    // `serve --role foo` was the configuration's error, exit 1, after the server's modules loaded;
    // every other bad argument of the CLI exits 2 with the command's usage.
    for (const [args, said] of [
      [['--role', 'api', '--processes', '0'], 'tocsin serve: --processes must be a whole number from 1 to 64\n'],
      [['--role', 'api', '--processes', 'two'], 'tocsin serve: --processes must be a whole number from 1 to 64\n'],
      [['--role', 'API'], 'tocsin serve: --role must be api, worker or all\n'],
      [['--role', 'foo', '--processes', '0x10'], 'tocsin serve: --role must be api, worker or all; --processes must be a whole number from 1 to 64\n'],
    ] as const) {
      const written: string[] = [];
      const stderr = vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => written.push(String(chunk)) > 0);
      try {
        expect(await serveCommand([...args]), args.join(' ')).toBe(2);
      } finally {
        stderr.mockRestore();
      }
      expect(written.join(''), args.join(' ')).toBe(`${said}${SERVE_USAGE}\n`);
    }
  });

  it('leaves a bad TOCSIN_ROLE in the environment to the configuration, which names the variable', async () => {
    const saved = process.env.TOCSIN_ROLE;
    process.env.TOCSIN_ROLE = 'API';
    try {
      const failure = await serveCommand([]).catch((err: unknown) => err);
      expect(failure).toBeInstanceOf(ConfigError);
      expect((failure as Error).message).toMatch(/\n {2}TOCSIN_ROLE: must be api, worker or all$/);
    } finally {
      if (saved === undefined) delete process.env.TOCSIN_ROLE;
      else process.env.TOCSIN_ROLE = saved;
    }
  });
});

describe('tocsin serve given several api processes without the api role', () => {
  it('names what the operator set, the variable or the option, and the role that several processes need', async () => {
    // TOCSIN_API_PROCESSES=4 alone was refused as '--processes (TOCSIN_API_PROCESSES): … for --role api only',
    // an option nobody typed, and without the variable that sets the role from the same environment.
    const saved = { processes: process.env.TOCSIN_API_PROCESSES, role: process.env.TOCSIN_ROLE };
    process.env.TOCSIN_API_PROCESSES = '4';
    delete process.env.TOCSIN_ROLE;
    try {
      const fromEnv = await serveCommand([]).catch((err: unknown) => err);
      expect(fromEnv).toBeInstanceOf(ConfigError);
      expect((fromEnv as Error).message).toBe(
        'invalid configuration:\n  TOCSIN_API_PROCESSES: several processes on one port are for the api role only (TOCSIN_ROLE=api or --role api)',
      );
      const fromOption = await serveCommand(['--processes', '2', '--role', 'all']).catch((err: unknown) => err);
      expect((fromOption as Error).message).toBe(
        'invalid configuration:\n  --processes (TOCSIN_API_PROCESSES): several processes on one port are for the api role only (TOCSIN_ROLE=api or --role api)',
      );
    } finally {
      for (const [name, value] of [
        ['TOCSIN_API_PROCESSES', saved.processes],
        ['TOCSIN_ROLE', saved.role],
      ] as const) {
        if (value === undefined) delete process.env[name];
        else process.env[name] = value;
      }
    }
  });
});

describe('tocsin serve stopped while its modules load', () => {
  it("hears a stop signal that reaches its handler at the event loop's next turn, and starts nothing", async () => {
    // Node 22 and 24 load serve.js's modules without a turn of the event loop, and a signal is handed
    // to listenForStop's handler only at a turn: a SIGTERM sent during the load was heard after
    // serveCommand had asked whether one came, and the service started (migrations applied, "Tocsin
    // is running" printed) before it stopped. This stop is aborted at that next turn. Had the
    // service started, its database (under a file, which no one can make a folder of) would have failed it.
    const controller = new AbortController();
    setImmediate(() => controller.abort());
    const stop: StopSignals = { signal: controller.signal, received: new Promise(() => undefined), onRepeat: () => undefined };
    const saved = process.env.DATABASE_URL;
    process.env.DATABASE_URL = `sqlite:${path.join('/dev/null', 'tocsin.db')}`;
    try {
      expect(await serveCommand([], stop)).toBe(0);
    } finally {
      if (saved === undefined) delete process.env.DATABASE_URL;
      else process.env.DATABASE_URL = saved;
    }
  });
});

describe("tocsin serve's banner", () => {
  const shown = { url: 'http://127.0.0.1:8080/', database: 'SQLite ./data/tocsin.db', smtp: 'smtp://mail.example.com:587', generatedAdminToken: undefined };

  it("says of a worker's URL that it serves no console, which the api processes serve", () => {
    // "Tocsin is running: http://127.0.0.1:8080/" from a worker: the operator who opened it got a 404 and no word why.
    const running = banner(loadConfig({ TOCSIN_ROLE: 'worker' }), shown).split('\n')[1];
    expect(running).toBe('  Tocsin is running: http://127.0.0.1:8080/ (worker: /healthz, /readyz and /metrics only; the console is on the api processes)');
    for (const role of ['api', 'all']) {
      expect(banner(loadConfig({ TOCSIN_ROLE: role }), shown).split('\n')[1], role).toBe('  Tocsin is running: http://127.0.0.1:8080/');
    }
  });

  it('says where the emails the built-in mail catcher takes can be read, and says nothing of it for another SMTP server', () => {
    const caught = { ...shown, smtp: 'built-in mail catcher at smtp://127.0.0.1:2525', mailCatcherPage: 'http://127.0.0.1:8080/#/host/catcher' };
    expect(banner(loadConfig({}), caught)).toContain(
      '\n  Caught emails:     http://127.0.0.1:8080/#/host/catcher (signed in with the admin token), or GET /api/v1/system/mail-catcher/messages\n',
    );
    expect(banner(loadConfig({}), shown)).not.toContain('Caught emails');
  });

  it('says of a token kept from an earlier start that it may be the TOCSIN_ADMIN_TOKEN of then, not only one generated', () => {
    // Started once with TOCSIN_ADMIN_TOKEN, then without: that value still signs in, and the banner
    // said "generated on first start", sending the operator after a token no start ever printed.
    expect(banner(loadConfig({}), shown)).toContain(
      '\n  Admin token:       kept from an earlier start: the one generated then, or TOCSIN_ADMIN_TOKEN as it was then (set TOCSIN_ADMIN_TOKEN to replace it)\n',
    );
    expect(banner(loadConfig({ TOCSIN_ADMIN_TOKEN: 'a-token-of-the-operator' }), shown)).toContain('\n  Admin token:       from TOCSIN_ADMIN_TOKEN\n');
  });
});

describe("tocsin serve's System SMTP line", () => {
  it('names the system default saved in System mail settings, which every email goes through, and what it is used instead of', () => {
    expect(shownSystemSmtp('smtps://ops:pw@mail.example.com', false, undefined)).toBe('smtps://ops:***@mail.example.com');
    expect(shownSystemSmtp('smtp://127.0.0.1:2525', true, undefined)).toBe('built-in mail catcher at smtp://127.0.0.1:2525');
    // It named the variable's server (or the catcher) while the saved one took every email.
    expect(shownSystemSmtp('smtps://ops:pw@mail.example.com', false, 'smtp://saved.example.com:587')).toBe(
      'smtp://saved.example.com:587, saved in System mail settings (used instead of TOCSIN_SMTP_URL smtps://ops:***@mail.example.com)',
    );
    expect(shownSystemSmtp('smtp://127.0.0.1:2525', true, 'smtps://saved.example.com:465')).toBe(
      'smtps://saved.example.com:465, saved in System mail settings (used instead of the built-in mail catcher at smtp://127.0.0.1:2525)',
    );
  });
});
