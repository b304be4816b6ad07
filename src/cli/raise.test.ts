import http from 'node:http';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, type TestApp, startTestApp } from '../../test/support/http.js';
import { describeEachDialect } from '../../test/support/storage.js';
import { raiseCommand } from './raise.js';
import { capturedIo } from '../../test/support/cli.js';
import { hasIpv6Loopback } from '../../test/support/ports.js';

const IPV6_LOOPBACK = await hasIpv6Loopback();

describeEachDialect('tocsin raise', (dialect) => {
  let t: TestApp;
  let token: string;
  beforeAll(async () => {
    t = await startTestApp(dialect, {}, { listen: true });
    token = (await t.tenantWithUser('ops', ['Robot'])).token;
  });
  afterAll(() => t.close());

  it('finds the server the same PORT and HOST describe when --url is left out, as the server names its own URL', async () => {
    const { hostname, port } = new URL(t.tocsin.url!);
    const c = capturedIo({ TOCSIN_TOKEN: token, HOST: hostname, PORT: port });
    const args = ['--tenant', 'ops', '--severity', 'Info', '--component', 'Jobs', '--message', 'Found by PORT'];
    expect(await raiseCommand(args, c.io), c.err()).toBe(0);
    expect((await t.call('GET', `/api/v1/tenants/ops/alerts/${c.out().trim()}`)).json().message).toBe('Found by PORT');
    const publicUrl = capturedIo({ TOCSIN_TOKEN: token, TOCSIN_PUBLIC_URL: `${t.tocsin.url}/`, PORT: '1' });
    expect(await raiseCommand(args, publicUrl.io), publicUrl.err()).toBe(0);
  });

  it('takes a variable set to spaces as unset, as the server does: TOCSIN_PUBLIC_URL and TOCSIN_TOKEN of an env file left blank', async () => {
    // The server reads `TOCSIN_PUBLIC_URL= ` as unset (http://HOST:PORT); raise stopped with 'tocsin: Invalid URL',
    // and took a blank TOCSIN_TOKEN for the token rather than go on to TOCSIN_ADMIN_TOKEN.
    const { hostname, port } = new URL(t.tocsin.url!);
    const c = capturedIo({ TOCSIN_TOKEN: '  ', TOCSIN_ADMIN_TOKEN: ADMIN_TOKEN, TOCSIN_PUBLIC_URL: ' ', HOST: hostname, PORT: port });
    const args = ['--tenant', 'ops', '--severity', 'Info', '--component', 'Jobs', '--message', 'Blank variables'];
    expect(await raiseCommand(args, c.io), c.err()).toBe(0);
    expect((await t.call('GET', `/api/v1/tenants/ops/alerts/${c.out().trim()}`)).json().message).toBe('Blank variables');
  });

  it('raises an alert on a listening server with the token from TOCSIN_TOKEN and prints its id', async () => {
    const c = capturedIo({ TOCSIN_TOKEN: token });
    const code = await raiseCommand(
      [
        '--url',
        t.tocsin.url!,
        '--tenant',
        'ops',
        '--severity',
        'Error',
        '--component',
        'Jobs',
        '--message',
        'Nightly job faulted',
        '--event',
        'Process.JobExecution.Faulted',
        '--dedup-key',
        'nightly',
      ],
      c.io,
    );
    expect(c.err()).toBe('');
    expect(code).toBe(0);
    const id = c.out().trim();
    const alert = (await t.call('GET', `/api/v1/tenants/ops/alerts/${id}`)).json();
    expect(alert).toMatchObject({
      severity: 'Error',
      component: 'Jobs',
      event: 'Process.JobExecution.Faulted',
      message: 'Nightly job faulted',
      dedupKey: 'nightly',
    });
  });

  it('raises an alert with its source (process, robot, machine, queue, job) and when it occurred, every field an AlertInput has', async () => {
    // Without them a script could not say which process or robot failed, nor date an alert it raises late.
    const c = capturedIo({ TOCSIN_TOKEN: token });
    const args = ['--url', t.tocsin.url!, '--tenant', 'ops', '--severity', 'Error', '--component', 'Jobs', '--message', 'Invoice run faulted'];
    const source = ['--process', 'Invoices', '--robot', 'RB-01', '--machine', 'PC-7', '--queue', 'InvoiceQueue', '--job', 'job-42'];
    expect(await raiseCommand([...args, ...source, '--occurred-at', '2026-11-30T08:15:00+01:00'], c.io), c.err()).toBe(0);
    const alert = (await t.call('GET', `/api/v1/tenants/ops/alerts/${c.out().trim()}`)).json();
    expect(alert.source).toEqual({ process: 'Invoices', robot: 'RB-01', machine: 'PC-7', queue: 'InvoiceQueue', job: 'job-42' });
    expect(Date.parse(alert.occurredAt)).toBe(Date.parse('2026-11-30T07:15:00Z'));
    const robotOnly = capturedIo({ TOCSIN_TOKEN: token });
    expect(await raiseCommand([...args, '--robot', 'RB-02'], robotOnly.io), robotOnly.err()).toBe(0);
    expect((await t.call('GET', `/api/v1/tenants/ops/alerts/${robotOnly.out().trim()}`)).json().source).toEqual({ robot: 'RB-02' });
    const late = capturedIo({ TOCSIN_TOKEN: token });
    expect(await raiseCommand([...args, '--occurred-at', 'yesterday'], late.io)).toBe(1);
    expect(late.err()).toMatch(/^tocsin raise: 400 occurredAt: /);
  });

  it("takes the API's own address as --url too, as an operator copies it from the README or a script's base URL", async () => {
    const args = ['--token', token, '--tenant', 'ops', '--severity', 'Info', '--component', 'Jobs', '--message', 'Given the API base'];
    for (const url of [`${t.tocsin.url}/api/v1`, `${t.tocsin.url}/api/v1/`]) {
      const c = capturedIo();
      expect(await raiseCommand([...args, '--url', url], c.io), c.err()).toBe(0);
      expect((await t.call('GET', `/api/v1/tenants/ops/alerts/${c.out().trim()}`)).json().message).toBe('Given the API base');
    }
  });

  it("takes the host administrator's TOCSIN_ADMIN_TOKEN when no other token is given, as the server's own environment has it", async () => {
    const c = capturedIo({ TOCSIN_ADMIN_TOKEN: ADMIN_TOKEN, TOCSIN_PUBLIC_URL: t.tocsin.url! });
    const code = await raiseCommand(['--tenant', 'ops', '--severity', 'Warn', '--component', 'Jobs', '--message', 'From the host shell'], c.io);
    expect(c.err()).toBe('');
    expect(code).toBe(0);
    expect((await t.call('GET', `/api/v1/tenants/ops/alerts/${c.out().trim()}`)).json().message).toBe('From the host shell');
    // A token given as an option or in TOCSIN_TOKEN comes first.
    const robot = capturedIo({ TOCSIN_ADMIN_TOKEN: 'not-the-admin-token', TOCSIN_TOKEN: token, TOCSIN_PUBLIC_URL: t.tocsin.url! });
    expect(await raiseCommand(['--tenant', 'ops', '--severity', 'Warn', '--component', 'Jobs', '--message', 'x'], robot.io), robot.err()).toBe(0);
  });

  it("prints the server's problem and exits 1 when refused", async () => {
    const c = capturedIo();
    const code = await raiseCommand(
      ['--url', t.tocsin.url!, '--token', token, '--tenant', 'ops', '--severity', 'Loud', '--component', 'Jobs', '--message', 'x'],
      c.io,
    );
    expect(code).toBe(1);
    expect(c.err()).toContain('400');
    expect(c.err()).toContain('severity: must be one of');
  });

  it('says each refused field once, not the first again under the detail that already names it', async () => {
    // The problem's detail is its first field error: printed above the list, that error came twice.
    const args = ['--url', t.tocsin.url!, '--token', token, '--tenant', 'ops', '--component', 'Jobs', '--message', 'x'];
    const one = capturedIo();
    expect(await raiseCommand([...args, '--severity', 'Loud'], one.io)).toBe(1);
    expect(one.err()).toMatch(/^tocsin raise: 400 severity: must be one of [^\n]+\n$/);
    const two = capturedIo();
    expect(await raiseCommand([...args, '--severity', 'Loud', '--folder', 'f'.repeat(300)], two.io)).toBe(1);
    expect(
      two
        .err()
        .split('\n')
        .filter((line) => line.includes('severity:')),
    ).toHaveLength(1);
    expect(two.err()).toMatch(/\n {2}folder: .+\n$/);
  });

  it('names the option a misspelt one is near, exiting 2 with the usage', async () => {
    const c = capturedIo({ TOCSIN_TOKEN: token });
    expect(await raiseCommand(['--tennant', 'ops', '--severity', 'Error', '--component', 'Jobs', '--message', 'x'], c.io)).toBe(2);
    expect(c.err()).toMatch(/^tocsin raise: Unknown option '--tennant' \(did you mean --tenant\?\)\nusage: tocsin raise /);
  });

  it('exits 2 with the usage when an option or the token is missing', async () => {
    const c = capturedIo();
    expect(await raiseCommand(['--tenant', 'ops', '--severity', 'Error'], c.io)).toBe(2);
    expect(c.err()).toContain('missing --component, --message, --token (or TOCSIN_TOKEN or TOCSIN_ADMIN_TOKEN)');
  });
});

describe('tocsin raise, when the server cannot be reached', () => {
  it('says why (refused, unknown host), not only that the request failed', async () => {
    // Node's fetch fails with 'fetch failed' whatever went wrong; the reason is in its cause.
    const closed = net.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const { port } = closed.address() as net.AddressInfo;
    await new Promise((resolve) => closed.close(resolve));
    const args = ['--token', 't', '--tenant', 'ops', '--severity', 'Error', '--component', 'Jobs', '--message', 'x'];
    const refused = capturedIo();
    expect(await raiseCommand([...args, '--url', `http://127.0.0.1:${port}`], refused.io)).toBe(1);
    expect(refused.err()).toBe(`tocsin raise: cannot reach http://127.0.0.1:${port}: connect ECONNREFUSED 127.0.0.1:${port}\n`);
    const unknown = capturedIo();
    expect(await raiseCommand([...args, '--url', 'http://no-such-host.invalid'], unknown.io)).toBe(1);
    expect(unknown.err()).toMatch(/^tocsin raise: cannot reach http:\/\/no-such-host\.invalid: getaddrinfo (ENOTFOUND|EAI_AGAIN) no-such-host\.invalid\n$/);
  });
});

describe('tocsin raise, when the address answers 202 but is no Tocsin', () => {
  it('exits 1 naming the address, not 0 with an empty line for the id', async () => {
    // Another service at --url (or a proxy's page) that answers 202 stored nothing a script can name.
    const other = http.createServer((_, res) => res.writeHead(202, { 'content-type': 'text/html' }).end('<p>Accepted</p>'));
    await new Promise<void>((resolve) => other.listen(0, '127.0.0.1', resolve));
    const { port } = other.address() as net.AddressInfo;
    try {
      const c = capturedIo();
      const args = ['--token', 't', '--tenant', 'ops', '--severity', 'Error', '--component', 'Jobs', '--message', 'x', '--url', `http://127.0.0.1:${port}`];
      expect(await raiseCommand(args, c.io)).toBe(1);
      expect(c.out()).toBe('');
      expect(c.err()).toBe(`tocsin raise: http://127.0.0.1:${port} answered 202 without an alert's id: is it Tocsin's address?\n`);
    } finally {
      await new Promise((resolve) => other.close(resolve));
    }
  });
});

describe('tocsin raise --data', () => {
  it('refuses a --data that is no JSON object (a list, a string, a number, no JSON at all), exiting 2 with the usage, rather than post it', async () => {
    // '[1]', '"x"' and '5' parse as JSON: they were posted, and the server's 400 exited 1, as a refused alert does.
    const args = ['--tenant', 'ops', '--severity', 'Error', '--component', 'Jobs', '--message', 'x', '--token', 't', '--url', 'http://127.0.0.1:9'];
    for (const data of ['[1]', '"x"', '5', 'null', '{k: 1}']) {
      const c = capturedIo({});
      expect(await raiseCommand([...args, '--data', data], c.io), data).toBe(2);
      expect(c.err(), data).toMatch(/^tocsin raise: --data must be a JSON object, such as '\{"k":"v"\}'\nusage: tocsin raise/);
    }
  });
});

describe('tocsin raise --url', () => {
  it('refuses an address that is not http:// or https://, or that carries ? or #, exiting 2 with the usage, rather than post it', async () => {
    // '--url 127.0.0.1:8080' said 'cannot reach 127.0.0.1:8080: Invalid URL' (exit 1, as a server
    // down), and '--url http://host:8080?x' posted to '/?x/api/v1/…', answered '405 POST is not allowed on /'.
    const args = ['--token', 't', '--tenant', 'ops', '--severity', 'Error', '--component', 'Jobs', '--message', 'x'];
    for (const url of ['127.0.0.1:8080', 'ftp://127.0.0.1:8080', 'http://127.0.0.1:1?x', 'http://127.0.0.1:1/#top']) {
      const c = capturedIo();
      expect(await raiseCommand([...args, '--url', url], c.io), url).toBe(2);
      expect(c.err(), url).toMatch(
        /^tocsin raise: --url must be an http:\/\/ or https:\/\/ address without \? or #, spaces or a user and password, such as http:\/\/127\.0\.0\.1:8080\nusage: tocsin raise /,
      );
    }
  });
});

describe.runIf(IPV6_LOOPBACK)('tocsin raise to a server on IPv6', () => {
  it('finds a server whose HOST is an IPv6 address written in brackets, as the server itself takes it ([::1])', async () => {
    const t = await startTestApp('sqlite', { HOST: '::1' }, { listen: true });
    try {
      const { token } = await t.tenantWithUser('ops', ['Robot']);
      const { port } = new URL(t.tocsin.url!);
      const args = ['--tenant', 'ops', '--severity', 'Info', '--component', 'Jobs', '--message', 'Found on [::1]'];
      for (const host of ['[::1]', '::1']) {
        const c = capturedIo({ TOCSIN_TOKEN: token, HOST: host, PORT: port });
        expect(await raiseCommand(args, c.io), c.err()).toBe(0);
      }
    } finally {
      await t.close();
    }
  });
});
