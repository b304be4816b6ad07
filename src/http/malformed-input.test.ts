import zlib from 'node:zlib';
import type { HTTPMethods, LightMyRequestResponse } from 'fastify';
import fc from 'fast-check';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeEachDialect } from '../../test/support/storage.js';
import { ALERTS_BODY_LIMIT_BYTES } from '../alerts/input.js';
import { BODY_LIMIT_BYTES, type RouteEntry } from './app.js';
import { MAX_JSON_DEPTH, MAX_JSON_ENTRIES } from './input-guard.js';
import { fillPath, hasSamples, makeObjects, pathParams, routeKey, sampleBody } from '../../test/support/route-walk.js';
import { ADMIN_TOKEN, type TestApp, startTestApp } from '../../test/support/http.js';

// Bounded so the whole walk takes seconds: RUNS_PER_ROUTE requests for each route of the table.
// TOCSIN_FUZZ_RUNS=500 digs deeper when hunting (minutes).
const RUNS_PER_ROUTE = Number(process.env.TOCSIN_FUZZ_RUNS ?? 30);
const RANDOM_URL_RUNS = 5 * RUNS_PER_ROUTE;
// Its time limit, not a measure of speed: the walk (RUNS_PER_ROUTE requests a route) takes 4-8 s on a quiet
// machine, 20-30 s beside the other test files, and over 60 s on SQLite with the machine at five
// times its cores' load, as CI's can be.
const WALK_TIMEOUT_MS = Math.max(180_000, RUNS_PER_ROUTE * 6_000);

/** An HTTP request as a client could send it, before it is given to `inject`. */
interface Attempt {
  url: string;
  query: string;
  contentType: string | undefined;
  payload: string | Buffer | undefined;
  authorization: string | undefined;
  cookie: string | undefined;
  extraHeaders: Record<string, string>;
}

// Lone surrogates cannot be percent-encoded; a client's UTF-8 encoder would send U+FFFD instead.
const encode = (s: string) => encodeURIComponent(Buffer.from(s, 'utf8').toString('utf8'));
const printable = fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)), maxLength: 80 });
const nested = (depth: number, open: string, close: string, inner = '1') => open.repeat(depth) + inner + close.repeat(depth);

/** Strings that break naive code: huge, NUL, line breaks, lone surrogates, RTL, emoji, SQL. */
const nastyString = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 50 }),
  fc.string({ unit: 'grapheme', maxLength: 50 }),
  fc.integer({ min: 1_000, max: 300_000 }).map((n) => 'x'.repeat(n)),
  fc.constantFrom('', ' ', '\0', 'a\0b', '\ud800', '\udfff\ud800', '\r\n\r\nX-Injected: 1', '\u202e', "' or 1=1 --", '%00', '..', '\u2028'),
);

/** Values of the wrong type, or of the right type with out-of-range content. */
const wrongValue = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }),
  nastyString,
  fc.constantFrom(null, true, -1, 0, 1e308, -1e308, 2 ** 53 + 1, 9.5, [], {}, [[[]]], { __proto__: null }),
  fc.integer({ min: MAX_JSON_DEPTH - 2, max: MAX_JSON_DEPTH + 2 }).map((d) => JSON.parse(nested(d, '[', ']')) as unknown),
);

/** bodies returns JSON texts and raw bytes built from a route's valid sample body. */
function bodies(sample: unknown): fc.Arbitrary<string | Buffer> {
  const base = sample !== null && typeof sample === 'object' ? (sample as Record<string, unknown>) : {};
  const keys = [...Object.keys(base), '__proto__', 'constructor', 'prototype', 'extra', ''];
  const mutated = fc.array(fc.tuple(fc.constantFrom(...keys), wrongValue), { minLength: 1, maxLength: 3 }).map((changes) => {
    const body: Record<string, unknown> = { ...base };
    for (const [key, value] of changes) Object.defineProperty(body, key, { value, enumerable: true, configurable: true, writable: true });
    return JSON.stringify(body);
  });
  const pollution = fc.constantFrom(
    '{"__proto__":{"polluted":"yes"}}',
    '{"constructor":{"prototype":{"polluted":"yes"}}}',
    `{"a":{"__proto__":{"polluted":"yes"}},"b":${JSON.stringify(base)}}`,
    JSON.stringify(base).replace(/^\{/, '{"__proto__":{"polluted":"yes"},'),
  );
  return fc.oneof(
    { arbitrary: mutated, weight: 5 },
    { arbitrary: fc.constant(JSON.stringify(sample ?? {})), weight: 1 },
    { arbitrary: fc.jsonValue({ maxDepth: 4 }).map((v) => JSON.stringify(v)), weight: 2 },
    { arbitrary: pollution, weight: 1 },
    { arbitrary: fc.integer({ min: 1, max: 50_000 }).map((d) => nested(d, '[', ']')), weight: 1 },
    { arbitrary: fc.integer({ min: 1, max: 5_000 }).map((d) => nested(d, '{"a":', '}')), weight: 1 },
    { arbitrary: fc.uint8Array({ maxLength: 64 }).map((bytes) => Buffer.from(bytes)), weight: 1 },
    { arbitrary: fc.constantFrom('', '{', '{"a":', 'nul', '[1,]', '{"a":1}{"b":2}', '\ufeff{}', '{"a":"\\ud800"}', '{"a":"\\u0000"}'), weight: 1 },
    { arbitrary: fc.string({ maxLength: 100 }), weight: 1 },
  );
}

/** Path segments: random text (encoded), and raw tricks like `..`, `%00` and bad escapes. */
const segment = fc.oneof(
  fc.string({ unit: 'grapheme', minLength: 1, maxLength: 40 }).map(encode),
  fc.string({ unit: 'binary', minLength: 1, maxLength: 40 }).map(encode),
  fc.integer({ min: 190, max: 2_000 }).map((n) => 'a'.repeat(n)),
  fc.constantFrom(
    '..',
    '.',
    '%2e%2e',
    '%00',
    'a%00b',
    '%',
    '%ZZ',
    '%E0%A4%A',
    '%C0%AF',
    '%2F',
    '%5C',
    '~',
    '-',
    '0',
    '-1',
    '1e99',
    'null',
    '__proto__',
    'constructor',
  ),
);

const query = fc.oneof(
  fc.constant(''),
  fc
    .array(
      fc.tuple(
        fc.string({ maxLength: 20 }),
        fc.oneof(
          fc.string({ maxLength: 40 }),
          nastyString.filter((s) => s.length < 5_000),
        ),
      ),
      { maxLength: 5 },
    )
    .map((pairs) => `?${pairs.map(([k, v]) => `${encode(k)}=${encode(v)}`).join('&')}`),
  fc.constantFrom(
    '?%ZZ',
    '?a[b][c]=1',
    '?__proto__[polluted]=yes',
    '?constructor[prototype][polluted]=yes',
    '?limit=-1',
    '?limit=1e309',
    '?cursor=%00',
    '?a=1&a=2&a=3',
    `?${'x='.repeat(2_000)}`,
  ),
);

const contentType = fc.constantFrom(
  'application/json',
  'application/json; charset=utf-8',
  'application/json; charset=latin1',
  'APPLICATION/JSON',
  'application/problem+json',
  'text/plain',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=x',
  'application/xml',
  '*/*',
  'garbage',
  undefined,
);

/** authorizations: mostly the host admin's valid token (reaching deepest), sometimes junk. */
function authorizations(userToken: string) {
  return fc.oneof(
    { arbitrary: fc.constant(`Bearer ${ADMIN_TOKEN}`), weight: 6 },
    { arbitrary: fc.constant(`Bearer ${userToken}`), weight: 2 },
    { arbitrary: fc.constant(undefined), weight: 2 },
    {
      arbitrary: fc.constantFrom(
        'Bearer',
        'Bearer ',
        'Basic Zm9vOmJhcg==',
        `bearer ${ADMIN_TOKEN}`,
        `Bearer ${'x'.repeat(600)}`,
        `Bearer ${ADMIN_TOKEN} extra`,
        undefined,
      ),
      weight: 1,
    },
    { arbitrary: printable, weight: 1 },
  );
}

/** cookies: none, junk, or a real console session (reached when no Authorization header is sent). */
function cookies(session: string) {
  return fc.oneof(
    fc.constant(undefined),
    fc.constant(session),
    printable.map((v) => `tocsin_session=${v}`),
    fc.constantFrom('tocsin_session=%E0%A4%A', 'tocsin_session=', '=;=;', 'a=b; tocsin_session=x; tocsin_session=y', `tocsin_session=${'z'.repeat(5_000)}`),
  );
}

const extraHeaders = fc.dictionary(
  fc.constantFrom('x-csrf-token', 'accept', 'accept-encoding', 'x-tocsin-tenant', 'x-forwarded-for', 'accept-language', 'if-none-match'),
  printable,
  { maxKeys: 3 },
);

/** expectWellFormed fails the property unless the answer is a non-5xx, and problem+json when an error. */
function expectWellFormed(attempt: Attempt, res: LightMyRequestResponse): void {
  const where = `${attempt.url}${attempt.query.slice(0, 200)}`;
  expect(res.statusCode, `${where} answered ${res.statusCode}: ${res.body.slice(0, 300)}`).toBeLessThan(500);
  if (res.statusCode >= 400) {
    expect(String(res.headers['content-type']), `${where} ${res.statusCode}`).toMatch(/^application\/problem\+json/);
    const problem = res.json<{ status: number; title: unknown; detail: unknown; type: unknown }>();
    expect(problem.status).toBe(res.statusCode);
    expect(typeof problem.title).toBe('string');
    expect(typeof problem.detail).toBe('string');
    expect(typeof problem.type).toBe('string');
    // Every 400 names where the input is wrong (API.md): errors [{path, message}], never empty.
    if (res.statusCode === 400)
      expect(res.json().errors, `${where} 400 without errors`).toEqual(expect.arrayContaining([{ path: expect.any(String), message: expect.any(String) }]));
  }
  expect(({} as Record<string, unknown>).polluted, 'Object.prototype was polluted').toBeUndefined();
}

describeEachDialect('malformed input never yields a 5xx or a crash', (dialect) => {
  let t: TestApp;
  let userToken: string;
  let session: string;

  beforeAll(async () => {
    t = await startTestApp(dialect);
    userToken = (await t.tenantWithUser('fuzz-home', ['Administrator'])).token;
    const login = await t.tocsin.app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { adminToken: ADMIN_TOKEN } });
    session = String(login.headers['set-cookie']).split(';')[0]!;
  });
  afterAll(() => t.close());

  const send = (method: string, attempt: Attempt) =>
    t.tocsin.app.inject({
      method: method as HTTPMethods,
      url: attempt.url + attempt.query,
      headers: {
        ...attempt.extraHeaders,
        ...(attempt.authorization === undefined ? {} : { authorization: attempt.authorization }),
        ...(attempt.cookie === undefined ? {} : { cookie: attempt.cookie }),
        ...(attempt.contentType === undefined ? {} : { 'content-type': attempt.contentType }),
      },
      ...(attempt.payload === undefined ? {} : { payload: attempt.payload }),
    });

  /** attempts builds requests for one route: real or random path values, bodies from its sample. */
  function attempts(route: RouteEntry, ids: Record<string, string>, sample: unknown): fc.Arbitrary<Attempt> {
    const params = pathParams(route.url);
    const values = fc.tuple(...params.map((name) => (ids[name] ? fc.oneof(fc.constant(encodeURIComponent(ids[name])), segment) : segment)));
    return fc.record({
      url: values.map((vs) => {
        const raw: Record<string, string> = Object.fromEntries(params.map((name, i) => [name, `\u0001${i}\u0001`]));
        let url = fillPath(route.url, raw);
        vs.forEach((v, i) => {
          url = url.replace(encodeURIComponent(`\u0001${i}\u0001`), v);
        });
        return url;
      }),
      query,
      contentType,
      payload: fc.option(bodies(sample), { nil: undefined, freq: 6 }),
      authorization: authorizations(userToken),
      cookie: cookies(session),
      extraHeaders,
    });
  }

  it(
    'answers every route of the route table with a non-5xx, problem+json on errors',
    async () => {
      const routes = t.tocsin.app.routeTable;
      for (const [index, route] of routes.entries()) {
        // Each route gets a tenant and objects of its own, so a fuzzed DELETE cannot starve the others.
        const tenant = `fuzz-${index}`;
        await t.call('POST', '/api/v1/tenants', { name: tenant });
        const ids = hasSamples(route) ? await makeObjects(t, route, tenant) : { tenant };
        const sample = sampleBody(t, route, tenant, ids);
        await fc
          .assert(
            fc.asyncProperty(attempts(route, ids, sample), async (attempt) => {
              expectWellFormed(attempt, await send(route.method, attempt));
            }),
            { numRuns: RUNS_PER_ROUTE, endOnFailure: true },
          )
          .catch((err: Error) => {
            throw new Error(`${routeKey(route)}: ${err.message}`);
          });
      }
    },
    WALK_TIMEOUT_MS,
  );

  it('answers random paths and methods with problem+json', async () => {
    const method = fc.constantFrom('GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS');
    const path = fc.array(segment, { minLength: 0, maxLength: 6 }).map((segments) => `/${segments.join('/')}`);
    const prefixed = fc.tuple(fc.constantFrom('/api/v1', '/api/v1/tenants', '/api', '/odata', ''), path).map(([p, rest]) => p + rest);
    await fc.assert(
      fc.asyncProperty(method, prefixed, query, authorizations(userToken), async (m, url, q, authorization) => {
        const attempt: Attempt = { url, query: q, contentType: undefined, payload: undefined, authorization, cookie: undefined, extraHeaders: {} };
        expectWellFormed(attempt, await send(m, attempt));
      }),
      { numRuns: RANDOM_URL_RUNS, endOnFailure: true },
    );
  });

  it('answers a body over the size limit with 413 problem+json', async () => {
    const res = await t.tocsin.app.inject({
      method: 'POST',
      url: '/api/v1/tenants',
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
      payload: `{"name":"${'x'.repeat(BODY_LIMIT_BYTES)}"}`,
    });
    expect(res.statusCode).toBe(413);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    // The limit, written as the API writes a number, where Fastify's detail read 'Request body is too large'.
    expect(res.json().detail).toBe(`The body is over ${BODY_LIMIT_BYTES.toLocaleString('en-US')} bytes.`);
  });

  /** postJson sends a body as written (inject would serialize an object), labelled JSON. */
  const postJson = (url: string, payload: string) =>
    t.tocsin.app.inject({ method: 'POST', url, headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' }, payload });

  it('refuses a body that is not JSON or nested deeper than the bound, and a NUL anywhere, naming the field; takes no body as none', async () => {
    const deep = await t.call('POST', '/api/v1/tenants', JSON.parse(`{"name":"x","extra":${nested(MAX_JSON_DEPTH, '[', ']')}}`));
    expect(deep.statusCode).toBe(400);
    expect(deep.json().detail).toContain(`${MAX_JSON_DEPTH} levels`);
    expect(deep.json().errors).toEqual([{ path: '(root)', message: expect.stringContaining(`${MAX_JSON_DEPTH} levels`) }]);
    for (const payload of ['{"name":', '']) {
      const broken = await postJson('/api/v1/tenants', payload);
      expect(broken.statusCode, payload).toBe(400);
      expect(broken.json().errors, payload).toEqual([{ path: '(root)', message: expect.any(String) }]);
    }
    // A client that labels every request JSON may send no body to a route that takes none.
    const bodiless = await t.tocsin.app.inject({
      method: 'POST',
      url: '/api/v1/auth/logout',
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
    });
    expect(bodiless.statusCode).toBe(204);
    const nul = await t.call('POST', '/api/v1/tenants/fuzz-home/groups', { name: 'ok', email: 'a\u0000@example.com' });
    expect(nul.statusCode).toBe(400);
    expect(nul.json().errors).toEqual([{ path: 'email', message: 'must not contain NUL characters' }]);
    const inPath = await t.call('GET', '/api/v1/tenants/fuzz-home/users/a%00b');
    expect(inPath.json().errors[0].path).toBe('path.userId');
  });

  it('refuses a body with an object or array of more than MAX_JSON_ENTRIES entries, naming it once, before validating it', async () => {
    // 1.6 million unknown keys were each named in the 400 (84 MB), the event loop held for tens of seconds.
    const keys = Array.from({ length: MAX_JSON_ENTRIES + 1 }, (_, i) => `"k${i}":0`).join(',');
    const unknown = await postJson('/api/v1/tenants/fuzz-home/alerts', `{"severity":"Info","component":"Jobs","message":"m",${keys}}`);
    expect(unknown.statusCode).toBe(400);
    expect(unknown.json().errors).toEqual([{ path: '(root)', message: `has more than ${MAX_JSON_ENTRIES.toLocaleString('en-US')} entries` }]);
    const ids = JSON.stringify(Array.from({ length: MAX_JSON_ENTRIES + 1 }, (_, i) => `id-${i}`));
    const listed = await postJson('/api/v1/tenants/fuzz-home/alerts/mark-read', `{"ids":${ids}}`);
    expect(listed.json().errors).toEqual([{ path: 'ids', message: `has more than ${MAX_JSON_ENTRIES.toLocaleString('en-US')} entries` }]);
    // Its detail ends as the detail of 1,001 ids (the schema's bound) does, without a period, as every "field: message" does.
    expect(listed.json().detail).toBe(`ids: has more than ${MAX_JSON_ENTRIES.toLocaleString('en-US')} entries`);
    const overBatch = await postJson(
      '/api/v1/tenants/fuzz-home/alerts/mark-read',
      `{"ids":${JSON.stringify(Array.from({ length: 1_001 }, (_, i) => `id-${i}`))}}`,
    );
    expect(overBatch.json().detail).toBe('ids: must have at most 1,000 items');
    const nested = await postJson('/api/v1/tenants/fuzz-home/alerts', `{"alerts":[{"severity":"Info","component":"Jobs","message":"m","data":{${keys}}}]}`);
    expect(nested.json().errors).toEqual([{ path: 'alerts.0.data', message: `has more than ${MAX_JSON_ENTRIES.toLocaleString('en-US')} entries` }]);
    // As many as the bound is a body like any other: data over 16 KiB, refused by its own rule.
    const bound = await postJson(
      '/api/v1/tenants/fuzz-home/alerts/mark-read',
      `{"ids":${JSON.stringify(Array.from({ length: MAX_JSON_ENTRIES }, (_, i) => `id-${i}`))}}`,
    );
    expect(bound.json().errors).toEqual([{ path: 'ids', message: expect.not.stringContaining('entries') }]);
  });

  it('takes a body nested exactly MAX_JSON_DEPTH deep, and an object of exactly MAX_JSON_ENTRIES keys, as any other: the bounds are inclusive', async () => {
    // The body is depth 1, data 2, its arrays the rest: MAX_JSON_DEPTH in all.
    const deepest = await postJson(
      '/api/v1/tenants/fuzz-home/alerts',
      `{"severity":"Info","component":"Jobs","message":"deep","data":{"a":${nested(MAX_JSON_DEPTH - 2, '[', ']')}}}`,
    );
    expect(deepest.statusCode, deepest.body).toBe(202);
    const keys = Array.from({ length: MAX_JSON_ENTRIES }, (_, i) => `"k${i}":0`).join(',');
    // As many keys as the bound: refused for its size by data's own rule, not for its entries.
    const bound = await postJson('/api/v1/tenants/fuzz-home/alerts', `{"severity":"Info","component":"Jobs","message":"m","data":{${keys}}}`);
    expect(bound.statusCode).toBe(400);
    expect(bound.json().errors).toEqual([{ path: 'data', message: expect.not.stringContaining('entries') }]);
  });

  it('says why and where a body with a __proto__ or constructor.prototype key is refused, rather than that it is no JSON', async () => {
    // The body is valid JSON: 'Body is not valid JSON' sent its sender looking for a syntax error. And
    // the refusal named '(root)' for every such key: of a batch whose data came from elsewhere, the
    // sender could not tell which alert to mend.
    const second = (data: string) =>
      `{"alerts":[{"severity":"Info","component":"Jobs","message":"m"},{"severity":"Info","component":"Jobs","message":"m","data":${data}}]}`;
    for (const [payload, path] of [
      ['{"severity":"Info","component":"Jobs","message":"m","data":{"__proto__":{"x":1}}}', 'data.__proto__'],
      ['{"severity":"Info","component":"Jobs","message":"m","data":{"constructor":{"prototype":{"x":1}}}}', 'data.constructor'],
      [second('{"page":{"__proto__":{"polluted":"yes"}}}'), 'alerts.1.data.page.__proto__'],
      [second('{"rows":[1,{"constructor":{"prototype":{"polluted":"yes"}}}]}'), 'alerts.1.data.rows.1.constructor'],
    ] as const) {
      const res = await postJson('/api/v1/tenants/fuzz-home/alerts', payload);
      expect(res.statusCode, payload).toBe(400);
      expect(res.json().detail, payload).not.toMatch(/not valid JSON/);
      expect(res.json().detail.startsWith(`${path}: `), res.json().detail).toBe(true);
      expect(res.json().errors, payload).toEqual([{ path, message: expect.stringContaining('__proto__') }]);
      expect(res.json().detail, payload).toBe(`${path}: ${res.json().errors[0].message}`);
    }
    // A constructor key of an ordinary value is data like any other.
    const taken = await postJson('/api/v1/tenants/fuzz-home/alerts', second('{"constructor":"Robot"}'));
    expect(taken.statusCode, taken.body).toBe(202);
  });

  it('refuses a number too large for a JSON number to keep (1e400) naming it, rather than storing it as null', async () => {
    // JSON.parse reads 1e400 as Infinity, which JSON.stringify writes as null: the alert was stored with data.n null.
    for (const [payload, path] of [
      ['{"severity":"Info","component":"Robots","message":"m","data":{"n":1e400}}', 'data.n'],
      ['{"alerts":[{"severity":"Info","component":"Robots","message":"m","data":{"list":[1,-2e308]}}]}', 'alerts.0.data.list.1'],
    ]) {
      const res = await postJson('/api/v1/tenants/fuzz-home/alerts', payload!);
      expect(res.statusCode, payload).toBe(400);
      expect(res.json().errors, payload).toEqual([{ path, message: expect.stringContaining('too large') }]);
      expect(res.json().detail, payload).toBe(`${path}: ${res.json().errors[0].message}`);
    }
    // The largest a JSON number keeps, and one too small to tell from 0, are numbers like any other.
    const kept = await postJson(
      '/api/v1/tenants/fuzz-home/alerts',
      '{"severity":"Info","component":"Robots","message":"m","data":{"max":1.7976931348623157e308,"tiny":1e-400}}',
    );
    expect(kept.statusCode, kept.body).toBe(202);
    expect((await t.call('GET', `/api/v1/tenants/fuzz-home/alerts/${kept.json().ids[0]}`)).json().data).toEqual({ max: 1.7976931348623157e308, tiny: 0 });
  });

  it('keeps a lone UTF-16 surrogate (a \\ud800 escape in the JSON) as one U+FFFD on both dialects, in a message, a name and data', async () => {
    // SQLite stored the surrogate's three CESU-8 bytes and read back three U+FFFD; PostgreSQL one.
    const raised = await postJson(
      '/api/v1/tenants/fuzz-home/alerts',
      '{"severity":"Info","component":"Robots","message":"a\\ud800b","dedupKey":"k\\udc00","data":{"s\\ud800":"\\udfff","pair":"\\ud83d\\ude00"}}',
    );
    expect(raised.statusCode, raised.body).toBe(202);
    const [id] = raised.json().ids;
    const alert = (await t.call('GET', `/api/v1/tenants/fuzz-home/alerts/${id}`)).json();
    expect(alert).toMatchObject({ message: 'a\ufffdb', dedupKey: 'k\ufffd', data: { 's\ufffd': '\ufffd', pair: '\u{1f600}' } });
    const group = await postJson('/api/v1/tenants/fuzz-home/groups', '{"name":"ops \\ud800"}');
    expect(group.statusCode, group.body).toBe(201);
    expect((await t.call('GET', `/api/v1/tenants/fuzz-home/groups/${group.json().id}`)).json().name).toBe('ops \ufffd');
  });

  it('reads a JSON body in the charset its Content-Type names, and refuses one it does not know with 415', async () => {
    // A body labelled ISO-8859-1 was read as UTF-8: "café" was stored as "caf\ufffd", and a UTF-16 one was "not valid JSON"
    // (a big-endian one was still, read as the label's little-endian past its byte order mark).
    const post = (charset: string, payload: Buffer) =>
      t.tocsin.app.inject({
        method: 'POST',
        url: '/api/v1/tenants/fuzz-home/alerts',
        headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': `application/json; charset=${charset}` },
        payload,
      });
    const body = '{"severity":"Info","component":"Robots","message":"café – déjà vu"}';
    for (const [charset, payload] of [
      ['ISO-8859-1', Buffer.from(body.replace(' – ', ' - '), 'latin1')],
      ['Shift_JIS', Buffer.from(body.replace('café – déjà vu', '\x93\xfa\x96\x7b'), 'latin1')],
      ['"utf-16le"', Buffer.from(body, 'utf16le')],
      // Java's UTF-16: big-endian after a byte order mark, which says so whatever the label; .NET's: little-endian, no mark.
      ['UTF-16', Buffer.concat([Buffer.from([0xfe, 0xff]), Buffer.from(body, 'utf16le').swap16()])],
      ['utf-16', Buffer.from(body, 'utf16le')],
      ['UTF-8', Buffer.from(body, 'utf8')],
    ] as const) {
      const raised = await post(charset, payload);
      expect(raised.statusCode, `${charset}: ${raised.body}`).toBe(202);
      const alert = (await t.call('GET', `/api/v1/tenants/fuzz-home/alerts/${raised.json().ids[0]}`)).json();
      const sent: Record<string, string> = { 'ISO-8859-1': 'café - déjà vu', Shift_JIS: '日本' };
      expect(alert.message, charset).toBe(sent[charset] ?? 'café – déjà vu');
    }
    const unknown = await post('x-klingon', Buffer.from(body, 'utf8'));
    expect(unknown.statusCode).toBe(415);
    expect(unknown.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(unknown.json().detail).toContain('x-klingon');
  });

  it('reads a JSON body sent gzip-, deflate- or br-compressed, and refuses a coding it does not know with 415', async () => {
    // The compressed bytes were parsed as JSON: a client that compresses its requests got "Body is not valid JSON".
    const post = (encoding: string, payload: Buffer) =>
      t.tocsin.app.inject({
        method: 'POST',
        url: '/api/v1/tenants/fuzz-home/alerts',
        headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json', 'content-encoding': encoding },
        payload,
      });
    const body = Buffer.from('{"severity":"Info","component":"Robots","message":"compressed"}');
    for (const [encoding, payload] of [
      ['gzip', zlib.gzipSync(body)],
      ['deflate', zlib.deflateSync(body)],
      ['br', zlib.brotliCompressSync(body)],
      ['GZIP', zlib.gzipSync(body)],
      // RFC 9110 8.4.1.3: a recipient should take x-gzip as gzip.
      ['x-gzip', zlib.gzipSync(body)],
      ['identity', body],
    ] as const) {
      const raised = await post(encoding, payload);
      expect(raised.statusCode, `${encoding}: ${raised.body}`).toBe(202);
      expect((await t.call('GET', `/api/v1/tenants/fuzz-home/alerts/${raised.json().ids[0]}`)).json().message).toBe('compressed');
    }
    const unknown = await post('zstd', body);
    expect(unknown.statusCode).toBe(415);
    expect(unknown.json().detail).toContain('zstd');
    const corrupt = await post('gzip', body);
    expect(corrupt.statusCode).toBe(400);
    expect(corrupt.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(corrupt.json().errors).toEqual([{ path: '(root)', message: expect.stringContaining('gzip') }]);
    // A small body that inflates past the size limit (POST /alerts' own, cb7af1c6) is refused as too large, not inflated whole.
    const bomb = await post('gzip', zlib.gzipSync(Buffer.alloc(ALERTS_BODY_LIMIT_BYTES + 1, 0x20)));
    expect(bomb.statusCode).toBe(413);
    // Its size written as the API writes a number, where it read 'over 33345126 bytes'.
    // POST /alerts adds what to do instead (its route's overLimit).
    expect(bomb.json().detail).toMatch(
      new RegExp(
        `^The body is over ${ALERTS_BODY_LIMIT_BYTES.toLocaleString('en-US')} bytes once its gzip coding is undone\\. Send the alerts in smaller batches`,
      ),
    );
  });

  it('refuses a filter sent as a list (severity[]=Fatal, status[0]=sent) with a 400 naming it, rather than listing everything unfiltered', async () => {
    // PHP's http_build_query, jQuery's $.param and qs write a list this way; the key was an unknown one, so ignored.
    for (const [url, path] of [
      ['/api/v1/tenants/fuzz-home/alerts?severity[]=Fatal', 'severity[]'],
      ['/api/v1/tenants/fuzz-home/alerts?limit=5&component%5B%5D=Robots&component%5B%5D=Jobs', 'component[]'],
      ['/api/v1/tenants/fuzz-home/deliveries?status[0]=sent', 'status[0]'],
      ['/odata/Alerts?$top[]=1', '$top[]'],
    ]) {
      const res = await t.tocsin.app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${userToken}` } });
      expect(res.statusCode, url).toBe(400);
      expect(res.headers['content-type'], url).toMatch(/^application\/problem\+json/);
      expect(res.json().errors, url).toEqual([{ path, message: expect.stringContaining('once') }]);
    }
  });

  it('refuses a parameter given more than once (limit=1&limit=2, $top twice) with a 400 saying so, not zod\'s "received array" or "received NaN"', async () => {
    // A URL built by appending to one that already had the option (a script's paging loop, a copied link) repeats it.
    for (const [url, path] of [
      ['/api/v1/tenants/fuzz-home/alerts?limit=1&limit=2', 'limit'],
      ['/api/v1/tenants/fuzz-home/alerts?severity=Error&severity=Fatal', 'severity'],
      ["/odata/Alerts?$filter=Severity%20eq%20'Error'&$filter=Severity%20eq%20'Fatal'", '$filter'],
      ['/odata/Alerts?$top=1&$top=2', '$top'],
    ]) {
      const res = await t.tocsin.app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${userToken}` } });
      expect(res.statusCode, url).toBe(400);
      expect(res.headers['content-type'], url).toMatch(/^application\/problem\+json/);
      expect(res.json().errors, url).toEqual([{ path, message: expect.stringContaining('more than once') }]);
    }
  });

  it('refuses a REST parameter its route does not know (severty=Error), naming it and the ones it takes, rather than listing everything unfiltered; OData ignores a custom option', async () => {
    for (const [url, path, takes] of [
      ['/api/v1/tenants/fuzz-home/alerts?severty=Error', 'severty', /^is not a parameter of this route, which takes severity, component, event, .* or queue$/],
      ['/api/v1/tenants/fuzz-home/deliveries?statuss=failed', 'statuss', /which takes status, kind, recipient, limit or cursor$/],
      ['/api/v1/tenants/fuzz-home/alerts/histogram?range=24h&tz=UTC', 'tz', /which takes range or timeZone$/],
    ] as const) {
      const res = await t.tocsin.app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${userToken}` } });
      expect(res.statusCode, url).toBe(400);
      expect(res.headers['content-type'], url).toMatch(/^application\/problem\+json/);
      expect(res.json().errors, url).toEqual([{ path, message: expect.stringMatching(takes) }]);
    }
    // OData's custom query options (no $) are the service's to ignore when it does not know them, as Orchestrator does.
    const odata = await t.tocsin.app.inject({ method: 'GET', url: '/odata/Alerts?cacheBuster=1&$top=1', headers: { authorization: `Bearer ${userToken}` } });
    expect(odata.statusCode, odata.body).toBe(200);
  });

  it('names the URL in the errors of a 400 for a path that is not valid percent-encoding, as every 400 names where', async () => {
    for (const url of ['/api/v1/tenants/fuzz-home/users/%ZZ', '/api/v1/tenants/%E0%A4%A/users', '/odata/Alerts%']) {
      const res = await t.call('GET', url);
      expect(res.statusCode, url).toBe(400);
      expect(res.headers['content-type'], url).toMatch(/^application\/problem\+json/);
      expect(res.json().errors, url).toEqual([{ path: '(url)', message: expect.stringContaining('not a valid url') }]);
    }
  });
});
