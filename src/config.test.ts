import { spawnSync } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { configWarnings, loadConfig } from './config.js';
import { ConfigError } from './shared/config-error.js';

describe('the database pool setting', () => {
  it('defaults to a pool of 5 and takes TOCSIN_DB_POOL_SIZE', () => {
    expect(loadConfig({}).dbPoolSize).toBe(5);
    expect(loadConfig({ TOCSIN_DB_POOL_SIZE: '12' }).dbPoolSize).toBe(12);
  });

  it('stops the start naming the variable when the size is not a positive whole number', () => {
    for (const value of ['0', '-1', '2.5', 'ten']) {
      expect(() => loadConfig({ TOCSIN_DB_POOL_SIZE: value })).toThrow(ConfigError);
      expect(() => loadConfig({ TOCSIN_DB_POOL_SIZE: value })).toThrow(/TOCSIN_DB_POOL_SIZE/);
    }
  });
});

describe('the defaults', () => {
  it("are README's, when no variable is set: a changed default changes what every installation that left it unset does", () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      port: 8080,
      host: '127.0.0.1',
      role: 'all',
      apiProcesses: 1,
      databaseUrl: `sqlite:${path.resolve('data', 'tocsin.db')}`,
      databaseSetting: 'TOCSIN_DATA_DIR',
      dataDir: path.resolve('data'),
      summaryIntervalSeconds: 600,
      floodWindowMs: 600_000,
      deliveryDeadlineMs: 24 * 3_600_000,
      actionLinkMs: 7 * 86_400_000,
      sourceRequestsPerMinute: 60_000,
      mailCatcherPort: 2525,
      allowPrivateSmtpHosts: true,
    });
    // The setting that chose the database is what a start that cannot open it names.
    expect(loadConfig({ DATABASE_URL: 'sqlite:./x.db' }).databaseSetting).toBe('DATABASE_URL');
  });
});

describe('the lean heap setting', () => {
  it('is off unless TOCSIN_LEAN_HEAP turns it on, in any role', () => {
    expect(loadConfig({ TOCSIN_ROLE: 'worker' }).leanHeap).toBe(false);
    expect(loadConfig({}).leanHeap).toBe(false);
    expect(loadConfig({ TOCSIN_ROLE: 'worker', TOCSIN_LEAN_HEAP: 'true' }).leanHeap).toBe(true);
    expect(loadConfig({ TOCSIN_ROLE: 'api', TOCSIN_LEAN_HEAP: 'yes' }).leanHeap).toBe(true);
    expect(() => loadConfig({ TOCSIN_LEAN_HEAP: 'small' })).toThrow(/TOCSIN_LEAN_HEAP/);
  });
});

describe('the warm-up setting', () => {
  it('is off unless TOCSIN_WARM_UP_ALERTS names how many alerts, at most 1000', () => {
    expect(loadConfig({}).warmUpAlerts).toBe(0);
    expect(loadConfig({ TOCSIN_WARM_UP_ALERTS: '300' }).warmUpAlerts).toBe(300);
    expect(() => loadConfig({ TOCSIN_WARM_UP_ALERTS: '1001' })).toThrow(/TOCSIN_WARM_UP_ALERTS: must be a whole number from 0 to 1000/);
  });
});

describe('the switches', () => {
  it('take true and false in any case, as a template writing a YAML boolean (False) gives them', () => {
    for (const value of ['false', 'False', 'FALSE', '0', 'no', 'No'])
      expect(loadConfig({ TOCSIN_ALLOW_PRIVATE_SMTP_HOSTS: value }).allowPrivateSmtpHosts, value).toBe(false);
    for (const value of ['true', 'True', 'TRUE', '1', 'yes'])
      expect(loadConfig({ TOCSIN_ALLOW_PRIVATE_SMTP_HOSTS: value }).allowPrivateSmtpHosts, value).toBe(true);
    expect(loadConfig({}).allowPrivateSmtpHosts).toBe(true);
    expect(() => loadConfig({ TOCSIN_ALLOW_PRIVATE_SMTP_HOSTS: 'nope' })).toThrow(/TOCSIN_ALLOW_PRIVATE_SMTP_HOSTS/);
  });
});

describe('the log level', () => {
  it('takes a level in any case, as operators write LOG_LEVEL=INFO, and refuses an unknown one', () => {
    expect(loadConfig({}).logLevel).toBe('info');
    for (const [value, level] of [
      ['INFO', 'info'],
      ['Debug', 'debug'],
      [' warn ', 'warn'],
    ] as const)
      expect(loadConfig({ LOG_LEVEL: value }).logLevel, value).toBe(level);
    expect(() => loadConfig({ LOG_LEVEL: 'verbose' })).toThrow(/LOG_LEVEL/);
  });
});

describe('the HTTP body timeout setting', () => {
  it('defaults to 30 s and takes TOCSIN_HTTP_BODY_TIMEOUT_MS, refusing what is not a sane number of milliseconds', () => {
    expect(loadConfig({}).httpBodyTimeoutMs).toBe(30_000);
    expect(loadConfig({ TOCSIN_HTTP_BODY_TIMEOUT_MS: '5000' }).httpBodyTimeoutMs).toBe(5_000);
    for (const value of ['0', '50', 'soon']) expect(() => loadConfig({ TOCSIN_HTTP_BODY_TIMEOUT_MS: value })).toThrow(/TOCSIN_HTTP_BODY_TIMEOUT_MS/);
  });
});

describe('the system SMTP URL', () => {
  it('is read once into the config, and a URL that cannot work stops the start naming the variable', () => {
    expect(loadConfig({}).systemSmtp).toBeUndefined();
    expect(loadConfig({ TOCSIN_SMTP_URL: 'smtps://ops:pw@mail.example.com?from=alerts@example.com' }).systemSmtp).toMatchObject({
      url: 'smtps://ops:pw@mail.example.com?from=alerts@example.com',
      smtp: { host: 'mail.example.com', port: 465, security: 'tls', username: 'ops', fromAddress: 'alerts@example.com' },
      secrets: { password: 'pw' },
    });
    expect(() => loadConfig({ TOCSIN_SMTP_URL: 'smtp://ops:pw@mail.example.com' })).toThrow(ConfigError);
    expect(() => loadConfig({ TOCSIN_SMTP_URL: 'http://mail.example.com' })).toThrow(/TOCSIN_SMTP_URL/);
  });

  it('says to percent-encode the user and password when a character of theirs breaks the URL', () => {
    for (const url of [
      'smtps://ops:pa/ss@mail.example.com',
      'smtps://ops:pa#ss@mail.example.com',
      'smtps://ops:pa?ss@mail.example.com',
      'smtps://ops:123/ss@mail.example.com',
    ]) {
      expect(() => loadConfig({ TOCSIN_SMTP_URL: url }), url).toThrow(/TOCSIN_SMTP_URL: .*percent-encode/);
      expect(() => loadConfig({ TOCSIN_SMTP_URL: url }), url).not.toThrow(/pa.ss/);
    }
    expect(loadConfig({ TOCSIN_SMTP_URL: 'smtps://ops:pa%2F%23%3Fss@mail.example.com' }).systemSmtp?.secrets.password).toBe('pa/#?ss');
  });

  it('says how to percent-encode when a % of the user or password starts no escape, not only "URI malformed"', () => {
    for (const url of ['smtps://ops:50%off@mail.example.com', 'smtps://ops:p%ZZ@mail.example.com', 'smtps://o%G1ps:pw@mail.example.com']) {
      expect(() => loadConfig({ TOCSIN_SMTP_URL: url }), url).toThrow(/^invalid configuration:\n {2}TOCSIN_SMTP_URL: .*%25 for %/);
      expect(() => loadConfig({ TOCSIN_SMTP_URL: url }), url).not.toThrow(/URI malformed|off|ZZ|G1/);
    }
    expect(loadConfig({ TOCSIN_SMTP_URL: 'smtps://ops:50%25off@mail.example.com' }).systemSmtp?.secrets.password).toBe('50%off');
  });

  it('stops the start naming the variable and from when its from is no email address, which every email would have failed on', () => {
    for (const from of ['alerts', 'Alerts%20%3Calerts%3E', 'Alerts%20%3Calerts@example.com', 'alerts@example.com%0D%0ABcc:%20x@example.org']) {
      expect(() => loadConfig({ TOCSIN_SMTP_URL: `smtps://mail.example.com?from=${from}` }), from).toThrow(ConfigError);
      expect(() => loadConfig({ TOCSIN_SMTP_URL: `smtps://mail.example.com?from=${from}` }), from).toThrow(/TOCSIN_SMTP_URL: .*from/);
    }
    expect(loadConfig({ TOCSIN_SMTP_URL: 'smtps://mail.example.com?from=alerts%2Bops@example.com' }).systemSmtp?.smtp.fromAddress).toBe(
      'alerts+ops@example.com',
    );
  });

  it('takes a from written with a display name, Name <address>, as the address and the name', () => {
    // As MAIL_FROM-style settings of other tools are written: it stopped the start ('from must be an email address').
    const from = (query: string) => loadConfig({ TOCSIN_SMTP_URL: `smtps://mail.example.com?${query}` }).systemSmtp?.smtp;
    expect(from('from=Alerts%20Team%20%3Calerts@example.com%3E')).toMatchObject({ fromAddress: 'alerts@example.com', fromDisplayName: 'Alerts Team' });
    // A + of the query is a space, but in the address it is the address's own (alerts+ops@), as for a bare from.
    expect(from('from=Ops+<alerts+ops@example.com>')).toMatchObject({ fromAddress: 'alerts+ops@example.com', fromDisplayName: 'Ops' });
    expect(from('from=%22Ops%2C%20Night%22%20%3Calerts@example.com%3E')).toMatchObject({ fromAddress: 'alerts@example.com', fromDisplayName: 'Ops, Night' });
    expect(from('from=%3Calerts@example.com%3E')).toMatchObject({ fromAddress: 'alerts@example.com', fromDisplayName: 'Tocsin' });
    // ?fromName= says the name outright, and wins over the one in from.
    expect(from('from=Ops%20%3Calerts@example.com%3E&fromName=Night')).toMatchObject({ fromAddress: 'alerts@example.com', fromDisplayName: 'Night' });
  });

  it('stops the start naming fromName when the name, in fromName or in from, holds a control character', () => {
    // A display name every email's From line carries: ESC, BEL or DEL went out shown as symbols, where the API refuses them in any name.
    for (const query of ['from=alerts@example.com&fromName=Ops%1B%5B2J', 'from=Ops%07%20%3Calerts@example.com%3E', 'fromName=Ops%7F']) {
      expect(() => loadConfig({ TOCSIN_SMTP_URL: `smtps://mail.example.com?${query}` }), query).toThrow(/TOCSIN_SMTP_URL: fromName .*control characters/);
    }
    expect(loadConfig({ TOCSIN_SMTP_URL: 'smtps://mail.example.com?fromName=Ops%09Night' }).systemSmtp?.smtp.fromDisplayName).toBe('Ops\tNight');
  });

  it('stops the start naming the variable and the parameter when a parameter it reads is given twice', () => {
    // ?from=a@example.com&from=b@example.com started with the first, without a word: which one was meant is unknown.
    for (const [query, name] of [
      ['from=a@example.com&from=b@example.com', 'from'],
      ['from=a@example.com&fromName=Ops&fromName=Night', 'fromName'],
      ['starttls=true&starttls=false', 'starttls'],
      ['timeoutMs=5000&timeoutMs=5000', 'timeoutMs'],
    ]) {
      expect(() => loadConfig({ TOCSIN_SMTP_URL: `smtp://mail.example.com:587?${query}` }), query).toThrow(ConfigError);
      expect(() => loadConfig({ TOCSIN_SMTP_URL: `smtp://mail.example.com:587?${query}` }), query).toThrow(
        new RegExp(`^invalid configuration:\n {2}TOCSIN_SMTP_URL: ${name} is given more than once: give each parameter once$`),
      );
    }
    // A parameter it does not read, given twice, is warned of as not read, named once (it was 'pool, pool are not read').
    expect(configWarnings(loadConfig({ TOCSIN_SMTP_URL: 'smtp://mail.example.com?pool=true&pool=false' }))).toEqual([
      expect.stringMatching(/^TOCSIN_SMTP_URL: pool is not read/),
    ]);
  });

  it('reads starttls and allowPlaintextAuth as the other switches, and warns at start of a parameter it does not read', () => {
    // ?starttls=yes (or True, or 1) meant no TLS at all, and ?secure=true or ?fromname= were dropped in silence:
    // the system mail then went in clear, or under the name Tocsin, with nothing said at start-up.
    for (const on of ['true', 'True', 'yes', '1']) {
      expect(loadConfig({ TOCSIN_SMTP_URL: `smtp://mail.example.com:587?starttls=${on}` }).systemSmtp?.smtp.security, on).toBe('starttls');
    }
    expect(loadConfig({ TOCSIN_SMTP_URL: 'smtp://mail.example.com?starttls=false' }).systemSmtp?.smtp.security).toBe('none');
    expect(loadConfig({ TOCSIN_SMTP_URL: 'smtp://u:p@mail.example.com?allowPlaintextAuth=YES' }).systemSmtp?.smtp.allowPlaintextAuth).toBe(true);
    expect(() => loadConfig({ TOCSIN_SMTP_URL: 'smtp://mail.example.com?starttls=on' })).toThrow(/TOCSIN_SMTP_URL: starttls must be true or false/);
    // A parameter it does not read is said at start-up, naming it; the start goes on, as a URL that worked before must.
    for (const [query, name] of [
      ['secure=true', 'secure'],
      ['from=a@example.com&fromname=Ops', 'fromname'],
      ['pool=true', 'pool'],
    ]) {
      const config = loadConfig({ TOCSIN_SMTP_URL: `smtp://mail.example.com?${query}` });
      expect(configWarnings(config), query).toEqual([
        expect.stringMatching(new RegExp(`^TOCSIN_SMTP_URL: ${name} is not read and has no effect \\(the URL takes from, `)),
      ]);
    }
    expect(configWarnings(loadConfig({ TOCSIN_SMTP_URL: 'smtp://mail.example.com?from=a@example.com&starttls=true' }))).toEqual([]);
    // Several were said 'secure, pool are not read and has no effect'.
    expect(configWarnings(loadConfig({ TOCSIN_SMTP_URL: 'smtp://mail.example.com?secure=true&pool=true' }))).toEqual([
      expect.stringMatching(/^TOCSIN_SMTP_URL: secure, pool are not read and have no effect \(the URL takes from, /),
    ]);
  });

  it('warns at start-up of a URL that signs in with a user name that is no address and names no from, whose emails no such server takes', () => {
    // Amazon SES's SMTP user is an access key: every email went out from tocsin@email-smtp…amazonaws.com, an identity never verified.
    expect(configWarnings(loadConfig({ TOCSIN_SMTP_URL: 'smtps://AKIAEXAMPLE:secret@email-smtp.eu-west-1.amazonaws.com' }))).toEqual([
      expect.stringMatching(/^TOCSIN_SMTP_URL has a user name but no from: its emails go out from tocsin@email-smtp\.eu-west-1\.amazonaws\.com, .*\?from=/),
    ]);
    // Not when the user is the address sent from, a from is named, or no one signs in (a relay of one's own).
    for (const url of [
      'smtps://alerts%40example.com:secret@smtp.office365.com',
      'smtps://AKIAEXAMPLE:secret@email-smtp.eu-west-1.amazonaws.com?from=alerts@example.com',
      'smtp://relay.example.com',
    ]) {
      expect(configWarnings(loadConfig({ TOCSIN_SMTP_URL: url })), url).toEqual([]);
    }
  });

  it("reads a from address with a '+' written as is, which a query string would decode as a space", () => {
    // alerts+ops@example.com is a plus address (Gmail, Microsoft 365): refusing it as 'no email address' confused its owner.
    expect(loadConfig({ TOCSIN_SMTP_URL: 'smtps://mail.example.com?from=alerts+ops@example.com' }).systemSmtp?.smtp.fromAddress).toBe('alerts+ops@example.com');
    expect(loadConfig({ TOCSIN_SMTP_URL: 'smtps://mail.example.com?from=alerts+ops@example.com&fromName=Tocsin+Alerts' }).systemSmtp?.smtp).toMatchObject({
      fromAddress: 'alerts+ops@example.com',
      fromDisplayName: 'Tocsin Alerts',
    });
  });
});

describe('the public URL on every address', () => {
  it('is warned about at start-up when HOST=0.0.0.0 (or ::) leaves it naming no address people can open', () => {
    // A container's HOST=0.0.0.0 without TOCSIN_PUBLIC_URL put http://0.0.0.0:8080 in every email link
    // and every source's receive URL, with nothing said at start-up.
    for (const host of ['0.0.0.0', '::']) {
      expect(configWarnings(loadConfig({ HOST: host })), host).toEqual([
        expect.stringMatching(/^TOCSIN_PUBLIC_URL is unset and HOST is .*: .*set TOCSIN_PUBLIC_URL/),
      ]);
      expect(configWarnings(loadConfig({ HOST: host, TOCSIN_PUBLIC_URL: 'https://tocsin.example.com' })), host).toEqual([]);
    }
    expect(configWarnings(loadConfig({ TOCSIN_PUBLIC_URL: 'http://0.0.0.0:8080' }))).toEqual([
      expect.stringMatching(/^TOCSIN_PUBLIC_URL names http:\/\/0\.0\.0\.0:8080/),
    ]);
  });

  it('is warned about at the start of a worker without it, whose email links would name the worker, which serves no page', () => {
    // A worker sends the emails: unset, its List-Unsubscribe, action and "See more" links named
    // http://127.0.0.1:8080 of the worker itself, where every one of them was a 404.
    expect(configWarnings(loadConfig({ TOCSIN_ROLE: 'worker', PORT: '8081' }))).toEqual([
      expect.stringMatching(/^TOCSIN_PUBLIC_URL is unset on a worker: the links in the emails it sends name http:\/\/127\.0\.0\.1:8081, .*api processes/),
    ]);
    expect(configWarnings(loadConfig({ TOCSIN_ROLE: 'worker', TOCSIN_PUBLIC_URL: 'https://tocsin.example.com' }))).toEqual([]);
    for (const role of ['api', 'all']) expect(configWarnings(loadConfig({ TOCSIN_ROLE: role })), role).toEqual([]);
  });

  it('names TOCSIN_PUBLIC_URL as set, not unset, when it is set to the very address HOST and PORT would give', () => {
    // A compose file with HOST=0.0.0.0 and TOCSIN_PUBLIC_URL=http://0.0.0.0:8080 was told the variable it had set was unset.
    for (const publicUrl of ['http://0.0.0.0:8080', 'http://0.0.0.0:8080/']) {
      expect(configWarnings(loadConfig({ HOST: '0.0.0.0', TOCSIN_PUBLIC_URL: publicUrl })), publicUrl).toEqual([
        expect.stringMatching(/^TOCSIN_PUBLIC_URL names http:\/\/0\.0\.0\.0:8080, an address no one can open/),
      ]);
    }
  });
});

describe('the admin token and secret key', () => {
  it('are taken as given, however short, and only a short one is warned about at start-up', () => {
    const config = loadConfig({ TOCSIN_ADMIN_TOKEN: 'admin', TOCSIN_SECRET_KEY: 'key' });
    expect(config.adminToken).toBe('admin');
    expect(config.secretKey).toBe('key');
    expect(configWarnings(config)).toEqual([expect.stringMatching(/^TOCSIN_ADMIN_TOKEN is shorter/), expect.stringMatching(/^TOCSIN_SECRET_KEY is shorter/)]);
    expect(configWarnings(loadConfig({ TOCSIN_ADMIN_TOKEN: 'a'.repeat(15), TOCSIN_SECRET_KEY: 'k'.repeat(15) }))).toHaveLength(2);
    expect(configWarnings(loadConfig({ TOCSIN_ADMIN_TOKEN: 'a'.repeat(16), TOCSIN_SECRET_KEY: 'k'.repeat(16) }))).toEqual([]);
    expect(configWarnings(loadConfig({}))).toEqual([]);
  });

  it('warn at start-up of an admin token with a character other than printable ASCII, which HTTP clients send each their own way', () => {
    // `tökén…` worked from Node's fetch (sent as Latin-1) and was a 401 from curl (sent as UTF-8); a space or `é` no browser sends alike.
    for (const token of ['tökén-0123456789abcdef', 'トークン-0123456789abcdef']) {
      expect(configWarnings(loadConfig({ TOCSIN_ADMIN_TOKEN: token })), token).toEqual([expect.stringMatching(/^TOCSIN_ADMIN_TOKEN has .*ASCII/)]);
    }
    expect(configWarnings(loadConfig({ TOCSIN_ADMIN_TOKEN: 'tcs_admin_A-b.c~d+e/f=0123456789' }))).toEqual([]);
  });

  it('refuse an admin token that no request could carry: a space or line break inside, or over 512 characters', () => {
    // Taken as given, it started, and every request with it was a 401.
    for (const token of ['admin token 0123456789', 'admin\ttoken-0123456789', 'line\nbreak-0123456789', 'x'.repeat(513)]) {
      expect(() => loadConfig({ TOCSIN_ADMIN_TOKEN: token }), token).toThrow(/TOCSIN_ADMIN_TOKEN: /);
    }
    expect(loadConfig({ TOCSIN_ADMIN_TOKEN: 'x'.repeat(512) }).adminToken).toHaveLength(512);
  });
});

describe('the admin token read from a file', () => {
  it('is taken without the line break or spaces around it, which no Authorization header can carry', () => {
    // TOCSIN_ADMIN_TOKEN=$(cat token.txt) or a secret file keeps the file's last line break: that token could never be sent.
    expect(loadConfig({ TOCSIN_ADMIN_TOKEN: 'tcs_admin_from_a_secret_file\n' }).adminToken).toBe('tcs_admin_from_a_secret_file');
    expect(loadConfig({ TOCSIN_ADMIN_TOKEN: '  tcs_admin_padded \r\n' }).adminToken).toBe('tcs_admin_padded');
    expect(loadConfig({ TOCSIN_ADMIN_TOKEN: ' \n' }).adminToken).toBeUndefined();
  });
});

describe('URLs read from a file or a template', () => {
  it('are taken without the line break or spaces around them, which put a line break inside every email link and a file name', () => {
    // A secret or ConfigMap file's last line break: links were `https://tocsin.example.com\n/unsubscribe/…`.
    expect(loadConfig({ TOCSIN_PUBLIC_URL: ' https://tocsin.example.com/\n' }).publicUrl).toBe('https://tocsin.example.com');
    expect(loadConfig({ DATABASE_URL: 'sqlite:./data/tocsin.db\n' }).databaseUrl).toBe('sqlite:./data/tocsin.db');
    expect(loadConfig({ DATABASE_URL: 'postgres://tocsin@db/tocsin \n' }).databaseUrl).toBe('postgres://tocsin@db/tocsin');
  });

  it('takes TOCSIN_DATA_DIR without the line break or spaces around it, as DATABASE_URL, whose SQLite file it holds', () => {
    // Read from a ConfigMap file, `/var/lib/tocsin\n` made a new folder of that name: a new, empty database and key.
    expect(loadConfig({ TOCSIN_DATA_DIR: ' /var/lib/tocsin\n' })).toMatchObject({
      dataDir: '/var/lib/tocsin',
      databaseUrl: 'sqlite:/var/lib/tocsin/tocsin.db',
    });
  });

  it("opens sqlite:~/PATH and TOCSIN_DATA_DIR=~/PATH in the home folder, not in a folder named '~' (no shell expands them in a unit file or container)", () => {
    const home = os.homedir();
    expect(loadConfig({ DATABASE_URL: 'sqlite:~/tocsin/x.db' }).databaseUrl).toBe(`sqlite:${path.join(home, 'tocsin/x.db')}`);
    expect(loadConfig({ TOCSIN_DATA_DIR: '~/tocsin' })).toMatchObject({
      dataDir: path.join(home, 'tocsin'),
      databaseUrl: `sqlite:${path.join(home, 'tocsin', 'tocsin.db')}`,
    });
    // Only a leading `~/` is the home folder: `~user`, a `~` inside, and `~` alone are file names.
    for (const url of ['sqlite:./~/x.db', 'sqlite:~x.db', 'sqlite:/srv/~/x.db']) expect(loadConfig({ DATABASE_URL: url }).databaseUrl).toBe(url);
  });

  it('refuses a public URL with a space, tab or line break inside, or a user and password, which every email would show', () => {
    for (const value of [
      'https://tocsin.example.com/a b',
      'https://tocsin.example.com\t/x',
      'https://tocsin.example.com\n/x',
      'https://ops:s3cret@tocsin.example.com',
      'https://:s3cret@tocsin.example.com',
    ]) {
      expect(() => loadConfig({ TOCSIN_PUBLIC_URL: value }), value).toThrow(/TOCSIN_PUBLIC_URL: /);
    }
  });
});

describe('a misspelt variable', () => {
  it('is said at start-up with the one it is near, where it was silently not read: TOCSIN_SUMARY_INTERVAL_SECONDS=60 left ten minutes', () => {
    const config = loadConfig({
      TOCSIN_SUMARY_INTERVAL_SECONDS: '60',
      TOCSIN_SMTP_ULR: 'smtp://mail.example.com',
      TOCSIN_PUBLIC_URL: 'https://tocsin.example.com',
    });
    expect(config.summaryIntervalSeconds).toBe(600);
    expect(configWarnings(config)).toEqual([
      'TOCSIN_SUMARY_INTERVAL_SECONDS is not a setting of Tocsin and is not read: did you mean TOCSIN_SUMMARY_INTERVAL_SECONDS?',
      'TOCSIN_SMTP_ULR is not a setting of Tocsin and is not read: did you mean TOCSIN_SMTP_URL?',
    ]);
    // The README's own variables of other programs (the webhook script's, the tests') are far from any setting: not said.
    const others = {
      TOCSIN_URL: 'https://x',
      TOCSIN_SECRET: 'whsec_x',
      TOCSIN_TOKEN: 't',
      TOCSIN_TEST_PG_URL: 'postgres://x',
      TOCSIN_CHROMIUM: '/usr/bin/chromium',
      // Nor are the variables every process has, though HOME is two letters from HOST.
      HOME: '/root',
      HOSTNAME: 'tocsin-0',
      PWD: '/srv',
    };
    expect(configWarnings(loadConfig(others))).toEqual([]);
  });
});

describe('a variable set to nothing', () => {
  it('means its default, as if it were not set', () => {
    const config = loadConfig({
      PORT: '',
      TOCSIN_ADMIN_TOKEN: '',
      TOCSIN_SMTP_URL: '',
      TOCSIN_PUBLIC_URL: '',
      TOCSIN_FLOOD_WINDOW_SECONDS: '',
      DATABASE_URL: '',
    });
    expect(config).toMatchObject({ port: 8080, adminToken: undefined, smtpUrl: undefined, publicUrl: 'http://127.0.0.1:8080' });
    expect(config.floodWindowMs).toBe(loadConfig({}).floodWindowMs);
    expect(config.databaseUrl).toBe(loadConfig({}).databaseUrl);
  });

  it('means its default when set to only spaces or a line break, rather than 0 (PORT any free port, no flood window)', () => {
    const blank = { PORT: ' ', TOCSIN_FLOOD_WINDOW_SECONDS: ' ', TOCSIN_MAIL_CATCHER_PORT: '\n', TOCSIN_SUMMARY_INTERVAL_SECONDS: '  ' };
    const config = loadConfig(blank);
    const defaults = loadConfig({});
    expect(config).toMatchObject({ port: 8080, mailCatcherPort: 2525, summaryIntervalSeconds: 600 });
    expect(config.floodWindowMs).toBe(defaults.floodWindowMs);
    expect(loadConfig({ TOCSIN_SECRET_KEY: ' ', TOCSIN_ADMIN_TOKEN: '\n' })).toMatchObject({ secretKey: undefined, adminToken: undefined });
  });
});

describe('the database URL', () => {
  it('stops the start with a message naming DATABASE_URL, not a stack trace, when its scheme is neither sqlite: nor postgres://', () => {
    for (const value of ['mysql://tocsin@db/tocsin', './data/tocsin.db', 'postgres:/db']) {
      expect(() => loadConfig({ DATABASE_URL: value }), value).toThrow(ConfigError);
      expect(() => loadConfig({ DATABASE_URL: value }), value).toThrow(/DATABASE_URL: must start with sqlite: or postgres:\/\//);
    }
    // `sqlite:` without a path opened a temporary database that was gone, every alert with it, at the next start.
    expect(() => loadConfig({ DATABASE_URL: 'sqlite:' })).toThrow(/DATABASE_URL: /);
    for (const value of ['sqlite:/var/lib/tocsin.db', 'postgres://tocsin@db/tocsin', 'postgresql://tocsin@db/tocsin']) {
      expect(loadConfig({ DATABASE_URL: value }).databaseUrl).toBe(value);
    }
  });

  it('refuses sqlite://NAME, which named a file at the root of the disk (/NAME), saying how to write a relative or absolute path', () => {
    // `sqlite://tocsin.db` and `sqlite://./data/tocsin.db` opened /tocsin.db and /data/tocsin.db (POSIX reads `//x` as `/x`).
    for (const value of ['sqlite://tocsin.db', 'sqlite://./data/tocsin.db', 'sqlite://data/tocsin.db']) {
      expect(() => loadConfig({ DATABASE_URL: value }), value).toThrow(/DATABASE_URL: .*sqlite:\.\/data\/tocsin\.db.*sqlite:\/var\/lib\/tocsin\/tocsin\.db/);
    }
    // Three slashes are an absolute path, as in other tools' sqlite:/// URLs.
    for (const value of ['sqlite:///var/lib/tocsin.db', 'sqlite:./data/tocsin.db', 'sqlite:data/tocsin.db']) {
      expect(loadConfig({ DATABASE_URL: value }).databaseUrl).toBe(value);
    }
  });

  it("says to percent-encode the user and password when one of their characters leaves PostgreSQL's host unclear", () => {
    // `p@ss#1` written as is: the start said only "getaddrinfo ENOTFOUND ss" (the `#` began a fragment, `ss` became the host).
    for (const value of [
      'postgres://tocsin:p@ss#1@db.example.com:5432/tocsin',
      'postgres://tocsin:a/b@db.example.com/tocsin',
      'postgresql://tocsin:100%sure@db.example.com/tocsin',
    ]) {
      expect(() => loadConfig({ DATABASE_URL: value }), value).toThrow(/DATABASE_URL: .*percent-encode \/ # \? @ : %/);
    }
    for (const value of [
      'postgres://tocsin:p%40ss%231@db.example.com:5432/tocsin',
      // The last @ ends the password, for PostgreSQL's driver as for URLs.
      'postgres://tocsin:p@ss@db.example.com/tocsin',
      'postgres://tocsin:secret@[::1]:5432/tocsin?sslmode=require',
      'postgres:///tocsin?host=/var/run/postgresql',
    ]) {
      expect(loadConfig({ DATABASE_URL: value }).databaseUrl, value).toBe(value);
    }
  });

  it("stops the start naming DATABASE_URL's sslmode or ssl when node-postgres would read it as TLS with a verified certificate", () => {
    // `?sslmode=disabled` or `?ssl=false`, meant to connect in clear, started TLS and failed with only "The server does not support SSL connections".
    for (const [query, said] of [
      ['sslmode=disabled', /DATABASE_URL: sslmode must be disable, prefer, require, verify-ca, verify-full or no-verify \(got "disabled"\)/],
      ['sslmode=DISABLE', /sslmode must be .* \(got "DISABLE"\)/],
      ['sslmode=allow', /sslmode must be .* \(got "allow"\)/],
      ['ssl=false', /DATABASE_URL: ssl must be true, 1 or 0 \(got "false"\).*sslmode=disable/],
      ['ssl=no', /ssl must be true, 1 or 0 \(got "no"\)/],
    ] as const) {
      expect(() => loadConfig({ DATABASE_URL: `postgresql://tocsin@db.example.com/tocsin?${query}` }), query).toThrow(said);
    }
    for (const query of [
      'sslmode=disable',
      'sslmode=require',
      'sslmode=verify-full&sslrootcert=/etc/tocsin/db-ca.pem',
      'uselibpqcompat=true&sslmode=require',
      'ssl=true',
      'ssl=0',
    ]) {
      expect(loadConfig({ DATABASE_URL: `postgres://tocsin@db.example.com/tocsin?${query}` }).databaseUrl, query).toContain(query);
    }
  });
});

describe('the listen address', () => {
  it('stops the start naming HOST when no URL can hold it, and takes an IPv6 address in brackets as URLs write it', () => {
    // HOST=999.1.1.1 or HOST=[::1] stopped the start with a TypeError and its stack trace, naming nothing.
    for (const value of ['999.1.1.1', 'a b', 'http://tocsin.example.com', '[::1']) {
      expect(() => loadConfig({ HOST: value }), value).toThrow(ConfigError);
      expect(() => loadConfig({ HOST: value }), value).toThrow(/HOST: must be an address or host name of this machine/);
    }
    expect(loadConfig({ HOST: '[::1]', PORT: '9000' })).toMatchObject({ host: '::1', publicUrl: 'http://[::1]:9000' });
    expect(loadConfig({ HOST: 'tocsin-1.internal' }).host).toBe('tocsin-1.internal');
  });

  it('refuses an IPv6 address with a zone (fe80::1%eth0), which no URL can hold, in one line rather than a stack trace', () => {
    // It was taken, and the start then stopped on 'TypeError: Invalid URL' and its stack, building the default public URL.
    for (const host of ['fe80::1%eth0', '[fe80::1%eth0]', 'fe80::1%25eth0']) {
      expect(() => configWarnings(loadConfig({ HOST: host })), host).toThrow(ConfigError);
      expect(() => loadConfig({ HOST: host }), host).toThrow(/^invalid configuration:\n {2}HOST: .*zone/);
    }
  });
});

describe('the public URL', () => {
  it('defaults to http://HOST:PORT, an IPv6 host in brackets so that links stay URLs, and drops a trailing slash when given', () => {
    expect(loadConfig({ HOST: '0.0.0.0', PORT: '9000' }).publicUrl).toBe('http://0.0.0.0:9000');
    expect(loadConfig({ HOST: '::1', PORT: '9000' }).publicUrl).toBe('http://[::1]:9000');
    expect(new URL(loadConfig({ HOST: '::' }).publicUrl).port).toBe('8080');
    expect(loadConfig({ TOCSIN_PUBLIC_URL: 'https://alerts.example.com/' }).publicUrl).toBe('https://alerts.example.com');
    expect(loadConfig({ TOCSIN_PUBLIC_URL: 'https://example.com/tocsin/' }).publicUrl).toBe('https://example.com/tocsin');
    // Every trailing slash: `//` left, each link had an empty path segment (`https://x//console`).
    expect(loadConfig({ TOCSIN_PUBLIC_URL: 'https://example.com/tocsin//' }).publicUrl).toBe('https://example.com/tocsin');
  });

  it('stops the start naming TOCSIN_PUBLIC_URL when it is no http(s) base that links can be appended to', () => {
    // `alerts.example.com:8080` parses as a URL of scheme `alerts.example.com:`: every link of every email was dead.
    for (const value of [
      'alerts.example.com:8080',
      'localhost:8080',
      'ftp://alerts.example.com',
      'https://alerts.example.com/?x=1',
      'https://alerts.example.com/#/',
    ]) {
      expect(() => loadConfig({ TOCSIN_PUBLIC_URL: value }), value).toThrow(ConfigError);
      expect(() => loadConfig({ TOCSIN_PUBLIC_URL: value }), value).toThrow(/TOCSIN_PUBLIC_URL: /);
    }
    // Taken, in its normal form (the same address): the scheme and host in lower case.
    expect(loadConfig({ TOCSIN_PUBLIC_URL: 'HTTP://Alerts.Example.com:8080' }).publicUrl).toBe('http://alerts.example.com:8080');
  });
});

describe('an internationalized public URL', () => {
  it('is taken in its ASCII form, the host in punycode and the path percent-encoded, as the emails write it', () => {
    // Taken as typed, it went raw into the Location header of every 201, which Node refuses outside Latin-1
    // (the object created, the answer a 500 'Invalid character in header content') and sends as bare
    // Latin-1 bytes otherwise, and into the sources' receive URLs, while the emails' links were ASCII.
    expect(loadConfig({ TOCSIN_PUBLIC_URL: 'https://例え.jp/警報/' }).publicUrl).toBe('https://xn--r8jz45g.jp/%E8%AD%A6%E5%A0%B1');
    expect(loadConfig({ TOCSIN_PUBLIC_URL: 'https://tocsin.bücher.example/pfäd' }).publicUrl).toBe('https://tocsin.xn--bcher-kva.example/pf%C3%A4d');
    expect(loadConfig({ TOCSIN_PUBLIC_URL: 'https://alerts.example.com/tocsin/' }).publicUrl).toBe('https://alerts.example.com/tocsin');
  });
});

describe('the trusted reverse proxies', () => {
  it('are none by default, and TOCSIN_TRUST_PROXY takes addresses, CIDR ranges and proxy-addr names, comma-separated', () => {
    expect(loadConfig({}).trustProxy).toBeUndefined();
    expect(loadConfig({ TOCSIN_TRUST_PROXY: '10.0.0.5' }).trustProxy).toEqual(['10.0.0.5']);
    // A range may be one address long.
    expect(loadConfig({ TOCSIN_TRUST_PROXY: '10.0.0.5/32,2001:db8::1/128' }).trustProxy).toEqual(['10.0.0.5/32', '2001:db8::1/128']);
    expect(loadConfig({ TOCSIN_TRUST_PROXY: ' 10.0.0.0/8, fd00::/8 ,loopback,2001:db8::1' }).trustProxy).toEqual([
      '10.0.0.0/8',
      'fd00::/8',
      'loopback',
      '2001:db8::1',
    ]);
  });

  it('stop the start naming TOCSIN_TRUST_PROXY for what is not an address or range, such as true or a hop count, which would believe any client', () => {
    // A /0 (every address, as `true`) passed here and then stopped the start with proxy-addr's stack
    // trace ('invalid range on address'), after the migrations had run; so did a range written twice, or its length in hex.
    for (const value of ['true', '1', 'nginx', '10.0.0.0/33', '10.0.0.1,', '10.0.0.300', '0.0.0.0/0', '::/0', '10.0.0.0/8/8', '10.0.0.0/', '10.0.0.0/0x8']) {
      expect(() => loadConfig({ TOCSIN_TRUST_PROXY: value }), value).toThrow(/TOCSIN_TRUST_PROXY: /);
    }
  });
});

describe('the configuration module', () => {
  it('loads after a module whose defaults it reads, with no import cycle back to it (bench/email-sizes.ts stopped on one)', () => {
    // alerts/store.ts → storage/errors.ts → storage/connect.ts must not lead back to config.ts while
    // store.ts is still being evaluated: config.ts reads DEFAULT_FLOOD_WINDOW_MS from it at load time.
    const store = new URL('./alerts/store.ts', import.meta.url).href;
    const run = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', `await import(${JSON.stringify(store)})`], {
      encoding: 'utf8',
    });
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
  });
});

describe('a refused number or address', () => {
  /** problemOf is the message loadConfig stops with for these variables. */
  const problemOf = (env: NodeJS.ProcessEnv): string => {
    try {
      loadConfig(env);
    } catch (err) {
      return (err as Error).message;
    }
    throw new Error(`${JSON.stringify(env)} was taken`);
  };

  it('is said in one line naming the variable and what it takes, not in the words of the validation library', () => {
    // PORT=abc stopped with 'PORT: Invalid input: expected number, received NaN', and PORT=-1 with
    // 'Too small: expected number to be >=0': an operator had to guess what was wanted.
    const cases: [string, string[], string][] = [
      ['PORT', ['abc', '-1', '70000', '80.5'], 'must be a whole number from 0 to 65535'],
      ['TOCSIN_MAIL_CATCHER_PORT', ['x', '65536'], 'must be a whole number from 0 to 65535'],
      ['TOCSIN_SUMMARY_INTERVAL_SECONDS', ['ten', '0', '86401'], 'must be a whole number of seconds from 1 to 86400'],
      ['TOCSIN_FLOOD_WINDOW_SECONDS', ['soon', '-1', '1.5'], 'must be a whole number of seconds from 0 to 86400'],
      ['TOCSIN_HTTP_BODY_TIMEOUT_MS', ['soon', '50'], 'must be a whole number of milliseconds from 100 to 3600000'],
      ['TOCSIN_SOURCE_REQUESTS_PER_MINUTE', ['lots', '0'], 'must be a whole number of at least 1'],
      ['TOCSIN_DB_POOL_SIZE', ['many', '0', '1001'], 'must be a whole number from 1 to 1000'],
      ['TOCSIN_API_PROCESSES', ['two', '0', '65'], 'must be a whole number from 1 to 64'],
      ['TOCSIN_DELIVERY_DEADLINE_HOURS', ['a day', '0', '-2'], 'must be a number of hours above 0, such as 24 or 0.5'],
      ['TOCSIN_ACTION_LINK_DAYS', ['week', '0', '366'], 'must be a number of days above 0 and at most 365'],
      // The switches and the lists of words were said as 'Invalid option: expected one of "0"|"1"|"true"|…'.
      ['TOCSIN_ALLOW_PRIVATE_SMTP_HOSTS', ['maybe', '2'], 'must be true or false (yes and no, 1 and 0 also do, in any case)'],
      ['TOCSIN_LEAN_HEAP', ['small'], 'must be true or false (yes and no, 1 and 0 also do, in any case)'],
      ['TOCSIN_ROLE', ['web'], 'must be api, worker or all'],
      ['LOG_LEVEL', ['verbose'], 'must be fatal, error, warn, info, debug, trace or silent'],
    ];
    for (const [variable, values, says] of cases) {
      for (const value of values) {
        expect(problemOf({ [variable]: value }), `${variable}=${value}`).toBe(`invalid configuration:\n  ${variable}: ${says}`);
      }
    }
  });

  it('is the whole numbers written in decimal digits only: PORT=0x10 listened on port 16 and PORT=1e3 on port 1000', () => {
    const cases: [string, string[], string][] = [
      ['PORT', ['0x10', '1e3', '0b1', '0o17', '+80', '8_080', 'Infinity'], 'must be a whole number from 0 to 65535'],
      ['TOCSIN_SUMMARY_INTERVAL_SECONDS', ['1e1', '0xA', '5.0'], 'must be a whole number of seconds from 1 to 86400'],
      ['TOCSIN_MAIL_CATCHER_PORT', ['0x9C4'], 'must be a whole number from 0 to 65535'],
    ];
    for (const [variable, values, says] of cases) {
      for (const value of values) {
        expect(problemOf({ [variable]: value }), `${variable}=${value}`).toBe(`invalid configuration:\n  ${variable}: ${says}`);
      }
    }
    expect(loadConfig({ PORT: ' 8081\n', TOCSIN_SUMMARY_INTERVAL_SECONDS: '05' })).toMatchObject({ port: 8081, summaryIntervalSeconds: 5 });
  });

  it('is the numbers with a fraction written in decimal digits too: TOCSIN_DELIVERY_DEADLINE_HOURS=0x18 retried for 24 hours', () => {
    const cases: [string, string[], string][] = [
      ['TOCSIN_DELIVERY_DEADLINE_HOURS', ['0x18', '1e2', '0b1', '+5', '2,5', '1_0'], 'must be a number of hours above 0, such as 24 or 0.5'],
      ['TOCSIN_ACTION_LINK_DAYS', ['0x7', '7e0', '+7'], 'must be a number of days above 0 and at most 365'],
    ];
    for (const [variable, values, says] of cases) {
      for (const value of values) {
        expect(problemOf({ [variable]: value }), `${variable}=${value}`).toBe(`invalid configuration:\n  ${variable}: ${says}`);
      }
    }
    expect(loadConfig({ TOCSIN_DELIVERY_DEADLINE_HOURS: ' 0.5\n', TOCSIN_ACTION_LINK_DAYS: '.5' })).toMatchObject({
      deliveryDeadlineMs: 1_800_000,
      actionLinkMs: 43_200_000,
    });
    expect(loadConfig({ TOCSIN_DELIVERY_DEADLINE_HOURS: '48', TOCSIN_ACTION_LINK_DAYS: '365' })).toMatchObject({
      deliveryDeadlineMs: 48 * 3_600_000,
      actionLinkMs: 365 * 86_400_000,
    });
  });

  it('is one line for TOCSIN_PUBLIC_URL too, not a second one saying only "Invalid URL"', () => {
    expect(problemOf({ TOCSIN_PUBLIC_URL: 'example.com' })).toBe(
      'invalid configuration:\n  TOCSIN_PUBLIC_URL: must be an http:// or https:// address without ? or #, spaces or a user and password, such as https://tocsin.example.com',
    );
  });
});
