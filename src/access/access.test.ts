import zlib from 'node:zlib';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { sha256 } from '../shared/ids.js';
import { PERMISSIONS } from './permissions.js';
import { SIGN_IN_BODY_LIMIT_BYTES } from './password-login.js';
import { describeEachDialect } from '../../test/support/storage.js';
import { ADMIN_TOKEN, type TestApp, startTestApp } from '../../test/support/http.js';

describeEachDialect('tenants, people and access', (dialect) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp(dialect);
  });
  afterAll(() => t.close());

  it('creates a tenant with defaults and refuses a duplicate name with 409', async () => {
    const created = await t.call('POST', '/api/v1/tenants', { name: 'acme' });
    expect(created.statusCode).toBe(201);
    expect(created.json()).toMatchObject({ name: 'acme', displayName: 'acme', timeZone: 'UTC', language: 'en' });
    const again = await t.call('POST', '/api/v1/tenants', { name: 'acme' });
    expect(again.statusCode).toBe(409);
    expect(again.headers['content-type']).toContain('application/problem+json');
  });

  it('names the invalid field of a tenant in a problem document', async () => {
    const bad = await t.call('POST', '/api/v1/tenants', { name: 'Not Valid!', timeZone: 'Mars/Olympus' });
    expect(bad.statusCode).toBe(400);
    const paths = bad.json<{ errors: { path: string }[] }>().errors.map((e) => e.path);
    expect(paths).toEqual(expect.arrayContaining(['name', 'timeZone']));
  });

  it('says a value outside a list by the list in words, where it was zod\'s \'Invalid option: expected one of "en"|"fr"|…\'', async () => {
    const bad = await t.call('POST', '/api/v1/tenants', { name: 'portuguese', language: 'pt' });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().errors).toEqual([{ path: 'language', message: 'must be en, fr, de, es or ja' }]);
    const mute = await t.call('POST', '/api/v1/tenants', { name: 'listed' });
    expect(mute.statusCode).toBe(201);
    const admin = await t.tenantWithUser('listed', ['Administrator']);
    const scope = await t.call(
      'POST',
      '/api/v1/tenants/listed/mutes',
      { scope: 'everyone', match: { component: 'Jobs' }, until: '2099-01-01T00:00:00Z' },
      admin.token,
    );
    expect(scope.json().errors).toEqual([{ path: 'scope', message: 'must be tenant or user' }]);
  });

  it("says a required field left out is required and a field of another type or range what it takes, where zod said 'Invalid input: expected string, received undefined'", async () => {
    const bad = await t.call('POST', '/api/v1/tenants', { displayName: 'No name' });
    expect(bad.statusCode).toBe(400);
    expect(bad.json()).toMatchObject({ detail: 'name: is required', errors: [{ path: 'name', message: 'is required' }] });
    const wrongType = await t.call('POST', '/api/v1/tenants', { name: 7 });
    expect(wrongType.json().errors).toEqual([{ path: 'name', message: 'must be a string, not a number' }]);
    // Twice, in zod's words: 'Too big: expected int to be <=9007199254740991' and 'Too big: expected number to be <=3650'.
    const tooLong = await t.call('POST', '/api/v1/tenants', { name: 'long-kept', retentionDays: 1e308 });
    expect(tooLong.json().errors).toEqual([{ path: 'retentionDays', message: 'must be a whole number from 1 to 3,650' }]);
  });

  it("says a list sent for a text by its type alone, not also 'must have at least 3 items' (zod 4 checks any value's length)", async () => {
    await t.call('POST', '/api/v1/tenants', { name: 'listed-texts' });
    const admin = await t.tenantWithUser('listed-texts', ['Administrator']);
    const user = await t.call('POST', '/api/v1/tenants/listed-texts/users', { email: ['a@example.com'], name: 'Ann' }, admin.token);
    expect(user.statusCode).toBe(400);
    expect(user.json().errors).toEqual([{ path: 'email', message: 'must be a string, not a list' }]);
    const alert = await t.call('POST', '/api/v1/tenants/listed-texts/alerts', { severity: 'Error', component: 'Jobs', message: [] }, admin.token);
    expect(alert.json().errors).toEqual([{ path: 'message', message: 'must be a string, not a list' }]);
    // A list of the wrong size is still said by its size.
    const ids = await t.call('POST', '/api/v1/tenants/listed-texts/alerts/mark-read', { ids: [] }, admin.token);
    expect(ids.json().errors).toEqual([{ path: 'ids', message: 'must not be empty' }]);
  });

  it('refuses a tenant name shaped like an id, so that {tenant} is never ambiguous', async () => {
    const { id } = (await t.call('POST', '/api/v1/tenants', { name: 'initech' })).json();
    const clash = await t.call('POST', '/api/v1/tenants', { name: id });
    expect(clash.statusCode).toBe(400);
    expect(clash.json().errors[0].path).toBe('name');
    expect((await t.call('GET', `/api/v1/tenants/${id.toUpperCase()}`)).statusCode).toBe(404);
  });

  it('finds a tenant by id or by name, and patches only what is given', async () => {
    const { id } = (await t.call('POST', '/api/v1/tenants', { name: 'globex', timeZone: 'Europe/Paris' })).json();
    expect((await t.call('GET', `/api/v1/tenants/${id}`)).json().name).toBe('globex');
    const patched = await t.call('PATCH', '/api/v1/tenants/globex', { language: 'fr' });
    expect(patched.json()).toMatchObject({ language: 'fr', timeZone: 'Europe/Paris' });
  });

  // Names are lower case, so `Vandelay` can only mean `vandelay`: as the sign-in form, Authenticate's
  // TenancyName and the X-Tocsin-Tenant header take it, the path does, for the host administrator and a user.
  it('finds a tenant named in the path in another case', async () => {
    const { id } = (await t.call('POST', '/api/v1/tenants', { name: 'vandelay' })).json();
    const user = (await t.call('POST', '/api/v1/tenants/vandelay/users', { email: 'art@vandelay.example', name: 'Art', roles: ['Administrator'] })).json();
    const { token } = (await t.call('POST', `/api/v1/tenants/vandelay/users/${user.id}/tokens`, { name: 'script' })).json();
    expect((await t.call('GET', '/api/v1/tenants/Vandelay')).json()).toMatchObject({ id, name: 'vandelay' });
    const raised = await t.call('POST', '/api/v1/tenants/VANDELAY/alerts', { severity: 'Info', component: 'Jobs', message: 'x' }, token);
    expect(raised.statusCode, raised.body).toBe(202);
    expect((await t.call('GET', '/api/v1/tenants/Vandelay/alerts', undefined, token)).json().items).toHaveLength(1);
  });

  it('requires a token: 401 without one, 401 with a wrong one', async () => {
    expect((await t.call('GET', '/api/v1/tenants', undefined, '')).statusCode).toBe(401);
    expect((await t.call('GET', '/api/v1/tenants', undefined, 'nope')).statusCode).toBe(401);
  });

  it('challenges every 401 of the API with WWW-Authenticate: Bearer (RFC 9110), sign-ins and the Orchestrator subset included', async () => {
    await t.call('POST', '/api/v1/tenants', { name: 'challenged' });
    const answers = [
      await t.call('GET', '/api/v1/tenants', undefined, ''),
      await t.call('GET', '/api/v1/tenants/challenged/alerts', undefined, 'nope'),
      await t.tocsin.app.inject({ method: 'GET', url: '/odata/Alerts' }),
      await t.tocsin.app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { adminToken: 'not it' } }),
      await t.tocsin.app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { tenant: 'challenged', email: 'no@example.com', password: 'wrong' } }),
      await t.tocsin.app.inject({
        method: 'POST',
        url: '/api/Account/Authenticate',
        payload: { tenancyName: 'challenged', usernameOrEmailAddress: 'no@example.com', password: 'wrong' },
      }),
    ];
    for (const res of answers) {
      expect(res.statusCode, res.body).toBe(401);
      expect(res.headers['www-authenticate']).toBe('Bearer');
    }
  });

  it('asks for the token before reading the body: 401, 404 and 403 come before a malformed or unsupported body is judged', async () => {
    await t.call('POST', '/api/v1/tenants', { name: 'unread' });
    await t.call('POST', '/api/v1/tenants', { name: 'other-tenant' });
    const viewer = await t.tenantWithUser('unread', ['Alerts Viewer']);
    const send = (url: string, token: string, type: string, payload: string) =>
      t.tocsin.app.inject({ method: 'POST', url, headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), 'content-type': type }, payload });
    for (const [url, token, status] of [
      ['/api/v1/tenants', '', 401],
      ['/api/v1/tenants/unread/users', '', 401],
      ['/api/v1/tenants/unread/users', 'nope', 401],
      ['/api/v1/tenants/no-such-tenant/users', '', 401],
      ['/api/v1/tenants/other-tenant/users', viewer.token, 404],
      ['/api/v1/tenants/unread/users', viewer.token, 403],
      ['/api/v1/tenants', viewer.token, 403],
    ] as const) {
      for (const [type, payload] of [
        ['application/json', '{"email":'],
        ['text/plain', 'name=acme'],
        ['application/x-www-form-urlencoded', 'name=acme'],
      ]) {
        const res = await send(url, token, type!, payload!);
        expect(res.statusCode, `${url} with ${token || 'no token'} and ${type}: ${res.body}`).toBe(status);
        expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      }
    }
  });

  it('refuses a sign-in body over SIGN_IN_BODY_LIMIT_BYTES with 413 before parsing it, sent plain or compressed', async () => {
    // These routes take a body from anyone: 19 MB of unknown keys held the event loop for 7 s (the console's
    // sign-in) and 22 s (Authenticate), every other request waiting, for one stranger's request.
    await t.tenantWithUser('signing-in');
    const keys = Array.from({ length: 8_000 }, (_, i) => `"k${i}":0`).join(',');
    const body = `{"tenant":"signing-in","tenancyName":"signing-in","email":"a@example.com","usernameOrEmailAddress":"a@example.com","password":"p",${keys}}`;
    expect(Buffer.byteLength(body)).toBeGreaterThan(SIGN_IN_BODY_LIMIT_BYTES);
    for (const url of ['/api/v1/auth/login', '/api/Account/Authenticate', '/api/Account']) {
      for (const [encoding, payload] of [
        [undefined, body],
        ['gzip', zlib.gzipSync(body)],
      ] as const) {
        const res = await t.tocsin.app.inject({
          method: 'POST',
          url,
          headers: { 'content-type': 'application/json', ...(encoding ? { 'content-encoding': encoding } : {}) },
          payload,
        });
        expect(res.statusCode, `${url} ${encoding ?? 'plain'}: ${res.body}`).toBe(413);
        expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      }
    }
  });

  it('creates users with roles, never shows a password, and refuses a duplicate email ignoring case', async () => {
    await t.call('POST', '/api/v1/tenants', { name: 'people' });
    const created = await t.call('POST', '/api/v1/tenants/people/users', {
      email: 'Ana@Example.com',
      name: 'Ana',
      password: 'correct horse battery',
      roles: ['Alerts Viewer'],
    });
    expect(created.statusCode).toBe(201);
    const body = created.json();
    expect(body).toMatchObject({ email: 'Ana@Example.com', roles: ['Alerts Viewer'], active: true, hasPassword: true });
    expect(JSON.stringify(body)).not.toContain('correct horse');
    expect(JSON.stringify(body)).not.toContain('argon2');
    const dup = await t.call('POST', '/api/v1/tenants/people/users', { email: 'ana@example.COM', name: 'Other' });
    expect(dup.statusCode).toBe(409);
  });

  it('takes an email written with decomposed accents for the same address, composed', async () => {
    // 'zoé' typed on one keyboard is U+00E9, pasted from another place 'e' + U+0301: two users listed alike, each mailed.
    await t.call('POST', '/api/v1/tenants', { name: 'unicode' });
    const users = '/api/v1/tenants/unicode/users';
    const zoe = await t.call('POST', users, { email: 'zo\u00e9@b\u00fccher.example', name: 'Zoé', password: 'a long secret phrase' });
    expect(zoe.statusCode).toBe(201);
    for (const email of ['zoe\u0301@b\u00fccher.example', 'ZOE\u0301@BU\u0308CHER.example']) {
      expect((await t.call('POST', users, { email, name: 'Twin' })).statusCode, email).toBe(409);
    }
    const other = (await t.call('POST', users, { email: 'zoe@example.com', name: 'Other' })).json();
    expect((await t.call('PATCH', `${users}/${other.id}`, { email: 'zoe\u0301@b\u00fccher.example' })).statusCode).toBe(409);
    // Stored composed (NFC, as RFC 6532 asks), and the decomposed spelling signs in.
    const made = (await t.call('POST', users, { email: 'le\u0301a@example.com', name: 'Léa' })).json();
    expect(made.email).toBe('l\u00e9a@example.com');
    const login = await t.tocsin.app.inject({
      method: 'POST',
      url: '/api/v1/auth/login',
      payload: { tenant: 'unicode', email: 'zoe\u0301@bu\u0308cher.example', password: 'a long secret phrase' },
    });
    expect(login.statusCode).toBe(200);
    expect(login.json().userId).toBe(zoe.json().id);
  });

  it('takes an international domain written in punycode for the same address, either way round, and signs in with either spelling', async () => {
    // user@bücher.example, user@xn--bcher-kva.example and user@ｂüｃｈｅｒ.example are one mailbox (IDNA): each was a user, and the mailbox got every email twice.
    await t.call('POST', '/api/v1/tenants', { name: 'punycode' });
    const users = '/api/v1/tenants/punycode/users';
    const unicode = await t.call('POST', users, { email: 'ana@b\u00fccher.example', name: 'Ana', password: 'a long secret phrase' });
    expect(unicode.statusCode).toBe(201);
    for (const email of ['ana@xn--bcher-kva.example', 'ANA@XN--BCHER-KVA.EXAMPLE', 'ana@\uff42\u00fc\uff43\uff48\uff45\uff52.example']) {
      const twin = await t.call('POST', users, { email, name: 'Twin' });
      expect(twin.statusCode, email).toBe(409);
      expect(twin.json().errors).toEqual([{ path: 'email', message: `A user with the email ${email} already exists.` }]);
    }
    const ascii = await t.call('POST', users, { email: 'bo@xn--r8jz45g.jp', name: 'Bo', password: 'a long secret phrase' });
    expect(ascii.statusCode).toBe(201);
    expect((await t.call('POST', users, { email: 'bo@\u4f8b\u3048.jp', name: 'Twin' })).statusCode).toBe(409);
    expect((await t.call('PATCH', `${users}/${ascii.json().id}`, { email: 'ana@xn--bcher-kva.example' })).statusCode).toBe(409);
    for (const [email, user] of [
      ['ana@xn--bcher-kva.example', unicode],
      ['bo@\u4f8b\u3048.JP', ascii],
    ] as const) {
      const login = await t.tocsin.app.inject({
        method: 'POST',
        url: '/api/v1/auth/login',
        payload: { tenant: 'punycode', email, password: 'a long secret phrase' },
      });
      expect(login.statusCode, email).toBe(200);
      expect(login.json().userId).toBe(user.json().id);
    }
  });

  it('refuses an email with an invisible, bidirectional or space-like character, naming it, where it made a second user of one address', async () => {
    // 'ana\u200b@example.com' reads as ana@example.com, yet was a user of its own beside her (no 409), and no server delivers to it.
    await t.call('POST', '/api/v1/tenants', { name: 'invisible' });
    const users = '/api/v1/tenants/invisible/users';
    expect((await t.call('POST', users, { email: 'ana@example.com', name: 'Ana' })).statusCode).toBe(201);
    for (const email of [
      'ana\u200b@example.com',
      'a\u202ena@example.com',
      'ana@exa\u200dmple.com',
      'ana\u00a0x@example.com',
      'ana@example.com\u2060',
      'an\u00ada@example.com',
    ]) {
      const res = await t.call('POST', users, { email, name: 'Twin' });
      expect(res.statusCode, JSON.stringify(email)).toBe(400);
      expect(res.json().errors, JSON.stringify(email)).toEqual([{ path: 'email', message: expect.any(String) }]);
      const group = await t.call('POST', '/api/v1/tenants/invisible/groups', { name: `g${email.length}${email.codePointAt(3)}`, email });
      expect(group.statusCode, JSON.stringify(email)).toBe(400);
    }
    expect((await t.call('GET', users)).json().items).toHaveLength(1);
    // Letters beyond ASCII stay welcome (RFC 6531).
    expect((await t.call('POST', users, { email: 'søren@københavn.example', name: 'Søren' })).statusCode).toBe(201);
  });

  it('takes a domain whose dots a Japanese or Chinese keyboard wrote as ideographic full stops, written with ASCII dots', async () => {
    // An IME types 。 (U+3002) or ． (U+FF0E) for the dot: IDNA reads them as dots, and the address was refused.
    await t.call('POST', '/api/v1/tenants', { name: 'ideographic' });
    const users = '/api/v1/tenants/ideographic/users';
    const ken = await t.call('POST', users, { email: 'ken@\u4f8b\u3048\u3002jp', name: 'Ken' });
    expect(ken.statusCode).toBe(201);
    expect(ken.json().email).toBe('ken@\u4f8b\u3048.jp');
    for (const email of ['ken@\u4f8b\u3048\uff0ejp', 'ken@xn--r8jz45g\uff61jp']) {
      expect((await t.call('POST', users, { email, name: 'Twin' })).statusCode, email).toBe(409);
    }
    // A user part keeps its own characters: only the domain's dots are the domain's structure.
    const mei = await t.call('POST', users, { email: '\u3002mei\u3002@example.com', name: 'Mei' });
    expect(mei.json().email).toBe('\u3002mei\u3002@example.com');
  });

  it('refuses an email holding half a character or the replacement character, naming it, where it stored a garbled address', async () => {
    // A lone surrogate (JSON's '\ud800' escape) is read as U+FFFD: 'jos\ud800@example.com' was stored
    // and mailed as 'jos\ufffd@example.com', an address no one has, and so was U+FFFD sent as such.
    await t.call('POST', '/api/v1/tenants', { name: 'garbled' });
    for (const email of [
      'jos\ud800@example.com',
      'jos\ufffd@example.com',
      'jos\udc00@b\u00fccher.example',
      'ana@b\ufffdcher.example',
      'ana\uffff@example.com',
    ]) {
      const res = await t.call('POST', '/api/v1/tenants/garbled/users', { email, name: 'Garbled' });
      expect(res.statusCode, JSON.stringify(email)).toBe(400);
      expect(res.json().errors, JSON.stringify(email)).toEqual([{ path: 'email', message: 'must be an email address such as ops@example.com' }]);
      const test = await t.call('POST', '/api/v1/tenants/garbled/settings/mail/test', { sendTo: email });
      expect(test.statusCode, JSON.stringify(email)).toBe(400);
    }
    expect((await t.call('GET', '/api/v1/tenants/garbled/users')).json().items).toEqual([]);
  });

  it('grants a role named twice once, to a user or a group', async () => {
    const user = await t.call('POST', '/api/v1/tenants/people/users', { email: 'twice@example.com', name: 'Twice', roles: ['Robot', 'Robot'] });
    expect(user.statusCode).toBe(201);
    expect(user.json().roles).toEqual(['Robot']);
    const patched = await t.call('PATCH', `/api/v1/tenants/people/users/${user.json().id}`, { roles: ['Alerts Viewer', 'Alerts Viewer', 'Robot'] });
    expect(patched.json().roles).toEqual(['Alerts Viewer', 'Robot']);
    const group = await t.call('POST', '/api/v1/tenants/people/groups', { name: 'Twice', roles: ['Robot', 'Robot'] });
    expect(group.statusCode).toBe(201);
    expect(group.json().roles).toEqual(['Robot']);
  });

  it('grants a permission named twice once, even in a list that names all ten besides', async () => {
    const all = (await t.call('GET', '/api/v1/tenants/people/roles')).json().items.find((r: { name: string }) => r.name === 'Administrator').permissions;
    const role = await t.call('POST', '/api/v1/tenants/people/roles', { name: 'Everything Twice', permissions: [...all, 'Alerts.View'] });
    expect(role.statusCode, role.body).toBe(201);
    expect(role.json().permissions).toEqual(all);
  });

  it('finds a role named in another case or with spaces around it, as role names are unique so', async () => {
    // POST /roles {name: ' robot '} is answered 409 'A role named "robot" already exists': the same words must find it.
    const user = await t.call('POST', '/api/v1/tenants/people/users', { email: 'cased@example.com', name: 'Cased', roles: ['administrator', ' Robot '] });
    expect(user.statusCode).toBe(201);
    expect(user.json().roles.sort()).toEqual(['Administrator', 'Robot']);
    const group = await t.call('POST', '/api/v1/tenants/people/groups', { name: 'Cased', roles: ['ALERTS VIEWER'] });
    expect(group.json().roles).toEqual(['Alerts Viewer']);
  });

  it('rejects an unknown role by naming it', async () => {
    const bad = await t.call('POST', '/api/v1/tenants/people/users', { email: 'x@example.com', name: 'X', roles: ['Wizard'] });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().errors[0].path).toBe('roles.0');
  });

  it("lists each group with its own members and roles, by name, not every group's members under each", async () => {
    const base = '/api/v1/tenants/group-lists';
    await t.call('POST', '/api/v1/tenants', { name: 'group-lists' });
    const user = async (email: string) => (await t.call('POST', `${base}/users`, { email, name: email })).json<{ id: string }>().id;
    const [night, day, both] = [await user('night@example.com'), await user('day@example.com'), await user('both@example.com')];
    expect((await t.call('POST', `${base}/groups`, { name: 'Night', members: [night, both], roles: ['Robot', 'Alerts Viewer'] })).statusCode).toBe(201);
    expect((await t.call('POST', `${base}/groups`, { name: 'Day', members: [day, both] })).statusCode).toBe(201);
    const items = (await t.call('GET', `${base}/groups`)).json().items;
    const sorted = (ids: string[]) => [...ids].sort();
    expect(items.map((g: { name: string }) => g.name)).toEqual(['Day', 'Night']);
    expect(sorted(items[0].members)).toEqual(sorted([day, both]));
    expect(items[0].roles).toEqual([]);
    expect(sorted(items[1].members)).toEqual(sorted([night, both]));
    // Role names in code-point order, whatever order they were granted in.
    expect(items[1].roles).toEqual(['Alerts Viewer', 'Robot']);
  });

  it('names every unknown member and role of a group at the index the request gave it, and creates nothing', async () => {
    const user = (await t.call('POST', '/api/v1/tenants/people/users', { email: 'member-index@example.com', name: 'Member' })).json<{ id: string }>();
    // The member named twice is granted once; the unknown one after it is still members.2 of the request.
    const bad = await t.call('POST', '/api/v1/tenants/people/groups', {
      name: 'Indexed',
      members: [user.id, user.id, 'no-such-user', 'nor-this-one'],
      roles: ['Wizard', 'Administrator', 'Sorcerer'],
    });
    expect(bad.statusCode, bad.body).toBe(400);
    expect(bad.json().errors.map((e: { path: string }) => e.path)).toEqual(['members.2', 'members.3', 'roles.0', 'roles.2']);
    expect(bad.json().detail).toBe('members.2: no user no-such-user in this tenant');
    const users = await t.call('POST', '/api/v1/tenants/people/users', { email: 'roles-index@example.com', name: 'R', roles: ['Wizard', 'Robot', 'Sorcerer'] });
    expect(users.json().errors.map((e: { path: string }) => e.path)).toEqual(['roles.0', 'roles.2']);
    const groups = (await t.call('GET', '/api/v1/tenants/people/groups')).json<{ items: { name: string }[] }>().items;
    expect(groups.map((g) => g.name)).not.toContain('Indexed');
  });

  it('rejects an unknown permission by naming it, and creates nothing', async () => {
    const bad = await t.call('POST', '/api/v1/tenants/people/roles', { name: 'Flyer', permissions: ['Alerts.View', 'Alerts.Fly'] });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().errors).toEqual([{ path: 'permissions.1', message: expect.stringContaining('"Alerts.Fly"') }]);
    expect(bad.json().detail).toContain('Alerts.Fly');
    expect((await t.call('GET', '/api/v1/tenants/people/roles')).json().items.map((r: { name: string }) => r.name)).not.toContain('Flyer');
  });

  it('refuses a field it does not know when creating a user, a group, a role or a token, as their patches do', async () => {
    await t.call('POST', '/api/v1/tenants', { name: 'strict' });
    const user = await t.call('POST', '/api/v1/tenants/strict/users', { email: 'typo@example.com', name: 'Typo', timezone: 'Asia/Tokyo' });
    expect(user.statusCode).toBe(400);
    expect(user.json().errors).toEqual([{ path: 'timezone', message: 'is not a known field' }]);
    expect((await t.call('GET', '/api/v1/tenants/strict/users')).json().items.map((u: { email: string }) => u.email)).not.toContain('typo@example.com');
    const group = await t.call('POST', '/api/v1/tenants/strict/groups', { name: 'Typos', member: ['x'] });
    expect(group.json().errors).toEqual([{ path: 'member', message: 'is not a known field' }]);
    const role = await t.call('POST', '/api/v1/tenants/strict/roles', { name: 'Typist', permissions: [], permission: ['Alerts.View'] });
    expect(role.json().errors).toEqual([{ path: 'permission', message: 'is not a known field' }]);
    const { id } = (await t.call('POST', '/api/v1/tenants/strict/users', { email: 'tokens@example.com', name: 'Tokens' })).json();
    const token = await t.call('POST', `/api/v1/tenants/strict/users/${id}/tokens`, { name: 'ci', expires: '2027-01-01' });
    expect(token.json().errors).toEqual([{ path: 'expires', message: 'is not a known field' }]);
  });

  it('takes back the answer of a GET as a PATCH of a tenant, user, group or role, its read-only fields ignored, as the mail settings and preferences do', async () => {
    await t.call('POST', '/api/v1/tenants', { name: 'echoed' });
    const tenant = (await t.call('GET', '/api/v1/tenants/echoed')).json();
    const patchedTenant = await t.call('PATCH', '/api/v1/tenants/echoed', { ...tenant, displayName: 'Echoed Inc' });
    expect(patchedTenant.statusCode).toBe(200);
    expect(patchedTenant.json()).toMatchObject({ id: tenant.id, createdAt: tenant.createdAt, displayName: 'Echoed Inc' });
    const user = (await t.call('POST', '/api/v1/tenants/echoed/users', { email: 'ed@example.com', name: 'Ed' })).json();
    const patchedUser = await t.call('PATCH', `/api/v1/tenants/echoed/users/${user.id}`, { ...user, name: 'Eddie' });
    expect(patchedUser.statusCode).toBe(200);
    expect(patchedUser.json()).toMatchObject({ id: user.id, name: 'Eddie', hasPassword: false, createdAt: user.createdAt });
    const group = (await t.call('POST', '/api/v1/tenants/echoed/groups', { name: 'Ops' })).json();
    const patchedGroup = await t.call('PATCH', `/api/v1/tenants/echoed/groups/${group.id}`, { ...group, language: 'de' });
    expect(patchedGroup.statusCode).toBe(200);
    expect(patchedGroup.json()).toMatchObject({ id: group.id, language: 'de', createdAt: group.createdAt });
    const role = (await t.call('POST', '/api/v1/tenants/echoed/roles', { name: 'Readers', permissions: ['Alerts.View'] })).json();
    const patchedRole = await t.call('PATCH', `/api/v1/tenants/echoed/roles/${role.id}`, { ...role, name: 'Alert readers' });
    expect(patchedRole.statusCode, patchedRole.body).toBe(200);
    expect(patchedRole.json()).toEqual({ ...role, name: 'Alert readers' });
    // A mistyped field is still refused: only the answers' own names are let through.
    expect((await t.call('PATCH', '/api/v1/tenants/echoed', { timezone: 'Europe/Paris' })).json().errors).toEqual([
      { path: 'timezone', message: 'is not a known field' },
    ]);
  });

  it('changes nothing, not even updatedAt, for a PATCH of a user with no field to set ({}, its read-only fields, or its fields as read)', async () => {
    await t.call('POST', '/api/v1/tenants', { name: 'untouched' });
    const { id } = (await t.call('POST', '/api/v1/tenants/untouched/users', { email: 'still@example.com', name: 'Still' })).json();
    const before = (await t.call('GET', `/api/v1/tenants/untouched/users/${id}`)).json();
    // The clock has moved on since the user was written, so a rewrite would show in updatedAt.
    await expect.poll(() => Date.now() > Date.parse(before.updatedAt) + 2, { timeout: 10_000 }).toBe(true);
    for (const body of [
      {},
      { id: before.id, hasPassword: before.hasPassword, groups: before.groups, createdAt: before.createdAt, updatedAt: before.updatedAt },
      // Every field sent back as it was read (a form saved unchanged) is no change either.
      before,
      { name: 'Still', email: 'still@example.com', active: true, password: null, roles: before.roles, unsubscribed: [] },
    ]) {
      const patched = await t.call('PATCH', `/api/v1/tenants/untouched/users/${id}`, body);
      expect(patched.statusCode, patched.body).toBe(200);
      expect(patched.json()).toEqual(before);
    }
    expect((await t.call('GET', `/api/v1/tenants/untouched/users/${id}`)).json()).toEqual(before);
    const renamed = (await t.call('PATCH', `/api/v1/tenants/untouched/users/${id}`, { ...before, name: 'Moved' })).json();
    expect(Date.parse(renamed.updatedAt)).toBeGreaterThan(Date.parse(before.updatedAt));
  });

  it('keeps fields left out of a PATCH and clears those set to null', async () => {
    const { id } = (
      await t.call('POST', '/api/v1/tenants/people/users', { email: 'bo@example.com', name: 'Bo', language: 'fr', timeZone: 'Asia/Tokyo' })
    ).json();
    const patched = (await t.call('PATCH', `/api/v1/tenants/people/users/${id}`, { timeZone: null })).json();
    expect(patched).toMatchObject({ language: 'fr', timeZone: null, name: 'Bo' });
  });

  it('keeps a time zone as IANA spells it, whatever its case, and an alias as given', async () => {
    await t.call('POST', '/api/v1/tenants', { name: 'zones', timeZone: 'europe/paris' });
    expect((await t.call('GET', '/api/v1/tenants/zones')).json().timeZone).toBe('Europe/Paris');
    expect((await t.call('PATCH', '/api/v1/tenants/zones', { timeZone: 'AMERICA/NEW_YORK' })).json().timeZone).toBe('America/New_York');
    expect((await t.call('PATCH', '/api/v1/tenants/zones', { timeZone: 'Etc/UTC' })).json().timeZone).toBe('Etc/UTC');
    const { id } = (await t.call('POST', '/api/v1/tenants/zones/users', { email: 'tz@example.com', name: 'Tz', timeZone: 'asia/tokyo' })).json();
    expect((await t.call('GET', `/api/v1/tenants/zones/users/${id}`)).json().timeZone).toBe('Asia/Tokyo');
  });

  it('spells a zone the runtime knows by an older name as IANA does, in any case: asia/kathmandu is Asia/Kathmandu, not kept lower-case', async () => {
    // Node's ICU names Asia/Kathmandu, Asia/Kolkata and Europe/Kyiv by their former names (Asia/Katmandu, …),
    // so a case-insensitive match against its spelling missed them, and emails said "Times are shown in asia/kathmandu".
    await t.call('POST', '/api/v1/tenants', { name: 'renamed', timeZone: 'asia/kolkata' });
    expect((await t.call('GET', '/api/v1/tenants/renamed')).json().timeZone).toBe('Asia/Kolkata');
    expect((await t.call('PATCH', '/api/v1/tenants/renamed', { timeZone: 'AMERICA/ARGENTINA/BUENOS_AIRES' })).json().timeZone).toBe(
      'America/Argentina/Buenos_Aires',
    );
    expect((await t.call('PATCH', '/api/v1/tenants/renamed', { timeZone: 'asia/katmandu' })).json().timeZone).toBe('Asia/Katmandu');
    const { id } = (await t.call('POST', '/api/v1/tenants/renamed/users', { email: 'np@example.com', name: 'Np', timeZone: 'asia/kathmandu' })).json();
    expect((await t.call('GET', `/api/v1/tenants/renamed/users/${id}`)).json().timeZone).toBe('Asia/Kathmandu');
    expect((await t.call('PATCH', `/api/v1/tenants/renamed/users/${id}`, { timeZone: 'europe/kyiv' })).json().timeZone).toBe('Europe/Kyiv');
  });

  it('keeps CET, EET, MET and WET upper-case as IANA writes them, in any case, not Cet', async () => {
    // Node's ICU resolves these to a city (CET is Europe/Brussels) and lists them nowhere else, so
    // they fell to the word-by-word capitals of a name newer than the runtime: emails said "Times are shown in Cet".
    await t.call('POST', '/api/v1/tenants', { name: 'legacy-zones', timeZone: 'CET' });
    expect((await t.call('GET', '/api/v1/tenants/legacy-zones')).json().timeZone).toBe('CET');
    expect((await t.call('PATCH', '/api/v1/tenants/legacy-zones', { timeZone: 'eet' })).json().timeZone).toBe('EET');
    const { id } = (await t.call('POST', '/api/v1/tenants/legacy-zones/users', { email: 'wet@example.com', name: 'Wet', timeZone: 'wet' })).json();
    expect((await t.call('GET', `/api/v1/tenants/legacy-zones/users/${id}`)).json().timeZone).toBe('WET');
    expect((await t.call('PATCH', `/api/v1/tenants/legacy-zones/users/${id}`, { timeZone: 'Met' })).json().timeZone).toBe('MET');
  });

  it('reads a language tag as BCP 47 does, in any case and by its language: FR, fr-FR and es-MX are fr, fr and es', async () => {
    // A .NET or browser client sends its culture's name (fr-FR, es-MX), as a time zone in any case is taken above.
    const created = await t.call('POST', '/api/v1/tenants', { name: 'tags', language: 'FR' });
    expect(created.statusCode).toBe(201);
    expect(created.json().language).toBe('fr');
    expect((await t.call('PATCH', '/api/v1/tenants/tags', { language: 'es-MX' })).json().language).toBe('es');
    const user = await t.call('POST', '/api/v1/tenants/tags/users', { email: 'tag@example.com', name: 'Tag', language: 'fr-FR' });
    expect(user.json().language).toBe('fr');
    const group = await t.call('POST', '/api/v1/tenants/tags/groups', { name: 'Tags', language: 'de_DE' });
    expect(group.json().language).toBe('de');
    for (const refused of ['zh-CN', 'pt', 'french', 'f', '']) {
      const res = await t.call('PATCH', '/api/v1/tenants/tags', { language: refused });
      expect(res.statusCode, refused).toBe(400);
      expect(res.json().errors[0].path, refused).toBe('language');
    }
  });

  it('takes a time zone or language pasted with spaces around it, as an email address or a name is taken, and still refuses a blank one', async () => {
    // Copied from a spreadsheet or a config file, "Europe/London " was a 400 where " bo@example.com " and " Bo " were trimmed.
    const created = await t.call('POST', '/api/v1/tenants', { name: 'padded', timeZone: ' Europe/London ', language: 'fr\t' });
    expect(created.statusCode, created.body).toBe(201);
    expect(created.json()).toMatchObject({ timeZone: 'Europe/London', language: 'fr' });
    expect((await t.call('PATCH', '/api/v1/tenants/padded', { timeZone: 'asia/tokyo\n', language: ' es-MX ' })).json()).toMatchObject({
      timeZone: 'Asia/Tokyo',
      language: 'es',
    });
    const user = await t.call('POST', '/api/v1/tenants/padded/users', { email: 'pad@example.com', name: 'Pad', timeZone: 'Europe/London ', language: ' de' });
    expect(user.statusCode, user.body).toBe(201);
    expect(user.json()).toMatchObject({ timeZone: 'Europe/London', language: 'de' });
    const patched = await t.call('PATCH', `/api/v1/tenants/padded/users/${user.json().id}`, { timeZone: ' UTC', language: 'ja ' });
    expect(patched.json()).toMatchObject({ timeZone: 'UTC', language: 'ja' });
    const group = await t.call('POST', '/api/v1/tenants/padded/groups', { name: 'Padded', language: ' en ' });
    expect(group.json().language).toBe('en');
    for (const [field, refused] of [
      ['timeZone', ' '],
      ['timeZone', 'Europe/ London'],
      ['language', ' '],
    ] as const) {
      const res = await t.call('PATCH', '/api/v1/tenants/padded', { [field]: refused });
      expect(res.statusCode, refused).toBe(400);
      expect(res.json().errors[0].path, refused).toBe(field);
    }
  });

  it('puts a tenant field set to null back to the default a new tenant gets', async () => {
    await t.call('POST', '/api/v1/tenants', { name: 'umbrella', displayName: 'Umbrella Corp', timeZone: 'Asia/Tokyo', language: 'ja' });
    const cleared = await t.call('PATCH', '/api/v1/tenants/umbrella', { displayName: null, timeZone: null, language: null });
    expect(cleared.statusCode).toBe(200);
    expect(cleared.json()).toMatchObject({ displayName: 'umbrella', timeZone: 'UTC', language: 'en' });
    const created = await t.call('POST', '/api/v1/tenants', { name: 'hooli', displayName: null, timeZone: null, language: null });
    expect(created.statusCode).toBe(201);
    expect(created.json()).toMatchObject({ displayName: 'hooli', timeZone: 'UTC', language: 'en' });
  });

  it('refuses a field it does not know when creating a tenant, as a patch does: a mistyped timezone made a UTC tenant', async () => {
    const typo = await t.call('POST', '/api/v1/tenants', { name: 'typo', timezone: 'Europe/Paris' });
    expect(typo.statusCode).toBe(400);
    expect(typo.json().errors).toEqual([{ path: 'timezone', message: 'is not a known field' }]);
    expect((await t.call('GET', '/api/v1/tenants/typo')).statusCode).toBe(404);
  });

  it('keeps every field of tenant PATCHes sent at once, each of one field', async () => {
    const { id } = (await t.call('POST', '/api/v1/tenants', { name: 'cyberdyne' })).json();
    const patches = [{ timeZone: 'Europe/Paris' }, { language: 'fr' }, { displayName: 'Cyberdyne Systems' }, { retentionDays: 7 }];
    const answers = await Promise.all(patches.map((body) => t.call('PATCH', `/api/v1/tenants/${id}`, body)));
    expect(answers.map((a) => a.statusCode)).toEqual(patches.map(() => 200));
    expect((await t.call('GET', `/api/v1/tenants/${id}`)).json()).toMatchObject({
      name: 'cyberdyne',
      timeZone: 'Europe/Paris',
      language: 'fr',
      displayName: 'Cyberdyne Systems',
      retentionDays: 7,
    });
  });

  it('deletes a tenant once when the same DELETE comes several times at once: one 204, the others 404', async () => {
    // On PostgreSQL each of them had found the tenant before the first deleted it, and all answered 204.
    await t.call('POST', '/api/v1/tenants', { name: 'tyrell' });
    const answers = await Promise.all(Array.from({ length: 4 }, () => t.call('DELETE', '/api/v1/tenants/tyrell')));
    expect(answers.map((a) => a.statusCode).sort()).toEqual([204, 404, 404, 404]);
    expect((await t.call('GET', '/api/v1/tenants/tyrell')).statusCode).toBe(404);
  });

  it('renames a tenant to a free name (409 for a taken one), found by its new name and its id', async () => {
    const { id } = (await t.call('POST', '/api/v1/tenants', { name: 'stark' })).json();
    await t.call('POST', '/api/v1/tenants', { name: 'wayne', displayName: 'Wayne Enterprises' });
    expect((await t.call('PATCH', '/api/v1/tenants/stark', { name: 'wayne' })).statusCode).toBe(409);
    const renamed = await t.call('PATCH', '/api/v1/tenants/stark', { name: 'stark-industries' });
    expect(renamed.statusCode).toBe(200);
    expect(renamed.json()).toMatchObject({ id, name: 'stark-industries', displayName: 'stark-industries' });
    expect((await t.call('GET', '/api/v1/tenants/stark')).statusCode).toBe(404);
    expect((await t.call('GET', `/api/v1/tenants/${id}`)).json().name).toBe('stark-industries');
    const kept = await t.call('PATCH', '/api/v1/tenants/wayne', { name: 'wayne-corp' });
    expect(kept.json()).toMatchObject({ name: 'wayne-corp', displayName: 'Wayne Enterprises' });
    expect((await t.call('PATCH', '/api/v1/tenants/wayne-corp', { name: 'Not Valid' })).json().errors[0].path).toBe('name');
  });

  it('names an unknown field by its own path', async () => {
    const unknown = await t.call('PATCH', '/api/v1/tenants/umbrella', { colour: 'red' });
    expect(unknown.statusCode).toBe(400);
    expect(unknown.json().errors.map((e: { path: string }) => e.path)).toEqual(['colour']);
    const nested = await t.call('POST', '/api/v1/tenants/umbrella/mutes', {
      scope: 'tenant',
      match: { robot: 'R1', folder: 'F' },
      until: '2999-01-01T00:00:00Z',
    });
    expect(nested.statusCode).toBe(400);
    expect(nested.json().errors.map((e: { path: string }) => e.path)).toContain('match.folder');
  });

  it('clears the roles and members of a user or group set to null', async () => {
    const { userId } = await t.tenantWithUser('people', ['Alerts Viewer']);
    const user = await t.call('PATCH', `/api/v1/tenants/people/users/${userId}`, { roles: null, active: null });
    expect(user.statusCode).toBe(200);
    expect(user.json()).toMatchObject({ roles: [], active: true });
    const created = await t.call('POST', '/api/v1/tenants/people/users', { email: 'nul@example.com', name: 'Nul', password: null, roles: null, active: null });
    expect(created.statusCode).toBe(201);
    expect(created.json()).toMatchObject({ roles: [], active: true, hasPassword: false });
    const { id } = (await t.call('POST', '/api/v1/tenants/people/groups', { name: 'Nulls', members: [userId], roles: ['Robot'], expandMembers: true })).json();
    const group = await t.call('PATCH', `/api/v1/tenants/people/groups/${id}`, { members: null, roles: null, expandMembers: null });
    expect(group.statusCode).toBe(200);
    expect(group.json()).toMatchObject({ members: [], roles: [], expandMembers: false });
  });

  it("gives group members the group roles, and /me reports the effective permissions in API.md's order", async () => {
    const { userId, token } = await t.tenantWithUser('people', []);
    const before = (await t.call('GET', '/api/v1/tenants/people/me', undefined, token)).json();
    expect(before.permissions).toEqual([]);
    const group = await t.call('POST', '/api/v1/tenants/people/groups', {
      name: 'Operators',
      email: 'ops@example.com',
      language: 'de',
      members: [userId],
      roles: ['Robot'],
      expandMembers: true,
    });
    expect(group.statusCode).toBe(201);
    expect(group.json()).toMatchObject({ members: [userId], roles: ['Robot'], expandMembers: true, language: 'de' });
    const after = (await t.call('GET', '/api/v1/tenants/people/me', undefined, token)).json();
    // In API.md's order, as the built-in roles list them, not alphabetical.
    expect(after.permissions).toEqual(['Alerts.View', 'Alerts.Create', 'Alerts.Edit']);
    expect((await t.call('GET', '/api/v1/tenants/people/me')).json().permissions).toEqual([...PERMISSIONS]);
    expect(after.user.id).toBe(userId);
    // The caller itself: its own fields at the top, as API.md's "the caller, with its permissions".
    expect(after).toMatchObject({ id: userId, email: after.user.email, name: after.user.name });
  });

  it('lets users change their own name, language and time zone, but nothing else and nobody else, without Users.Edit', async () => {
    const { userId, token } = await t.tenantWithUser('people', ['Alerts Viewer']);
    const own = await t.call('PATCH', `/api/v1/tenants/people/users/${userId}`, { name: 'Me', language: 'fr', timeZone: 'Europe/Paris' }, token);
    expect(own.statusCode).toBe(200);
    expect(own.json()).toMatchObject({ name: 'Me', language: 'fr', timeZone: 'Europe/Paris', roles: ['Alerts Viewer'] });
    const promote = await t.call('PATCH', `/api/v1/tenants/people/users/${userId}`, { language: 'de', roles: ['Administrator'] }, token);
    expect(promote.statusCode).toBe(403);
    expect(promote.json().detail).toContain('Users.Edit');
    // Nor its own account's standing: not switched off, its address not moved, its password not
    // replaced without the current one (that is POST /me/password's, which asks for it).
    for (const body of [{ active: false }, { email: 'elsewhere@example.com' }, { password: 'a-new-passw0rd-here' }]) {
      const denied = await t.call('PATCH', `/api/v1/tenants/people/users/${userId}`, body, token);
      expect(denied.statusCode, JSON.stringify(body)).toBe(403);
    }
    expect((await t.call('GET', '/api/v1/tenants/people/me', undefined, token)).statusCode).toBe(200);
    const other = await t.tenantWithUser('people', ['Alerts Viewer']);
    expect((await t.call('PATCH', `/api/v1/tenants/people/users/${other.userId}`, { name: 'Not me' }, token)).statusCode).toBe(403);
    expect((await t.call('GET', `/api/v1/tenants/people/users/${userId}`)).json()).toMatchObject({ name: 'Me', language: 'fr', roles: ['Alerts Viewer'] });
  });

  it('lets a holder of Users.Edit grant only what it holds: no Administrator of itself, nor the keys of one (403)', async () => {
    const base = '/api/v1/tenants/no-escalation';
    const admin = await t.tenantWithUser('no-escalation', ['Administrator']);
    expect((await t.call('POST', `${base}/roles`, { name: 'People desk', permissions: ['Users.View', 'Users.Edit', 'Alerts.View'] })).statusCode).toBe(201);
    const desk = await t.tenantWithUser('no-escalation', ['People desk']);
    const admins = (await t.call('POST', `${base}/groups`, { name: 'Admins', roles: ['Administrator'] })).json();
    const refused = async (method: 'POST' | 'PATCH' | 'DELETE', url: string, body?: unknown) => {
      const res = await t.call(method, url, body, desk.token);
      expect(res.statusCode, `${method} ${url}: ${res.body}`).toBe(403);
      expect(res.json().detail).toContain('Settings.Edit');
    };
    // Made an Administrator: by its own roles, a group's, a role it writes, or joining the Administrators' group.
    await refused('PATCH', `${base}/users/${desk.userId}`, { roles: ['People desk', 'Administrator'] });
    await refused('POST', `${base}/users`, { email: 'sock@example.com', name: 'Sock', password: 'a long password', roles: ['Administrator'] });
    await refused('POST', `${base}/groups`, { name: 'Mine', members: [desk.userId], roles: ['Administrator'] });
    await refused('PATCH', `${base}/groups/${admins.id}`, { members: [desk.userId] });
    await refused('POST', `${base}/roles`, { name: 'Everything', permissions: ['Users.Edit', 'Settings.Edit'] });
    const own = (await t.call('POST', `${base}/roles`, { name: 'Desk helper', permissions: ['Users.View'] }, desk.token)).json();
    await refused('PATCH', `${base}/roles/${own.id}`, { permissions: ['Settings.Edit'] });
    // Acting as an Administrator: its password, a token of its own, its address, its removal.
    await refused('PATCH', `${base}/users/${admin.userId}`, { password: 'taken over at last' });
    await refused('PATCH', `${base}/users/${admin.userId}`, { email: 'desk@example.com' });
    await refused('POST', `${base}/users/${admin.userId}/tokens`, { name: 'mine now' });
    await refused('DELETE', `${base}/users/${admin.userId}`);
    // Taking it away from the Administrators: their group, or a role of theirs.
    await refused('DELETE', `${base}/groups/${admins.id}`);
    const settings = (await t.call('POST', `${base}/roles`, { name: 'Mail desk', permissions: ['Settings.Edit'] })).json();
    await refused('DELETE', `${base}/roles/${settings.id}`);
    expect((await t.call('GET', `${base}/me`, undefined, desk.token)).json().permissions).toEqual(['Alerts.View', 'Users.View', 'Users.Edit']);
    expect((await t.call('GET', `${base}/groups/${admins.id}`)).json().members).toEqual([]);
    // What it holds it still grants, and an Administrator grants anything.
    const viewer = await t.call('POST', `${base}/users`, { email: 'vi@example.com', name: 'Vi', roles: ['Alerts Viewer', 'Desk helper'] }, desk.token);
    expect(viewer.statusCode, viewer.body).toBe(201);
    expect((await t.call('PATCH', `${base}/users/${viewer.json().id}`, { password: 'a new long password' }, desk.token)).statusCode).toBe(200);
    expect((await t.call('POST', `${base}/users/${viewer.json().id}/tokens`, { name: 'for Vi' }, desk.token)).statusCode).toBe(201);
    expect((await t.call('POST', `${base}/groups`, { name: 'Viewers', members: [desk.userId], roles: ['Alerts Viewer'] }, desk.token)).statusCode).toBe(201);
    expect((await t.call('PATCH', `${base}/users/${desk.userId}`, { roles: ['Administrator'] }, admin.token)).statusCode).toBe(200);
    expect((await t.call('PATCH', `${base}/users/${admin.userId}`, { name: 'Still mine' }, desk.token)).statusCode).toBe(200);
  });

  it("lets a holder of Users.Edit take away only what it holds: no PATCH clears the Administrators' group, narrows a role of theirs or revokes an Administrator's token (403)", async () => {
    const base = '/api/v1/tenants/no-escalation-patch';
    const admin = await t.tenantWithUser('no-escalation-patch', ['Administrator']);
    expect((await t.call('POST', `${base}/roles`, { name: 'People desk', permissions: ['Users.View', 'Users.Edit', 'Alerts.View'] })).statusCode).toBe(201);
    const mailDesk = (await t.call('POST', `${base}/roles`, { name: 'Mail desk', permissions: ['Settings.View', 'Settings.Edit'] })).json();
    const desk = await t.tenantWithUser('no-escalation-patch', ['People desk']);
    const mailer = await t.tenantWithUser('no-escalation-patch', ['Mail desk']);
    const admins = (await t.call('POST', `${base}/groups`, { name: 'Admins', members: [admin.userId], roles: ['Administrator'] })).json();
    const adminTokens = (await t.call('GET', `${base}/users/${admin.userId}/tokens`)).json().items;
    const refused = async (method: 'PATCH' | 'DELETE', url: string, body?: unknown) => {
      const res = await t.call(method, url, body, desk.token);
      expect(res.statusCode, `${method} ${url} ${JSON.stringify(body)}: ${res.body}`).toBe(403);
      expect(res.json().detail).toContain('Settings.Edit');
    };
    // As deleting it: the group's roles replaced or its members cleared, the role's permissions narrowed, a token of theirs revoked.
    await refused('PATCH', `${base}/groups/${admins.id}`, { roles: [] });
    await refused('PATCH', `${base}/groups/${admins.id}`, { roles: ['Alerts Viewer'] });
    await refused('PATCH', `${base}/groups/${admins.id}`, { members: null });
    await refused('PATCH', `${base}/groups/${admins.id}`, { members: [] });
    await refused('PATCH', `${base}/roles/${mailDesk.id}`, { permissions: ['Alerts.View'] });
    await refused('DELETE', `${base}/users/${admin.userId}/tokens/${adminTokens[0].id}`);
    const group = (await t.call('GET', `${base}/groups/${admins.id}`)).json();
    expect([group.roles, group.members]).toEqual([['Administrator'], [admin.userId]]);
    expect((await t.call('GET', `${base}/me`, undefined, admin.token)).json().permissions).toEqual([...PERMISSIONS]);
    expect((await t.call('GET', `${base}/me`, undefined, mailer.token)).json().permissions).toEqual(['Settings.View', 'Settings.Edit']);
    // What grants only what it holds it still changes, and a name is no grant.
    const viewers = (await t.call('POST', `${base}/groups`, { name: 'Viewers', members: [desk.userId], roles: ['Alerts Viewer'] }, desk.token)).json();
    expect((await t.call('PATCH', `${base}/groups/${viewers.id}`, { roles: [], members: null }, desk.token)).statusCode).toBe(200);
    expect((await t.call('PATCH', `${base}/groups/${admins.id}`, { name: 'Administrators' }, desk.token)).statusCode).toBe(200);
    const helper = (await t.call('POST', `${base}/roles`, { name: 'Desk helper', permissions: ['Users.View'] }, desk.token)).json();
    expect((await t.call('PATCH', `${base}/roles/${helper.id}`, { permissions: ['Alerts.View'] }, desk.token)).statusCode).toBe(200);
    expect((await t.call('PATCH', `${base}/roles/${mailDesk.id}`, { name: 'Mail people' }, desk.token)).statusCode).toBe(200);
    const ownTokens = (await t.call('GET', `${base}/users/${desk.userId}/tokens`, undefined, desk.token)).json().items;
    expect((await t.call('DELETE', `${base}/users/${desk.userId}/tokens/${ownTokens[0].id}`, undefined, desk.token)).statusCode).toBe(204);
    expect((await t.call('DELETE', `${base}/users/${admin.userId}/tokens/${adminTokens[0].id}`, undefined, admin.token)).statusCode).toBe(204);
  });

  it("lets a holder of Users.Edit not move the mailbox of a group granting what it lacks: the Administrators' alert emails to an address of its own (403)", async () => {
    const base = '/api/v1/tenants/no-escalation-mailbox';
    await t.tenantWithUser('no-escalation-mailbox', ['Administrator']);
    expect((await t.call('POST', `${base}/roles`, { name: 'People desk', permissions: ['Users.View', 'Users.Edit'] })).statusCode).toBe(201);
    const desk = await t.tenantWithUser('no-escalation-mailbox', ['People desk']);
    const admins = (await t.call('POST', `${base}/groups`, { name: 'Admins', email: 'admins@example.com', roles: ['Administrator'] })).json();
    // The group's own address gets its alert emails (Alerts.View through its role): an address is a grant, as a user's is.
    for (const email of ['desk@example.com', null]) {
      const moved = await t.call('PATCH', `${base}/groups/${admins.id}`, { email }, desk.token);
      expect(moved.statusCode, moved.body).toBe(403);
      expect(moved.json().detail).toContain('Alerts.View');
    }
    expect((await t.call('GET', `${base}/groups/${admins.id}`)).json().email).toBe('admins@example.com');
    // A group granting only what it holds keeps its address in its hands, and a name is no grant.
    const desks = (await t.call('POST', `${base}/groups`, { name: 'Desks', email: 'desks@example.com', roles: ['People desk'] }, desk.token)).json();
    expect((await t.call('PATCH', `${base}/groups/${desks.id}`, { email: 'desk-team@example.com' }, desk.token)).statusCode).toBe(200);
    expect((await t.call('PATCH', `${base}/groups/${admins.id}`, { name: 'Administrators' }, desk.token)).statusCode).toBe(200);
  });

  it('tells a caller without Users.Edit 403 for another user whatever its body, as for a route of that permission', async () => {
    const me = await t.tenantWithUser('selfish', ['Alerts Viewer']);
    const other = await t.tenantWithUser('selfish', ['Alerts Viewer']);
    const base = `/api/v1/tenants/selfish/users/${other.userId}`;
    for (const [method, url, body] of [
      ['PATCH', base, { email: 'not an address' }],
      ['PATCH', base, { bogus: true }],
      ['POST', `${base}/tokens`, { name: '' }],
      ['PUT', `${base}/alert-preferences`, { email: { dailyReport: 'no' } }],
      ['POST', '/api/v1/tenants/selfish/groups', { name: '' }],
    ] as const) {
      const res = await t.call(method, url, body, me.token);
      expect(res.statusCode, `${method} ${url}: ${res.body}`).toBe(403);
      expect(res.json().detail).toContain('Users.Edit');
    }
    // On itself the same bodies are judged: 400 naming the field, or 403 for what only Users.Edit may change.
    const own = `/api/v1/tenants/selfish/users/${me.userId}`;
    expect((await t.call('PATCH', own, { name: '' }, me.token)).json().errors[0].path).toBe('name');
    expect((await t.call('PATCH', own, { email: 'not an address' }, me.token)).statusCode).toBe(400);
    expect((await t.call('PATCH', own, { email: 'me@example.com' }, me.token)).statusCode).toBe(403);
    expect((await t.call('PUT', `${own}/alert-preferences`, { email: { dailyReport: 'no' } }, me.token)).json().errors[0].path).toBe('email.dailyReport');
  });

  it("tells a caller without Users.View or Users.Edit 403 for another user's routes whatever the id in the path, as for a route of that permission", async () => {
    const me = await t.tenantWithUser('selfish', ['Alerts Viewer']);
    const users = '/api/v1/tenants/selfish/users';
    // An id longer than any (the path's bound) was a 400 for these, where PATCH /users/{id} said 403.
    const long = 'x'.repeat(300);
    for (const [method, url, permission] of [
      ['GET', `${users}/${long}`, 'Users.View'],
      ['GET', `${users}/${long}/tokens`, 'Users.View'],
      ['GET', `${users}/${long}/tokens/t`, 'Users.View'],
      ['DELETE', `${users}/${long}/tokens/t`, 'Users.Edit'],
      ['GET', `${users}/${long}/alert-preferences`, 'Users.Edit'],
      ['PATCH', `${users}/${long}`, 'Users.Edit'],
    ] as const) {
      const res = await t.call(method, url, method === 'PATCH' ? { name: 'x' } : undefined, me.token);
      expect(res.statusCode, `${method} ${url}: ${res.body}`).toBe(403);
      expect(res.json().detail).toContain(permission);
    }
    // A holder of the permission is told what is wrong with the id.
    expect((await t.call('GET', `${users}/${long}`)).statusCode).toBe(400);
  });

  it('forbids with 403 and names the missing permission', async () => {
    const { token } = await t.tenantWithUser('people', ['Alerts Viewer']);
    const res = await t.call('GET', '/api/v1/tenants/people/users', undefined, token);
    expect(res.statusCode).toBe(403);
    expect(res.json().detail).toContain('Users.View');
    expect((await t.call('GET', '/api/v1/tenants', undefined, token)).statusCode).toBe(403);
  });

  it('stores API tokens only as hashes', async () => {
    const { userId, token } = await t.tenantWithUser('people');
    const rows = await t.tocsin.deps.storage.db.selectFrom('api_tokens').selectAll().where('user_id', '=', userId).execute();
    expect(rows).toHaveLength(1);
    expect(JSON.stringify(rows)).not.toContain(token);
    expect(rows[0]!.token_hash).toBe(sha256(token));
  });

  it('lists a user’s API tokens without the tokens, and revokes one at once, leaving the others working', async () => {
    const base = '/api/v1/tenants/people';
    const { userId, token: first } = await t.tenantWithUser('people', ['Alerts Viewer']);
    const second = (await t.call('POST', `${base}/users/${userId}/tokens`, { name: 'nightly script' }, first)).json();
    expect((await t.call('GET', '/api/v1/tenants/people/me', undefined, first)).statusCode).toBe(200);
    const listed = await t.call('GET', `${base}/users/${userId}/tokens`, undefined, first);
    expect(listed.statusCode).toBe(200);
    expect(listed.json().items).toEqual([
      { id: expect.any(String), name: 'test', createdAt: expect.any(String) },
      { id: second.id, name: 'nightly script', createdAt: expect.any(String) },
    ]);
    expect(listed.body).not.toContain(second.token);
    // Someone else without Users.Edit may neither see nor revoke them; an unknown token is a 404.
    const other = await t.tenantWithUser('people', ['Alerts Viewer']);
    expect((await t.call('GET', `${base}/users/${userId}/tokens`, undefined, other.token)).statusCode).toBe(403);
    expect((await t.call('DELETE', `${base}/users/${userId}/tokens/${second.id}`, undefined, other.token)).statusCode).toBe(403);
    // Nor through their own path with its id: the token is found among the path user's tokens only.
    expect((await t.call('DELETE', `${base}/users/${other.userId}/tokens/${second.id}`, undefined, other.token)).statusCode).toBe(404);
    expect((await t.call('DELETE', `${base}/users/${userId}/tokens/no-such-token`)).statusCode).toBe(404);
    // The user revokes the leaked one with the other: it stops working on the very next request.
    expect((await t.call('GET', '/api/v1/tenants/people/me', undefined, second.token)).statusCode).toBe(200);
    expect((await t.call('DELETE', `${base}/users/${userId}/tokens/${second.id}`, undefined, first)).statusCode).toBe(204);
    expect((await t.call('GET', '/api/v1/tenants/people/me', undefined, second.token)).statusCode).toBe(401);
    expect((await t.call('GET', '/api/v1/tenants/people/me', undefined, first)).statusCode).toBe(200);
    expect((await t.call('GET', `${base}/users/${userId}/tokens`)).json().items.map((x: { name: string }) => x.name)).toEqual(['test']);
  });

  it("keeps Authenticate's token name for its tokens: an API token named so would end with a password change, and after a day", async () => {
    const { userId } = await t.tenantWithUser('people', ['Alerts Viewer']);
    for (const name of ['Orchestrator Authenticate', ' orchestrator authenticate ']) {
      const refused = await t.call('POST', `/api/v1/tenants/people/users/${userId}/tokens`, { name });
      expect(refused.statusCode, name).toBe(400);
      expect(refused.json().errors).toEqual([{ path: 'name', message: expect.stringContaining('Authenticate') }]);
    }
  });

  it('reads one API token, without the token, at the Location its POST answered', async () => {
    const base = '/api/v1/tenants/people';
    const { userId, token: own } = await t.tenantWithUser('people', ['Alerts Viewer']);
    const created = await t.call('POST', `${base}/users/${userId}/tokens`, { name: 'deploy' }, own);
    expect(created.statusCode).toBe(201);
    const location = created.headers.location as string;
    expect(location).toBe(`${base}/users/${userId}/tokens/${created.json().id}`);
    const read = await t.call('GET', location, undefined, own);
    expect(read.statusCode).toBe(200);
    expect(read.json()).toEqual({ id: created.json().id, name: 'deploy', createdAt: expect.any(String) });
    expect(read.body).not.toContain(created.json().token);
    expect((await t.call('GET', location)).statusCode).toBe(200);
    const other = await t.tenantWithUser('people', ['Alerts Viewer']);
    expect((await t.call('GET', location, undefined, other.token)).statusCode).toBe(403);
    expect((await t.call('GET', `${base}/users/${other.userId}/tokens/${created.json().id}`)).statusCode).toBe(404);
    expect((await t.call('GET', `${base}/users/${userId}/tokens/no-such-token`)).statusCode).toBe(404);
    await t.call('POST', '/api/v1/tenants', { name: 'people-elsewhere' });
    expect((await t.call('GET', location.replace('/people/', '/people-elsewhere/'))).statusCode).toBe(404);
    expect((await t.call('DELETE', location, undefined, own)).statusCode).toBe(204);
    expect((await t.call('GET', location, undefined, own)).statusCode).toBe(404);
  });

  it('takes a role or group name differing from another only by characters that show nothing as that name (409)', async () => {
    // "Alerts Viewer" with a zero-width space read as the built-in role in every list and picker, whatever it granted.
    await t.call('POST', '/api/v1/tenants', { name: 'invisible' });
    const base = '/api/v1/tenants/invisible';
    for (const name of ['Alerts Viewer\u200b', 'Admin\u00adistrator', '\ufeffRobot', 'Alerts\u2060 Viewer']) {
      const role = await t.call('POST', `${base}/roles`, { name, permissions: ['Users.Edit'] });
      expect(role.statusCode, JSON.stringify(name)).toBe(409);
    }
    expect((await t.call('POST', `${base}/groups`, { name: 'Night Shift' })).statusCode).toBe(201);
    expect((await t.call('POST', `${base}/groups`, { name: 'Night\u200b Shift' })).statusCode).toBe(409);
  });

  it('creates one role and one group of names differing only in case sent at once, refusing the others with 409', async () => {
    await t.call('POST', '/api/v1/tenants', { name: 'case-race' });
    const base = '/api/v1/tenants/case-race';
    const spellings = ['Night Shift', 'night shift', 'NIGHT SHIFT', 'Night shift'];
    const roles = await Promise.all(spellings.map((name) => t.call('POST', `${base}/roles`, { name, permissions: ['Alerts.View'] })));
    expect(roles.map((r) => r.statusCode).sort()).toEqual([201, 409, 409, 409]);
    const groups = await Promise.all(spellings.map((name) => t.call('POST', `${base}/groups`, { name })));
    expect(groups.map((r) => r.statusCode).sort()).toEqual([201, 409, 409, 409]);
    const roleNames = (await t.call('GET', `${base}/roles`)).json().items.map((r: { name: string }) => r.name.toLowerCase());
    expect(roleNames.filter((n: string) => n === 'night shift')).toHaveLength(1);
    expect((await t.call('GET', `${base}/groups`)).json().items).toHaveLength(1);
  });

  it('leaves a group with one of the member lists of PATCHes sent at once, never both nor a 409', async () => {
    await t.call('POST', '/api/v1/tenants', { name: 'members-race' });
    const base = '/api/v1/tenants/members-race';
    const ids: string[] = [];
    for (const name of ['ann', 'ben']) ids.push((await t.call('POST', `${base}/users`, { email: `${name}@example.com`, name })).json().id);
    const group = (await t.call('POST', `${base}/groups`, { name: 'Desk' })).json();
    for (let round = 0; round < 5; round++) {
      const lists = [[ids[0]], [ids[1]], [ids[0]]];
      const answers = await Promise.all(lists.map((members) => t.call('PATCH', `${base}/groups/${group.id}`, { members, roles: ['Robot'] })));
      expect(answers.map((a) => a.statusCode)).toEqual([200, 200, 200]);
      const after = (await t.call('GET', `${base}/groups/${group.id}`)).json();
      expect(after.members).toHaveLength(1);
      expect(after.roles).toEqual(['Robot']);
    }
  });

  it('refuses a role or group named as another but for its case, as a user with an email', async () => {
    const base = '/api/v1/tenants/people';
    const role = await t.call('POST', `${base}/roles`, { name: 'administrator', permissions: ['Alerts.View'] });
    expect(role.statusCode).toBe(409);
    expect(role.json().errors).toEqual([{ path: 'name', message: expect.stringContaining('already exists') }]);
    expect((await t.call('POST', `${base}/groups`, { name: 'Night Desk' })).statusCode).toBe(201);
    expect((await t.call('POST', `${base}/groups`, { name: 'NIGHT DESK' })).statusCode).toBe(409);
    const other = (await t.call('POST', `${base}/groups`, { name: 'Day desk' })).json();
    expect((await t.call('PATCH', `${base}/groups/${other.id}`, { name: 'night desk' })).statusCode).toBe(409);
    // A group keeps its own name in another case.
    expect((await t.call('PATCH', `${base}/groups/${other.id}`, { name: 'Day Desk' })).statusCode).toBe(200);
  });

  it('reads a role or group name with decomposed accents as the same name: refused twice, found when granted', async () => {
    // 'Opérateurs' typed with é (U+00E9) and pasted with e + U+0301 look alike in every list, but made two roles,
    // and granting the role by the other spelling was a 400 'no role named'.
    await t.call('POST', '/api/v1/tenants', { name: 'people' });
    const base = '/api/v1/tenants/people';
    expect((await t.call('POST', `${base}/roles`, { name: 'Op\u00e9rateurs', permissions: ['Alerts.View'] })).statusCode).toBe(201);
    expect((await t.call('POST', `${base}/roles`, { name: 'Ope\u0301rateurs', permissions: ['Users.Edit'] })).statusCode).toBe(409);
    const user = await t.call('POST', `${base}/users`, { email: 'ope@example.com', name: 'Ope', roles: ['OPE\u0301RATEURS'] });
    expect(user.statusCode).toBe(201);
    expect(user.json().roles).toEqual(['Op\u00e9rateurs']);
    expect((await t.call('POST', `${base}/groups`, { name: '\u00c9quipe de nuit' })).statusCode).toBe(201);
    expect((await t.call('POST', `${base}/groups`, { name: 'E\u0301quipe de nuit' })).statusCode).toBe(409);
  });

  it('creates custom roles and lists the built-in ones first', async () => {
    const created = await t.call('POST', '/api/v1/tenants/people/roles', { name: 'Mail admin', permissions: ['Settings.View', 'Settings.Edit'] });
    expect(created.statusCode).toBe(201);
    const names = (await t.call('GET', '/api/v1/tenants/people/roles')).json().items.map((r: { name: string }) => r.name);
    expect(names.slice(0, 3).sort()).toEqual(['Administrator', 'Alerts Viewer', 'Robot']);
    expect(names).toContain('Mail admin');
  });

  it('changes and deletes a custom role, its holders and groups losing what it granted, where a role once made could never be corrected nor removed', async () => {
    await t.call('POST', '/api/v1/tenants', { name: 'roleedit' });
    const role = (await t.call('POST', '/api/v1/tenants/roleedit/roles', { name: 'Mail admni', permissions: ['Settings.View'] })).json();
    const { userId, token } = await t.tenantWithUser('roleedit', ['Mail admni']);
    const group = (await t.call('POST', '/api/v1/tenants/roleedit/groups', { name: 'Mailers', roles: ['Mail admni'] })).json();

    const created = await t.call('POST', '/api/v1/tenants/roleedit/roles', { name: 'Located', permissions: [] });
    expect(created.headers.location).toBe(`/api/v1/tenants/roleedit/roles/${created.json().id}`);
    expect((await t.call('GET', String(created.headers.location))).json()).toEqual(created.json());
    expect((await t.call('GET', `/api/v1/tenants/roleedit/roles/${role.id}`)).json()).toEqual(role);
    const renamed = await t.call('PATCH', `/api/v1/tenants/roleedit/roles/${role.id}`, { name: 'Mail admin' });
    expect(renamed.json()).toEqual({ ...role, name: 'Mail admin' });
    const widened = await t.call('PATCH', `/api/v1/tenants/roleedit/roles/${role.id}`, { permissions: ['Settings.View', 'Settings.Edit'] });
    expect(widened.json()).toMatchObject({ name: 'Mail admin', permissions: ['Settings.View', 'Settings.Edit'] });
    expect((await t.call('GET', '/api/v1/tenants/roleedit/me', undefined, token)).json()).toMatchObject({
      roles: ['Mail admin'],
      permissions: ['Settings.View', 'Settings.Edit'],
    });

    expect((await t.call('DELETE', `/api/v1/tenants/roleedit/roles/${role.id}`)).statusCode).toBe(204);
    expect((await t.call('GET', `/api/v1/tenants/roleedit/roles/${role.id}`)).statusCode).toBe(404);
    expect((await t.call('DELETE', `/api/v1/tenants/roleedit/roles/${role.id}`)).statusCode).toBe(404);
    expect((await t.call('GET', `/api/v1/tenants/roleedit/users/${userId}`)).json().roles).toEqual([]);
    expect((await t.call('GET', `/api/v1/tenants/roleedit/groups/${group.id}`)).json().roles).toEqual([]);
    expect((await t.call('GET', '/api/v1/tenants/roleedit/me', undefined, token)).json().permissions).toEqual([]);
  });

  it('keeps the built-in roles as they are (409) and a custom role from taking a taken name (409) or an unknown permission (400)', async () => {
    await t.call('POST', '/api/v1/tenants', { name: 'rolefixed' });
    const roles = (await t.call('GET', '/api/v1/tenants/rolefixed/roles')).json().items as { id: string; name: string }[];
    const viewer = roles.find((r) => r.name === 'Alerts Viewer')!;
    const change = await t.call('PATCH', `/api/v1/tenants/rolefixed/roles/${viewer.id}`, { permissions: ['Alerts.View', 'Users.Edit'] });
    expect(change.statusCode).toBe(409);
    expect(change.headers['content-type']).toContain('application/problem+json');
    expect((await t.call('DELETE', `/api/v1/tenants/rolefixed/roles/${viewer.id}`)).statusCode).toBe(409);
    expect((await t.call('GET', `/api/v1/tenants/rolefixed/roles/${viewer.id}`)).json()).toMatchObject({ permissions: ['Alerts.View'], builtIn: true });

    const custom = (await t.call('POST', '/api/v1/tenants/rolefixed/roles', { name: 'Auditor', permissions: ['Users.View'] })).json();
    const taken = await t.call('PATCH', `/api/v1/tenants/rolefixed/roles/${custom.id}`, { name: 'robot' });
    expect(taken.statusCode).toBe(409);
    expect(taken.json().errors).toEqual([{ path: 'name', message: 'A role named "robot" already exists.' }]);
    expect((await t.call('PATCH', `/api/v1/tenants/rolefixed/roles/${custom.id}`, { name: 'AUDITOR' })).json().name).toBe('AUDITOR');
    const unknown = await t.call('PATCH', `/api/v1/tenants/rolefixed/roles/${custom.id}`, { permissions: ['Users.Fly'] });
    expect(unknown.statusCode).toBe(400);
    expect(unknown.json().errors[0].path).toBe('permissions.0');
    const cleared = await t.call('PATCH', `/api/v1/tenants/rolefixed/roles/${custom.id}`, { name: null });
    expect(cleared.statusCode).toBe(400);
    expect(cleared.json().errors[0].path).toBe('name');

    const viewerUser = await t.tenantWithUser('rolefixed', ['Auditor']);
    expect((await t.call('PATCH', `/api/v1/tenants/rolefixed/roles/${custom.id}`, { name: 'x' }, viewerUser.token)).statusCode).toBe(403);
    expect((await t.call('GET', `/api/v1/tenants/rolefixed/roles/${custom.id}`, undefined, viewerUser.token)).statusCode).toBe(200);
    const stranger = await t.tenantWithUser('rolestranger');
    expect((await t.call('GET', `/api/v1/tenants/rolefixed/roles/${custom.id}`, undefined, stranger.token)).statusCode).toBe(404);
    expect((await t.call('GET', `/api/v1/tenants/rolestranger/roles/${custom.id}`, undefined, stranger.token)).statusCode).toBe(404);
    expect((await t.call('DELETE', `/api/v1/tenants/rolestranger/roles/${custom.id}`, undefined, stranger.token)).statusCode).toBe(404);
  });

  it('turns an inactive user away', async () => {
    const { userId, token } = await t.tenantWithUser('people');
    await t.call('PATCH', `/api/v1/tenants/people/users/${userId}`, { active: false });
    expect((await t.call('GET', '/api/v1/tenants/people/me', undefined, token)).statusCode).toBe(401);
  });

  it('signs in with a password into an HTTP-only session that needs the CSRF header for changes', async () => {
    await t.call('POST', '/api/v1/tenants/people/users', {
      email: 'carol@example.com',
      name: 'Carol',
      password: 'a long secret phrase',
      roles: ['Administrator'],
    });
    const wrong = await t.tocsin.app.inject({
      method: 'POST',
      url: '/api/v1/auth/login',
      payload: { tenant: 'people', email: 'carol@example.com', password: 'nope nope nope' },
    });
    expect(wrong.statusCode).toBe(401);
    const login = await t.tocsin.app.inject({
      method: 'POST',
      url: '/api/v1/auth/login',
      payload: { tenant: 'people', email: 'CAROL@example.com', password: 'a long secret phrase' },
    });
    expect(login.statusCode).toBe(200);
    const setCookie = String(login.headers['set-cookie']);
    expect(setCookie).toMatch(/HttpOnly/i);
    expect(setCookie).toMatch(/SameSite=Strict/i);
    const cookie = setCookie.split(';')[0]!;
    const { csrfToken } = login.json();
    const probe = (headers: Record<string, string>) => t.tocsin.app.inject({ method: 'GET', url: '/api/v1/auth/session', headers });
    const signedIn = await probe({ cookie });
    expect(signedIn.statusCode).toBe(200);
    expect(signedIn.json()).toMatchObject({ signedIn: true, kind: 'user', csrfToken });

    const read = await t.tocsin.app.inject({ method: 'GET', url: '/api/v1/tenants/people/users', headers: { cookie } });
    expect(read.statusCode).toBe(200);
    const forged = await t.tocsin.app.inject({
      method: 'POST',
      url: '/api/v1/tenants/people/roles',
      headers: { cookie },
      payload: { name: 'Forged', permissions: [] },
    });
    expect(forged.statusCode).toBe(403);
    const genuine = await t.tocsin.app.inject({
      method: 'POST',
      url: '/api/v1/tenants/people/roles',
      headers: { cookie, 'x-csrf-token': csrfToken },
      payload: { name: 'Genuine', permissions: [] },
    });
    expect(genuine.statusCode).toBe(201);
    // A body field is refused by name, as on every route, and the session stays: logout takes no body.
    const withField = await t.tocsin.app.inject({
      method: 'POST',
      url: '/api/v1/auth/logout',
      headers: { cookie, 'x-csrf-token': csrfToken },
      payload: { everywhere: true },
    });
    expect(withField.statusCode).toBe(400);
    expect(withField.json().errors).toEqual([{ path: 'everywhere', message: 'is not a known field' }]);
    expect((await t.tocsin.app.inject({ method: 'GET', url: '/api/v1/tenants/people/users', headers: { cookie } })).statusCode).toBe(200);
    const logout = await t.tocsin.app.inject({ method: 'POST', url: '/api/v1/auth/logout', headers: { cookie, 'x-csrf-token': csrfToken } });
    expect(logout.statusCode).toBe(204);
    expect((await t.tocsin.app.inject({ method: 'GET', url: '/api/v1/tenants/people/users', headers: { cookie } })).statusCode).toBe(401);
    // Asking whether one is signed in is answered, not refused, with or without a (stale) cookie.
    for (const headers of [{ cookie }, {}] as Record<string, string>[]) {
      const signedOut = await probe(headers);
      expect(signedOut.statusCode).toBe(200);
      expect(signedOut.json()).toEqual({ signedIn: false });
    }
  });

  it("keeps the session cookie to the folder of the console's page that the sign-in's Referer names, else the root", async () => {
    const login = (referer?: string) =>
      t.tocsin.app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { adminToken: ADMIN_TOKEN }, headers: referer ? { referer } : {} });
    const pathOf = (answer: { headers: Record<string, unknown> }) => /;\s*Path=([^;]*)/i.exec(String(answer.headers['set-cookie']))?.[1];
    // Behind a proxy serving Tocsin at https://ops.example.com/tocsin/ (the console's fetches send their page's address).
    const proxied = await login('https://ops.example.com/tocsin/');
    expect(proxied.statusCode).toBe(200);
    expect(pathOf(proxied)).toBe('/tocsin/');
    // A script's sign-in, a page at the root, and a Referer whose path no cookie's Path can hold.
    for (const referer of [undefined, 'http://127.0.0.1:8080/', 'https://ops.example.com/a;b/', 'not a URL']) {
      const answer = await login(referer);
      expect(answer.statusCode, referer).toBe(200);
      expect(pathOf(answer), referer).toBe('/');
    }
    const cookie = String(proxied.headers['set-cookie']).split(';')[0]!;
    const out = await t.tocsin.app.inject({
      method: 'POST',
      url: '/api/v1/auth/logout',
      headers: { cookie, 'x-csrf-token': proxied.json().csrfToken, referer: 'https://ops.example.com/tocsin/' },
    });
    expect(out.statusCode).toBe(204);
    expect(pathOf(out)).toBe('/tocsin/');
  });

  /** signedIn creates a user of `people` with a console password and signs it in, returning its id and session cookie. */
  async function signedIn(email: string, roles: string[]) {
    const user = (await t.call('POST', '/api/v1/tenants/people/users', { email, name: email, password: 'the old password', roles })).json();
    const login = await t.tocsin.app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { tenant: 'people', email, password: 'the old password' } });
    return { id: user.id as string, cookie: String(login.headers['set-cookie']).split(';')[0]!, csrfToken: login.json().csrfToken as string };
  }

  it('signs in with a password whose accents are typed composed or decomposed (NFC or NFD), whichever way it was set', async () => {
    await t.call('POST', '/api/v1/tenants', { name: 'accents' });
    const composed = 'Caf\u00e9 cr\u00e8me br\u00fbl\u00e9e';
    const decomposed = composed.normalize('NFD');
    const login = (email: string, password: string) =>
      t.tocsin.app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { tenant: 'accents', email, password } }).then((r) => r.statusCode);
    const authenticate = (email: string, password: string) =>
      t.tocsin.app
        .inject({ method: 'POST', url: '/api/Account/Authenticate', payload: { tenancyName: 'accents', usernameOrEmailAddress: email, password } })
        .then((r) => r.statusCode);
    for (const [email, set] of [
      ['nfc@example.com', composed],
      ['nfd@example.com', decomposed],
    ] as const) {
      expect((await t.call('POST', '/api/v1/tenants/accents/users', { email, name: email, password: set })).statusCode).toBe(201);
      expect([
        await login(email, composed),
        await login(email, decomposed),
        await authenticate(email, composed),
        await authenticate(email, decomposed),
      ]).toEqual([200, 200, 200, 200]);
      expect(await login(email, 'Cafe creme brulee')).toBe(401);
    }
  });

  it('signs in whatever the case of the tenant name and with spaces around the name or email, as Authenticate does', async () => {
    await t.call('POST', '/api/v1/tenants', { name: 'casing' });
    await t.call('POST', '/api/v1/tenants/casing/users', { email: 'dora@example.com', name: 'Dora', password: 'a long secret phrase' });
    for (const [tenant, email] of [
      ['Casing', 'dora@example.com'],
      ['CASING', 'Dora@Example.com'],
      [' casing ', ' dora@example.com '],
    ] as const) {
      const login = await t.tocsin.app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { tenant, email, password: 'a long secret phrase' } });
      expect(login.statusCode, `${tenant} ${email}`).toBe(200);
      const orchestrator = await t.tocsin.app.inject({
        method: 'POST',
        url: '/api/Account/Authenticate',
        payload: { tenancyName: tenant, usernameOrEmailAddress: email, password: 'a long secret phrase' },
      });
      expect(orchestrator.statusCode, `${tenant} ${email}`).toBe(200);
    }
    const wrong = await t.tocsin.app.inject({
      method: 'POST',
      url: '/api/v1/auth/login',
      payload: { tenant: 'Casing', email: 'dora@example.com', password: 'A long secret phrase' },
    });
    expect(wrong.statusCode).toBe(401);
  });

  it('signs no one in to a user without a console password, whatever password is typed: not even the one a missing account is checked against', async () => {
    await t.call('POST', '/api/v1/tenants', { name: 'nopassword' });
    const robot = await t.call('POST', '/api/v1/tenants/nopassword/users', { email: 'robot@example.com', name: 'Robot', roles: ['Administrator'] });
    expect(robot.statusCode).toBe(201);
    // The phrase the sign-in hashed to check a missing account's password as long as a real one.
    for (const password of ['no such user, no such password', 'anything']) {
      const login = await t.tocsin.app.inject({
        method: 'POST',
        url: '/api/v1/auth/login',
        payload: { tenant: 'nopassword', email: 'robot@example.com', password },
      });
      expect(login.statusCode, password).toBe(401);
      const orchestrator = await t.tocsin.app.inject({
        method: 'POST',
        url: '/api/Account/Authenticate',
        payload: { tenancyName: 'nopassword', usernameOrEmailAddress: 'robot@example.com', password },
      });
      expect(orchestrator.statusCode, password).toBe(401);
    }
  });

  it("takes Authenticate as a form post too, as PowerShell's Invoke-RestMethod -Body @{…} sends it and Orchestrator binds it", async () => {
    const { userId } = await t.tenantWithUser('formpost', ['Alerts Viewer']);
    await t.call('PATCH', `/api/v1/tenants/formpost/users/${userId}`, { email: 'gus@example.com', password: 'a form & its secret' });
    const post = (payload: string) =>
      t.tocsin.app.inject({ method: 'POST', url: '/api/account/authenticate', headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload });
    const signedIn = await post('tenancyName=FormPost&usernameOrEmailAddress=gus%40example.com&password=a+form+%26+its+secret');
    expect(signedIn.statusCode, signedIn.body).toBe(200);
    const token = signedIn.json().result as string;
    expect((await t.tocsin.app.inject({ method: 'GET', url: '/odata/Alerts', headers: { authorization: `Bearer ${token}` } })).statusCode).toBe(200);
    expect((await post('tenancyName=formpost&usernameOrEmailAddress=gus%40example.com&password=wrong')).statusCode).toBe(401);
    const missing = await post('tenancyName=formpost&usernameOrEmailAddress=gus%40example.com');
    expect(missing.statusCode).toBe(400);
    expect(missing.json().errors).toEqual([{ path: 'Password', message: expect.any(String) }]);
  });

  it('ends the sessions and Authenticate tokens a user signed in with when its password changes, keeping its API tokens', async () => {
    const base = '/api/v1/tenants/people';
    const { id, cookie } = await signedIn('dave@example.com', ['Alerts Viewer']);
    const orchestrator = await t.tocsin.app.inject({
      method: 'POST',
      url: '/api/Account/Authenticate',
      payload: { TenancyName: 'people', UsernameOrEmailAddress: 'dave@example.com', Password: 'the old password' },
    });
    const bearer = orchestrator.json().result as string;
    const script = (await t.call('POST', `${base}/users/${id}/tokens`, { name: 'script' })).json().token as string;
    const me = (headers: Record<string, string>) => t.tocsin.app.inject({ method: 'GET', url: `${base}/me`, headers }).then((r) => r.statusCode);
    expect([await me({ cookie }), await me({ authorization: `Bearer ${bearer}` })]).toEqual([200, 200]);
    // The password leaked: an administrator sets a new one.
    expect((await t.call('PATCH', `${base}/users/${id}`, { password: 'the new password' })).statusCode).toBe(200);
    expect([await me({ cookie }), await me({ authorization: `Bearer ${bearer}` })]).toEqual([401, 401]);
    expect(await me({ authorization: `Bearer ${script}` })).toBe(200);
  });

  it('does not bring a deactivated user’s console sessions back when it is switched on again', async () => {
    const base = '/api/v1/tenants/people';
    const { id, cookie } = await signedIn('frank@example.com', ['Alerts Viewer']);
    const me = () => t.tocsin.app.inject({ method: 'GET', url: `${base}/me`, headers: { cookie } }).then((r) => r.statusCode);
    expect(await me()).toBe(200);
    await t.call('PATCH', `${base}/users/${id}`, { active: false });
    await t.call('PATCH', `${base}/users/${id}`, { active: true });
    expect(await me()).toBe(401);
  });

  it('does not bring back the session with which an administrator deactivated itself when it is switched on again', async () => {
    // The session making the change was kept, as for a password change: dead while the user was off, it
    // came back to life with it, though a deactivated user signs in anew once switched on again.
    const base = '/api/v1/tenants/people';
    const { id, cookie, csrfToken } = await signedIn('ivy@example.com', ['Administrator']);
    const me = () => t.tocsin.app.inject({ method: 'GET', url: `${base}/me`, headers: { cookie } }).then((r) => r.statusCode);
    const off = await t.tocsin.app.inject({
      method: 'PATCH',
      url: `${base}/users/${id}`,
      headers: { cookie, 'x-csrf-token': csrfToken },
      payload: { active: false },
    });
    expect(off.statusCode).toBe(200);
    expect((await t.call('PATCH', `${base}/users/${id}`, { active: true })).statusCode).toBe(200);
    expect(await me()).toBe(401);
  });

  it('keeps the session of an administrator who changes its own password', async () => {
    const base = '/api/v1/tenants/people';
    const { id, cookie, csrfToken } = await signedIn('erin@example.com', ['Administrator']);
    const changed = await t.tocsin.app.inject({
      method: 'PATCH',
      url: `${base}/users/${id}`,
      headers: { cookie, 'x-csrf-token': csrfToken },
      payload: { password: 'the new password' },
    });
    expect(changed.statusCode).toBe(200);
    expect((await t.tocsin.app.inject({ method: 'GET', url: `${base}/me`, headers: { cookie } })).statusCode).toBe(200);
  });

  it("answers the host administrator's POST /me/password with a 404 whose detail reads as a sentence", async () => {
    const res = await t.call('POST', '/api/v1/tenants/people/me/password', { currentPassword: 'x', newPassword: 'a long enough password' });
    expect(res.statusCode).toBe(404);
    expect(res.json().detail).toBe("The host administrator has no console password: only a tenant's users have one.");
  });

  it('lets users without Users.Edit change their own console password by giving the current one, ending their other sign-ins', async () => {
    const base = '/api/v1/tenants/people';
    const { id, cookie, csrfToken } = await signedIn('gina@example.com', ['Alerts Viewer']);
    const other = await t.tocsin.app.inject({
      method: 'POST',
      url: '/api/v1/auth/login',
      payload: { tenant: 'people', email: 'gina@example.com', password: 'the old password' },
    });
    const otherCookie = String(other.headers['set-cookie']).split(';')[0]!;
    const script = (await t.call('POST', `${base}/users/${id}/tokens`, { name: 'script' })).json().token as string;
    const change = (payload: unknown) =>
      t.tocsin.app.inject({ method: 'POST', url: `${base}/me/password`, headers: { cookie, 'x-csrf-token': csrfToken }, payload: payload as object });
    const me = (headers: Record<string, string>) => t.tocsin.app.inject({ method: 'GET', url: `${base}/me`, headers }).then((r) => r.statusCode);

    const wrong = await change({ currentPassword: 'not the password', newPassword: 'a brand new password' });
    expect(wrong.statusCode).toBe(400);
    expect(wrong.json().errors).toEqual([{ path: 'currentPassword', message: 'is not your current password' }]);
    const short = await change({ currentPassword: 'the old password', newPassword: 'short' });
    expect(short.json().errors).toEqual([{ path: 'newPassword', message: 'must be at least 8 characters' }]);
    expect((await change({ currentPassword: 'the old password', newPassword: 'the old password' })).json().errors[0].path).toBe('newPassword');

    expect((await change({ currentPassword: 'the old password', newPassword: 'a brand new password' })).statusCode).toBe(204);
    // The session that changed it stays; the other one ends; a token made on purpose keeps working.
    expect([await me({ cookie }), await me({ cookie: otherCookie }), await me({ authorization: `Bearer ${script}` })]).toEqual([200, 401, 200]);
    const login = (password: string) =>
      t.tocsin.app
        .inject({ method: 'POST', url: '/api/v1/auth/login', payload: { tenant: 'people', email: 'gina@example.com', password } })
        .then((r) => r.statusCode);
    expect([await login('the old password'), await login('a brand new password')]).toEqual([401, 200]);
  });

  it('counts a wrong current password as a failed sign-in, so the password form guesses no faster than the sign-in page', async () => {
    const base = '/api/v1/tenants/people';
    const { cookie, csrfToken } = await signedIn('hugo@example.com', ['Alerts Viewer']);
    const change = (currentPassword: string) =>
      t.tocsin.app.inject({
        method: 'POST',
        url: `${base}/me/password`,
        headers: { cookie, 'x-csrf-token': csrfToken },
        payload: { currentPassword, newPassword: 'a brand new password' },
      });
    const answers = [];
    for (const guess of ['guess 1', 'guess 2', 'guess 3', 'guess 4', 'guess 5', 'the old password']) answers.push((await change(guess)).statusCode);
    // The right password, once the account has 5 failures, waits as a sign-in would.
    expect(answers).toEqual([400, 400, 400, 400, 400, 429]);
    const signIn = await t.tocsin.app.inject({
      method: 'POST',
      url: '/api/v1/auth/login',
      payload: { tenant: 'people', email: 'hugo@example.com', password: 'the old password' },
    });
    expect(signIn.statusCode).toBe(429);
  });

  it('asks for an administrator to set the first console password of a user without one, and has none for the host administrator', async () => {
    const { token } = await t.tenantWithUser('tokens-only', ['Alerts Viewer']);
    const change = (authorization: string) =>
      t.tocsin.app.inject({
        method: 'POST',
        url: '/api/v1/tenants/tokens-only/me/password',
        headers: { authorization },
        payload: { currentPassword: 'anything', newPassword: 'a brand new password' },
      });
    const first = await change(`Bearer ${token}`);
    expect(first.statusCode).toBe(409);
    expect(first.headers['content-type']).toContain('application/problem+json');
    expect((await change(`Bearer ${ADMIN_TOKEN}`)).statusCode).toBe(404);
  });

  it('signs the host administrator in with the admin token, its permissions all ten as its session and /me say', async () => {
    const login = await t.tocsin.app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { adminToken: ADMIN_TOKEN } });
    expect(login.statusCode).toBe(200);
    expect(login.json().kind).toBe('host');
    const cookie = String(login.headers['set-cookie']).split(';')[0]!;
    expect((await t.tocsin.app.inject({ method: 'GET', url: '/api/v1/tenants', headers: { cookie } })).statusCode).toBe(200);
    // The sign-in answered permissions: [] where the session it opened, and /me, list every permission.
    await t.call('POST', '/api/v1/tenants', { name: 'people' });
    const session = await t.tocsin.app.inject({ method: 'GET', url: '/api/v1/auth/session', headers: { cookie } });
    const me = await t.tocsin.app.inject({ method: 'GET', url: '/api/v1/tenants/people/me', headers: { cookie } });
    expect(session.json().permissions).toHaveLength(10);
    expect(login.json().permissions).toEqual(session.json().permissions);
    expect(login.json().permissions).toEqual(me.json().permissions);
  });

  it('names the field of a password sign-in that is wrong or missing, rather than the body as a whole', async () => {
    // '(root): Invalid input' for a null password: the body fits neither way of signing in, and the answer said no more.
    for (const [payload, paths] of [
      [{ tenant: 'people', email: 'ana@example.com', password: null }, ['password']],
      [{ tenant: 'people', email: 42, password: 'a long secret phrase' }, ['email']],
      [{ tenant: 'people', email: 'ana@example.com' }, ['password']],
      [{}, ['tenant', 'email', 'password']],
      [{ adminToken: '' }, ['adminToken']],
    ] as const) {
      const res = await t.tocsin.app.inject({ method: 'POST', url: '/api/v1/auth/login', payload });
      expect(res.statusCode, JSON.stringify(payload)).toBe(400);
      expect(
        res.json().errors.map((e: { path: string }) => e.path),
        JSON.stringify(payload),
      ).toEqual(paths);
    }
  });

  it('deletes a user and answers 404 afterwards', async () => {
    const { userId } = await t.tenantWithUser('people');
    expect((await t.call('DELETE', `/api/v1/tenants/people/users/${userId}`)).statusCode).toBe(204);
    expect((await t.call('GET', `/api/v1/tenants/people/users/${userId}`)).statusCode).toBe(404);
  });

  // Each of two administrators was allowed when its request came in, but the change that lands first
  // takes the other's right away: one after the other, the second is refused (403 once demoted, 401
  // once deleted). At once, both were written (PostgreSQL, and SQLite's requests in one process),
  // leaving the tenant with neither.
  it('lets one of two administrators demoting each other at once win, and refuses the other 403', async () => {
    const [a, b] = await Promise.all([t.tenantWithUser('demoting'), t.tenantWithUser('demoting')]);
    const base = '/api/v1/tenants/demoting';
    const answers = await Promise.all([
      t.call('PATCH', `${base}/users/${b!.userId}`, { roles: ['Alerts Viewer'] }, a!.token),
      t.call('PATCH', `${base}/users/${a!.userId}`, { roles: ['Alerts Viewer'] }, b!.token),
    ]);
    expect(answers.map((r) => `${r.statusCode} ${r.json().detail ?? ''}`).sort()).toEqual(['200 ', '403 This needs the Users.Edit permission.']);
    const users = (await t.call('GET', `${base}/users`)).json<{ items: { roles: string[] }[] }>().items;
    expect(users.filter((u) => u.roles.includes('Administrator'))).toHaveLength(1);
  });

  it('lets one of two administrators deleting each other at once win, and answers the other 401, its user gone', async () => {
    const [a, b] = await Promise.all([t.tenantWithUser('deleting'), t.tenantWithUser('deleting')]);
    const base = '/api/v1/tenants/deleting';
    const answers = await Promise.all([
      t.call('DELETE', `${base}/users/${b!.userId}`, undefined, a!.token),
      t.call('DELETE', `${base}/users/${a!.userId}`, undefined, b!.token),
    ]);
    expect(answers.map((r) => r.statusCode).sort()).toEqual([204, 401]);
    expect((await t.call('GET', `${base}/users`)).json<{ items: unknown[] }>().items).toHaveLength(1);
  });

  it('lets one win when an administrator empties the group that makes another one while that one deletes it, and refuses the other as it then may not', async () => {
    // The group's change asked nothing again in its transaction: both were written, leaving no Administrator.
    // Either may come first: the deletion (the group's change then 401, its caller gone) or the group's change
    // (the deletion then 403, its caller no Administrator any more); what is stored is the winner's alone.
    const base = '/api/v1/tenants/ungrouping';
    const a = await t.tenantWithUser('ungrouping');
    const b = await t.tenantWithUser('ungrouping', ['Alerts Viewer']);
    const group = (await t.call('POST', `${base}/groups`, { name: 'Admins', roles: ['Administrator'], members: [b.userId] })).json<{ id: string }>().id;
    const [emptied, deleted] = await Promise.all([
      t.call('PATCH', `${base}/groups/${group}`, { members: [], roles: ['Administrator', 'Robot'], email: 'admins@example.com' }, a.token),
      t.call('DELETE', `${base}/users/${a.userId}`, undefined, b.token),
    ]);
    const deletionWon = deleted.statusCode === 204;
    expect([emptied.statusCode, deleted.statusCode]).toEqual(deletionWon ? [401, 204] : [200, 403]);
    const users = (await t.call('GET', `${base}/users`)).json<{ items: { id: string }[] }>().items.map((u) => u.id);
    const { members } = (await t.call('GET', `${base}/groups/${group}`)).json<{ members: string[] }>();
    expect({ aKept: users.includes(a.userId), members }).toEqual(deletionWon ? { aKept: false, members: [b.userId] } : { aKept: true, members: [] });
  });
});
