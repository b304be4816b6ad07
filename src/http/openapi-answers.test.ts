import fs from 'node:fs';
import { Ajv, type ValidateFunction } from 'ajv';
import formatsModule from 'ajv-formats';
import type { HTTPMethods, LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { fillPath, hasSamples, makeObjects, sampleBody } from '../../test/support/route-walk.js';
import { ADMIN_TOKEN, type TestApp, startTestApp } from '../../test/support/http.js';
import { TEST_PG_URL, describeEachDialect } from '../../test/support/storage.js';
import { proxyFor, viaProxy } from '../../test/support/tcp-proxy.js';
import { ActionLinks } from '../actions/links.js';
import { MailCatcher } from '../delivery/catcher/mail-catcher.js';
import { Metrics } from '../ops/metrics.js';
import { UnsubscribeLinks } from '../reports/unsubscribe/links.js';
import { ROUTE_MODULES } from '../route-modules.js';
import { BODY_LIMIT_BYTES, buildApp } from './app.js';
import { OPENAPI_PATH } from './openapi.js';
import { ORCHESTRATOR_TENANT_HEADER } from './orchestrator-paths.js';

type Json = Record<string, any>;

const TENANT = 'documented';
const ODATA = 'UiPath.Server.Configuration.OData';
// ajv-formats is CommonJS; its default export arrives wrapped under ESM.
const addFormats = ((formatsModule as unknown as { default?: unknown }).default ?? formatsModule) as (ajv: Ajv) => Ajv;

/**
 * The answers the server gives are what the OpenAPI document says: client tools generated from it
 * reject (or silently drop) a field, a null, an enum value or a status it does not declare.
 */
describeEachDialect('answers match the OpenAPI document', (dialect) => {
  let t: TestApp;
  let doc: Json;
  const ajv = new Ajv({ strict: false, allErrors: true });
  addFormats(ajv);
  const validators = new Map<string, ValidateFunction>();

  beforeAll(async () => {
    t = await startTestApp(dialect);
    const served = await t.call('GET', OPENAPI_PATH, undefined, '');
    expect(served.statusCode, served.body).toBe(200);
    doc = served.json<Json>();
    await t.call('POST', '/api/v1/tenants', { name: TENANT, displayName: 'Documented' });
    // Lists and objects with their optional parts filled: alerts (one read, one acknowledged), a
    // pull source, custom SMTP settings, a test email in the delivery log, a mute.
    const alerts = await t.call('POST', `/api/v1/tenants/${TENANT}/alerts`, {
      alerts: [
        { severity: 'Fatal', component: 'Robots', message: 'down', data: { a: 1 }, source: { robot: 'R1', machine: 'M1' }, dedupKey: 'k1' },
        { severity: 'Info', component: 'Jobs', message: 'fine', occurredAt: '2026-11-30T10:00:00+01:00' },
      ],
    });
    expect(alerts.statusCode, alerts.body).toBe(202);
    const [first] = alerts.json<{ ids: string[] }>().ids;
    expect((await t.call('POST', `/api/v1/tenants/${TENANT}/alerts/${first}/acknowledge`)).statusCode).toBe(200);
    const pull = await t.call('POST', `/api/v1/tenants/${TENANT}/sources`, {
      name: 'documented-pull',
      kind: 'orchestrator-pull',
      pull: { baseUrl: 'https://orchestrator.example.com', tenancyName: 'Default', username: 'poller', password: 'pw', intervalSeconds: 3600 },
    });
    expect(pull.statusCode, pull.body).toBe(201);
    const custom = { host: 'smtp.example.com', port: 587, security: 'starttls', username: 'alerts', password: 'pw', fromAddress: 'alerts@example.com' };
    const mail = await t.call('PUT', `/api/v1/tenants/${TENANT}/settings/mail`, { useCustom: true, custom });
    expect(mail.statusCode, mail.body).toBe(200);
    const test = await t.call('POST', `/api/v1/tenants/${TENANT}/settings/mail/test`, {
      sendTo: 'qa@example.com',
      settings: { ...custom, host: '127.0.0.1', port: 1 },
    });
    expect(test.statusCode, test.body).toBe(200);
    const mute = await t.call('POST', `/api/v1/tenants/${TENANT}/mutes`, { scope: 'tenant', match: { component: 'Robots' }, until: '2999-01-01T00:00:00Z' });
    expect(mute.statusCode, mute.body).toBe(201);
  });
  afterAll(() => t.close());

  /** check returns what is wrong with an answer against the document's operation, or nothing. */
  function check(method: string, path: string, res: LightMyRequestResponse): string[] {
    const where = `${method.toUpperCase()} ${path} → ${res.statusCode}`;
    const operation = doc.paths[path]?.[method.toLowerCase()];
    if (!operation) return [`${where}: no such operation in the document`];
    let response = operation.responses?.[String(res.statusCode)] ?? operation.responses?.default;
    if (!response) return [`${where}: status not documented (documented: ${Object.keys(operation.responses ?? {}).join(', ')}) ${res.body.slice(0, 200)}`];
    if (response.$ref)
      response = response.$ref
        .split('/')
        .slice(1)
        .reduce((node: Json, key: string) => node[key], doc);
    // A header the document gives an answer (Location, Retry-After) is one clients read from it.
    const headers = Object.keys(response.headers ?? {}).filter((name) => res.headers[name.toLowerCase()] === undefined);
    if (headers.length > 0) return [`${where}: answers without the documented ${headers.join(', ')}`];
    const type = String(res.headers['content-type'] ?? '').split(';')[0]!;
    if (res.statusCode === 204 || res.body === '') return [];
    const content = response.content ?? {};
    // A body the document does not announce is one a generated client drops or refuses.
    if (!content[type]) return [`${where}: answers ${type}, the document ${Object.keys(content).join(', ') || 'no body'}`];
    if (!/json$/.test(type)) return [];
    const schema = content[type].schema;
    if (!schema || Object.keys(schema).length === 0) return [`${where}: answers JSON the document gives no schema for`];
    const key = `${method} ${path} ${res.statusCode} ${type}`;
    let validate = validators.get(key);
    if (!validate) {
      validate = ajv.compile({ ...schema, components: doc.components });
      validators.set(key, validate);
    }
    if (validate(res.json())) return [];
    const errors = (validate.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message} ${JSON.stringify(e.params)}`);
    return [`${where}: ${errors.join('; ')}\n    ${res.body.slice(0, 400)}`];
  }

  const docPath = (url: string) => url.replace(/:([A-Za-z_]\w*)(\([^)]*\))?/g, '{$1}');

  it("is a valid OpenAPI 3.0 document, by the specification's own schema", () => {
    const {
      id: _id,
      $schema: _draft04,
      ...schema
    } = JSON.parse(fs.readFileSync(new URL('../../test/support/openapi-3.0-schema.json', import.meta.url), 'utf8'));
    // The schema is draft-04, whose exclusiveMinimum is a boolean beside minimum: Ajv reads draft-07's number.
    const toDraft07 = (node: unknown): void => {
      if (typeof node !== 'object' || node === null) return;
      const n = node as Json;
      if (n.exclusiveMinimum === true && typeof n.minimum === 'number') {
        n.exclusiveMinimum = n.minimum;
        delete n.minimum;
      }
      for (const value of Object.values(n)) toDraft07(value);
    };
    toDraft07(schema);
    const validate = new Ajv({ strict: false, allErrors: true }).compile(schema);
    const errors = validate(doc) ? [] : (validate.errors ?? []).map((e) => `${e.instancePath} ${e.message} ${JSON.stringify(e.params)}`);
    expect(doc.openapi).toMatch(/^3\.0\.\d+$/);
    expect(errors.join('\n')).toBe('');
  });

  it('takes in its request schemas the nulls the server takes (null clears an optional field)', async () => {
    const user = (await t.call('POST', `/api/v1/tenants/${TENANT}/users`, { email: 'nulls@documented.example.com', name: 'Nulls', language: 'fr' })).json<{
      id: string;
    }>();
    const calls: [HTTPMethods, string, string, unknown][] = [
      ['PATCH', `/api/v1/tenants/${TENANT}/users/${user.id}`, '/api/v1/tenants/{tenant}/users/{userId}', { language: null }],
      ['PATCH', `/api/v1/tenants/${TENANT}`, '/api/v1/tenants/{tenant}', { language: null }],
      ['PUT', `/api/v1/tenants/${TENANT}/settings/mail`, '/api/v1/tenants/{tenant}/settings/mail', { custom: { authMethod: null } }],
    ];
    const failures: string[] = [];
    for (const [method, url, path, body] of calls) {
      const res = await t.call(method, url, body);
      expect(res.statusCode, `${method} ${url} ${res.body}`).toBe(200);
      const schema = doc.paths[path][method.toLowerCase()].requestBody.content['application/json'].schema;
      const validate = ajv.compile({ ...schema, components: doc.components });
      if (!validate(body)) failures.push(`${method} ${path} ${JSON.stringify(body)}: ${JSON.stringify(validate.errors)}`);
    }
    expect(failures.join('\n')).toBe('');
  });

  it('refuses in its request schemas the empty names, secrets and required texts the server refuses', async () => {
    const user = (await t.call('POST', `/api/v1/tenants/${TENANT}/users`, { email: 'names@documented.example.com', name: 'Names' })).json<{
      id: string;
    }>();
    const smtp = { host: 'smtp.example.com', port: 587, security: 'starttls', username: 'alerts', fromAddress: 'alerts@example.com' };
    const robot = (await t.tenantWithUser(TENANT, ['Robot'])).token;
    const processAlert = { Message: 'm', Severity: 'Error', ProcessName: 'p', RobotName: 'r' };
    const raise = `/odata/Alerts/${ODATA}.RaiseProcessAlert`;
    const calls: [HTTPMethods, string, string, Json, string?][] = [
      ['POST', '/api/v1/tenants', '/api/v1/tenants', { name: 'empty-display-name', displayName: '' }],
      ['POST', `/api/v1/tenants/${TENANT}/users`, '/api/v1/tenants/{tenant}/users', { email: 'empty@documented.example.com', name: '' }],
      ['POST', `/api/v1/tenants/${TENANT}/users/${user.id}/tokens`, '/api/v1/tenants/{tenant}/users/{userId}/tokens', { name: '' }],
      ['POST', `/api/v1/tenants/${TENANT}/groups`, '/api/v1/tenants/{tenant}/groups', { name: '' }],
      ['POST', `/api/v1/tenants/${TENANT}/roles`, '/api/v1/tenants/{tenant}/roles', { name: '', permissions: [] }],
      ['POST', `/api/v1/tenants/${TENANT}/sources`, '/api/v1/tenants/{tenant}/sources', { name: '', kind: 'webhook' }],
      ['PUT', `/api/v1/tenants/${TENANT}/settings/mail`, '/api/v1/tenants/{tenant}/settings/mail', { custom: { ...smtp, password: '' } }],
      ['PUT', `/api/v1/tenants/${TENANT}/settings/mail`, '/api/v1/tenants/{tenant}/settings/mail', { custom: { ...smtp, accessToken: '' } }],
      ['PUT', '/api/v1/system/mail-settings', '/api/v1/system/mail-settings', { ...smtp, password: '' }],
      ['POST', raise, raise, { processAlert: { ...processAlert, Message: '' } }, robot],
      ['POST', raise, raise, { processAlert: { ...processAlert, ProcessName: '' } }, robot],
      ['POST', raise, raise, { processAlert: { ...processAlert, RobotName: '' } }, robot],
      // Blank (only white space) is empty once trimmed, as the server reads a name.
      ['POST', '/api/v1/tenants', '/api/v1/tenants', { name: 'blank-display-name', displayName: ' \t ' }],
      ['POST', `/api/v1/tenants/${TENANT}/users`, '/api/v1/tenants/{tenant}/users', { email: 'blank@documented.example.com', name: '   ' }],
      ['PATCH', `/api/v1/tenants/${TENANT}/users/${user.id}`, '/api/v1/tenants/{tenant}/users/{userId}', { name: ' ' }],
      ['POST', `/api/v1/tenants/${TENANT}/users/${user.id}/tokens`, '/api/v1/tenants/{tenant}/users/{userId}/tokens', { name: '\u00a0' }],
      ['POST', `/api/v1/tenants/${TENANT}/groups`, '/api/v1/tenants/{tenant}/groups', { name: '  ' }],
      ['POST', `/api/v1/tenants/${TENANT}/roles`, '/api/v1/tenants/{tenant}/roles', { name: ' ', permissions: [] }],
      ['POST', `/api/v1/tenants/${TENANT}/sources`, '/api/v1/tenants/{tenant}/sources', { name: '   ', kind: 'webhook' }],
      ['POST', raise, raise, { processAlert: { ...processAlert, Message: '  ' } }, robot],
      // A line break in what becomes an email header, or an SMTP command, is refused (and so is one of U+0085, U+2028, U+2029).
      ['POST', `/api/v1/tenants/${TENANT}/users`, '/api/v1/tenants/{tenant}/users', { email: 'broken@documented.example.com', name: 'Ann\nSmith' }],
      ['POST', `/api/v1/tenants/${TENANT}/roles`, '/api/v1/tenants/{tenant}/roles', { name: 'a\u2028b', permissions: [] }],
      ['PATCH', `/api/v1/tenants/${TENANT}`, '/api/v1/tenants/{tenant}', { displayName: 'a\u0085b' }],
      // So is another control character (ESC, DEL…) in a name a header shows.
      ['POST', `/api/v1/tenants/${TENANT}/groups`, '/api/v1/tenants/{tenant}/groups', { name: 'Ops\u001b[2J' }],
      ['PUT', '/api/v1/system/mail-settings', '/api/v1/system/mail-settings', { ...smtp, fromDisplayName: 'Alerts\u007f' }],
      [
        'PUT',
        `/api/v1/tenants/${TENANT}/settings/mail`,
        '/api/v1/tenants/{tenant}/settings/mail',
        { custom: { ...smtp, username: 'a\r\nRCPT TO:<x@example.com>' } },
      ],
      ['PUT', '/api/v1/system/mail-settings', '/api/v1/system/mail-settings', { ...smtp, fromDisplayName: 'Alerts\nBcc: x@example.com' }],
      // An event name outside the catalogue is of letters, digits and . _ : - (what a mute's match may name too, and a blank value there is none).
      [
        'POST',
        `/api/v1/tenants/${TENANT}/alerts`,
        '/api/v1/tenants/{tenant}/alerts',
        { severity: 'Info', component: 'Jobs', message: 'm', event: 'not an event!' },
      ],
      [
        'POST',
        `/api/v1/tenants/${TENANT}/mutes`,
        '/api/v1/tenants/{tenant}/mutes',
        { scope: 'tenant', match: { event: 'a b' }, until: '2999-01-01T00:00:00Z' },
      ],
      ['POST', `/api/v1/tenants/${TENANT}/mutes`, '/api/v1/tenants/{tenant}/mutes', { scope: 'tenant', match: { robot: '  ' }, until: '2999-01-01T00:00:00Z' }],
    ];
    const accepted: string[] = [];
    for (const [method, url, path, body, token] of calls) {
      const res = await t.call(method, url, body, token);
      expect(res.statusCode, `${method} ${url} ${res.body}`).toBe(400);
      const schema = doc.paths[path][method.toLowerCase()].requestBody.content['application/json'].schema;
      if (ajv.compile({ ...schema, components: doc.components })(body)) accepted.push(`${method} ${path} ${JSON.stringify(body)}`);
    }
    expect(accepted.join('\n')).toBe('');
  });

  it('takes in its request schemas every form of a value the server reads (a folder id as a number, its digits, or null)', async () => {
    const sources = (await t.call('GET', `/api/v1/tenants/${TENANT}/sources`)).json<{ items: { id: string; kind: string }[] }>().items;
    const pull = sources.find((source) => source.kind === 'orchestrator-pull')!.id;
    const path = '/api/v1/tenants/{tenant}/sources/{sourceId}';
    const schema = doc.paths[path].patch.requestBody.content['application/json'].schema;
    const validate = ajv.compile({ ...schema, components: doc.components });
    const failures: string[] = [];
    for (const organizationUnitId of [42, '42', null]) {
      const body = { pull: { organizationUnitId } };
      const res = await t.call('PATCH', `/api/v1/tenants/${TENANT}/sources/${pull}`, body);
      expect(res.statusCode, `${JSON.stringify(body)} ${res.body}`).toBe(200);
      if (!validate(body)) failures.push(`PATCH ${path} ${JSON.stringify(body)}: ${JSON.stringify(validate.errors)}`);
    }
    // OpenAPI 3.0 reads nullable only beside a type: a nullable union says so in its branches.
    const field = schema.properties.pull.properties.organizationUnitId;
    expect(field.nullable, JSON.stringify(field)).toBeUndefined();
    expect(failures.join('\n')).toBe('');
  });

  it("takes in its request schemas the numbers and booleans Orchestrator's routes read as text, as .NET's binder does", async () => {
    await t.call('POST', `/api/v1/tenants/${TENANT}/users`, { email: 'digits@documented.example.com', name: 'Digits', password: '12345678', roles: ['Robot'] });
    const robot = (await t.tenantWithUser(TENANT, ['Robot'])).token;
    const raise = `/odata/Alerts/${ODATA}.RaiseProcessAlert`;
    const calls: [string, Json, string?][] = [
      [raise, { processAlert: { Message: 42, Severity: 'Error', ProcessName: 1234, RobotName: true } }, robot],
      ['/api/Account/Authenticate', { TenancyName: TENANT, UsernameOrEmailAddress: 'digits@documented.example.com', Password: 12345678 }, ''],
    ];
    const refused: string[] = [];
    for (const [url, body, token] of calls) {
      const res = await t.call('POST', url, body, token);
      expect(res.statusCode, `${url} ${res.body}`).toBe(200);
      const schema = doc.paths[url].post.requestBody.content['application/json'].schema;
      const validate = ajv.compile({ ...schema, components: doc.components });
      if (!validate(body)) refused.push(`${url} ${JSON.stringify(body)}: ${JSON.stringify(validate.errors)}`);
    }
    expect(refused.join('\n')).toBe('');
  });

  it("names the parts of an alert's source in its answers, as API.md's AlertInput gives them", () => {
    const resolve = (node: Json): Json =>
      node.$ref
        ? resolve(
            node.$ref
              .split('/')
              .slice(1)
              .reduce((n: Json, k: string) => n[k], doc),
          )
        : node;
    const answers: [string, string[]][] = [
      ['/api/v1/tenants/{tenant}/alerts', ['items', 'items']],
      ['/api/v1/tenants/{tenant}/alerts/{alertId}', []],
      ['/api/v1/tenants/{tenant}/alerts/panel', ['items', 'items']],
    ];
    const unnamed: string[] = [];
    for (const [path, steps] of answers) {
      let schema = resolve(doc.paths[path].get.responses['200'].content['application/json'].schema);
      for (const step of steps) schema = resolve(step === 'items' && schema.items ? schema.items : schema.properties[step]);
      const source = resolve(schema.properties.source);
      if (Object.keys(source.properties ?? {}).join() !== 'process,robot,machine,queue,job') unnamed.push(`${path}: ${JSON.stringify(source)}`);
    }
    expect(unnamed.join('\n')).toBe('');
  });

  it("names the fields of VerifySmtpSetting's smtpSettingModel, as API.md lists them, and takes the values the server reads", async () => {
    const url = `/odata/Settings/${ODATA}.VerifySmtpSetting`;
    const schema = doc.paths[url].post.requestBody.content['application/json'].schema;
    const model = schema.properties.smtpSettingModel;
    // As API.md's table writes them.
    const listed = 'Host, Port, UserName, Password, Domain, EnableSsl, UseDefaultCredentials, DefaultFromAddress, DefaultFromDisplayName';
    expect(Object.keys(model.properties ?? {})).toEqual(listed.split(', '));
    // Each left out is the saved server's (a 400 naming it without one), but Host: required, as in Orchestrator's model.
    expect(model.required).toEqual(['Host']);
    const validate = ajv.compile({ ...schema, components: doc.components });
    const admin = (await t.tenantWithUser(TENANT)).token;
    // The port and the switches as .NET's binder takes them, as text too; null as left out. The
    // server gets as far as connecting (nothing listens on port 1): only the host is named.
    const taken = { Host: '127.0.0.1', Port: '1', EnableSsl: 'true', UseDefaultCredentials: null, UserName: null, DefaultFromAddress: 'a@example.com' };
    const res = await t.call('POST', url, { sendTo: 'qa@example.com', smtpSettingModel: taken }, admin);
    expect(res.json().errors, res.body).toEqual([{ path: 'smtpSettingModel.Host', message: expect.stringContaining('ECONNREFUSED') }]);
    expect(validate({ sendTo: 'qa@example.com', smtpSettingModel: taken }), JSON.stringify(validate.errors)).toBe(true);
    // A host that is no text is refused, by both.
    const refused = await t.call('POST', url, { smtpSettingModel: { ...taken, Host: 42 } }, admin);
    expect(refused.json().errors, refused.body).toEqual([{ path: 'smtpSettingModel.Host', message: expect.any(String) }]);
    expect(validate({ smtpSettingModel: { ...taken, Host: 42 } })).toBe(false);
  });

  it('refuses in its request schemas a text with a NUL character, which the server refuses in any path, query or body (400)', async () => {
    const res = await t.call('POST', `/api/v1/tenants/${TENANT}/groups`, { name: 'nul\u0000group' });
    expect(res.json(), res.body).toMatchObject({ status: 400, errors: [{ path: 'name', message: 'must not contain NUL characters' }] });
    const taken: string[] = [];
    const walk = (given: Json | undefined, where: string): void => {
      const node = given?.$ref
        ? given.$ref
            .split('/')
            .slice(1)
            .reduce((n: Json, k: string) => n[k], doc)
        : given;
      if (!node || typeof node !== 'object') return;
      if (node.type === 'string' && !node.enum && ajv.compile(node)('a\u0000b')) taken.push(where);
      for (const [key, value] of Object.entries<Json>(node.properties ?? {})) walk(value, `${where}.${key}`);
      for (const branch of [...(node.anyOf ?? []), ...(node.oneOf ?? []), ...(node.allOf ?? [])]) walk(branch, where);
      if (node.items) walk(node.items, `${where}[]`);
    };
    for (const [path, item] of Object.entries<Json>(doc.paths)) {
      for (const [method, operation] of Object.entries<Json>(item)) {
        for (const parameter of operation.parameters ?? []) if (parameter.in !== 'header') walk(parameter.schema, `${method} ${path} ${parameter.name}`);
        walk(operation.requestBody?.content?.['application/json']?.schema, `${method} ${path} body`);
      }
    }
    expect(taken.join('\n')).toBe('');
  });

  it("refuses in the alert list's event parameter the names the server refuses, as AlertInput's event does", async () => {
    const parameter = doc.paths['/api/v1/tenants/{tenant}/alerts'].get.parameters.find((p: Json) => p.name === 'event');
    const validate = ajv.compile(parameter.schema);
    const failures: string[] = [];
    for (const event of ['', '-1', 'not an event!', '.hidden']) {
      const res = await t.call('GET', `/api/v1/tenants/${TENANT}/alerts?event=${encodeURIComponent(event)}`);
      expect(res.json(), res.body).toMatchObject({ status: 400, errors: [{ path: 'event' }] });
      if (validate(event)) failures.push(`event=${JSON.stringify(event)} is refused (400) but valid by the document`);
    }
    // The catalogue's events, in any case, and other names an alert may carry, stay valid.
    for (const event of ['robot.statuschanged.notresponding', 'Acme.Custom:1']) {
      expect((await t.call('GET', `/api/v1/tenants/${TENANT}/alerts?event=${encodeURIComponent(event)}`)).statusCode).toBe(200);
      if (!validate(event)) failures.push(`event=${JSON.stringify(event)} is taken but invalid by the document`);
    }
    expect(failures.join('\n')).toBe('');
  });

  it('answers every documented operation with a documented status and a body of its schema', async () => {
    const failures: string[] = [];
    let checked = 0;
    for (const route of t.tocsin.app.routeTable.filter((r) => !r.hidden && hasSamples(r))) {
      // Deleting the shared tenant would empty every later call: delete one of its own.
      const tenant = route.method === 'DELETE' && route.url === '/api/v1/tenants/:tenant' ? `${TENANT}-gone` : TENANT;
      if (tenant !== TENANT) await t.call('POST', '/api/v1/tenants', { name: tenant });
      const ids = await makeObjects(t, route, tenant);
      const res = await t.call(route.method as HTTPMethods, fillPath(route.url, ids), sampleBody(t, route, tenant, ids));
      failures.push(...check(route.method, route.documentedUrl ?? docPath(route.url), res));
      checked++;
    }
    expect(checked).toBeGreaterThan(40);
    expect(failures.join('\n')).toBe('');
  });

  it('documents the 413 and 415 of every operation whose method carries a body, those that take none and the forms included', async () => {
    const oversized = Buffer.alloc(BODY_LIMIT_BYTES + 1, 0x20);
    const bodies: [string, string | Buffer][] = [
      ['application/xml', '<a/>'],
      ['application/json', oversized],
      // A charset the JSON parser does not know, which a form route reads with it too.
      ['application/json; charset=bogus', '{}'],
    ];
    const failures: string[] = [];
    const refused = new Set<number>();
    for (const route of t.tocsin.app.routeTable.filter((r) => !r.hidden && ['POST', 'PUT', 'PATCH', 'DELETE'].includes(r.method))) {
      // Objects of their own, as a real client's calls name them, so each answer is the body's, not the path's.
      const tenant = route.method === 'DELETE' && route.url === '/api/v1/tenants/:tenant' ? `${TENANT}-kept` : TENANT;
      if (tenant !== TENANT) await t.call('POST', '/api/v1/tenants', { name: tenant });
      const ids = hasSamples(route) ? await makeObjects(t, route, tenant) : { tenant };
      for (const [type, payload] of bodies) {
        const res = await t.tocsin.app.inject({
          method: route.method as HTTPMethods,
          url: fillPath(route.url, ids),
          headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': type, [ORCHESTRATOR_TENANT_HEADER]: tenant },
          payload,
        });
        if (res.statusCode === 413 || res.statusCode === 415) refused.add(res.statusCode);
        failures.push(...check(route.method, route.documentedUrl ?? docPath(route.url), res).map((failure) => `${type}: ${failure}`));
      }
    }
    expect(failures.join('\n')).toBe('');
    expect([...refused].sort()).toEqual([413, 415]);
  });

  it("documents the JSON answer of API.md's operations with a schema", () => {
    const tenant = '/api/v1/tenants/{tenant}';
    const documented = [
      'post /api/v1/tenants',
      'get /api/v1/tenants',
      `get ${tenant}`,
      `patch ${tenant}`,
      ...['post /users', 'get /users', 'get /users/{userId}', 'patch /users/{userId}', 'post /users/{userId}/tokens'],
      ...['post /groups', 'get /groups', 'get /groups/{groupId}', 'patch /groups/{groupId}', 'get /roles', 'post /roles'],
      ...['post /alerts', 'get /alerts', 'get /alerts/unread-count', 'get /alerts/panel', 'post /alerts/mark-read', 'post /alerts/mark-unread'],
      ...['get /alerts/{alertId}', 'post /alerts/{alertId}/acknowledge', 'get /mutes', 'post /mutes'],
      ...['post /sources', 'get /sources', 'get /sources/{sourceId}', 'patch /sources/{sourceId}', 'post /sources/{sourceId}/rotate-secret'],
      ...['post /sources/{sourceId}/test', 'get /me/alert-preferences', 'put /me/alert-preferences', 'get /settings/mail/health', 'get /deliveries'],
      ...['get /settings/mail', 'put /settings/mail', 'post /settings/mail/test', 'get /api/v1/system/mail-settings', 'put /api/v1/system/mail-settings'],
      ...['post /api/Account/Authenticate', 'get /odata/Alerts', `get /odata/Alerts/${ODATA}.GetUnreadCount()`, `post /odata/Alerts/${ODATA}.MarkAsRead`],
      'get /odata/Settings',
      'get /me',
      ...['get /users/{userId}/tokens', 'get /alerts/catalogue', 'get /healthz', 'get /readyz'],
    ].map((route) => (/ \/(api|odata|healthz|readyz)/.test(route) ? route : route.replace(' /', ` ${tenant}/`)));
    const missing = documented.filter((route) => {
      const [method, path] = route.split(' ') as [string, string];
      const responses = doc.paths[path]?.[method]?.responses ?? {};
      const success = Object.keys(responses).find((status) => status.startsWith('2'));
      const schema = success ? responses[success].content?.['application/json']?.schema : undefined;
      return !schema || Object.keys(schema).length === 0;
    });
    expect(missing.join('\n')).toBe('');
  });

  it('types the times of its answers as date-time and their numbers as integers, as generated clients read them', () => {
    // Times are named …At, since, until or windowStart/windowEnd; the one number that has a fraction is a lag in seconds.
    const TIME = /(At|^since|^until|^windowStart|^windowEnd)$/;
    const FRACTIONAL = new Set(['lagSeconds']);
    const wrong = new Set<string>();
    const walk = (node: Json | undefined, where: string, name?: string): void => {
      if (!node || typeof node !== 'object') return;
      if (name && TIME.test(name) && node.type === 'string' && node.format !== 'date-time') wrong.add(`${where}: ${name} is no date-time`);
      if (name && node.type === 'number' && !FRACTIONAL.has(name)) wrong.add(`${where}: ${name} is a number, not an integer`);
      for (const [key, value] of Object.entries<Json>(node.properties ?? {})) walk(value, where, key);
      for (const branch of [...(node.anyOf ?? []), ...(node.oneOf ?? []), ...(node.allOf ?? [])]) walk(branch, where, name);
      if (node.items) walk(node.items, where, name);
      if (typeof node.additionalProperties === 'object') walk(node.additionalProperties, where, name);
    };
    for (const [path, item] of Object.entries<Json>(doc.paths)) {
      for (const [method, operation] of Object.entries<Json>(item)) {
        for (const [status, response] of Object.entries<Json>(operation.responses ?? {})) {
          if (!status.startsWith('2')) continue;
          for (const media of Object.values<Json>(response.content ?? {})) walk(media.schema, `${method} ${path}`);
        }
      }
    }
    expect([...wrong].join('\n')).toBe('');
  });

  it('refers to its shared problem answers rather than repeating the problem schema in every operation', () => {
    const inline: string[] = [];
    for (const [path, item] of Object.entries<Json>(doc.paths)) {
      for (const [method, operation] of Object.entries<Json>(item)) {
        for (const [status, response] of Object.entries<Json>(operation.responses ?? {})) {
          const schema = response.content?.['application/problem+json']?.schema;
          if (schema && !schema.$ref) inline.push(`${method} ${path} ${status}`);
        }
      }
    }
    expect(inline.join('\n')).toBe('');
    // Each shared answer is used: a 409, 429 or 503 is one a route declares.
    const used = JSON.stringify(doc.paths);
    const unused = Object.keys(doc.components.responses).filter((name) => !used.includes(`#/components/responses/${name}"`));
    expect(unused).toEqual([]);
  });

  it('names in each operation of API.md the permission it needs, or that only the host administrator may call it', () => {
    const tenant = '/api/v1/tenants/{tenant}';
    const HOST = 'host administrator';
    const needs: Record<string, string[]> = {
      [HOST]: [
        'post /api/v1/tenants',
        'get /api/v1/tenants',
        `patch ${tenant}`,
        `delete ${tenant}`,
        'get /api/v1/system/mail-settings',
        'put /api/v1/system/mail-settings',
      ],
      'Users.View': ['get /users', 'get /users/{userId}', 'get /groups', 'get /groups/{groupId}', 'get /roles'],
      'Users.Edit': ['post /users', 'patch /users/{userId}', 'delete /users/{userId}', 'post /users/{userId}/tokens', 'post /groups', 'post /roles'],
      'Alerts.Create': ['post /alerts', `post /odata/Alerts/${ODATA}.RaiseProcessAlert`],
      'Alerts.View': ['get /alerts', 'get /alerts/unread-count', 'get /alerts/panel', 'post /alerts/mark-read', 'post /alerts/mark-unread'],
      'Alerts.Delete': ['delete /alerts/{alertId}'],
      'Sources.View': ['get /sources', 'get /sources/{sourceId}'],
      'Sources.Edit': [
        'post /sources',
        'patch /sources/{sourceId}',
        'delete /sources/{sourceId}',
        'post /sources/{sourceId}/rotate-secret',
        'post /sources/{sourceId}/test',
      ],
      'Settings.View': ['get /settings/mail', 'get /settings/mail/health', 'get /deliveries', 'get /odata/Settings'],
      'Settings.Edit': ['put /settings/mail', 'delete /settings/mail/custom', 'post /settings/mail/test', `post /odata/Settings/${ODATA}.UpdateBulk`],
    };
    needs['Alerts.View']!.push(
      'post /alerts/{alertId}/acknowledge',
      'get /mutes',
      'post /mutes',
      'get /odata/Alerts',
      `post /odata/Alerts/${ODATA}.MarkAsRead`,
    );
    needs['Alerts.Edit'] = ['post /mutes', 'delete /mutes/{muteId}'];
    needs['Users.Edit']!.push(
      'get /users/{userId}/alert-preferences',
      'put /users/{userId}/alert-preferences',
      'patch /groups/{groupId}',
      'delete /groups/{groupId}',
    );
    needs['Settings.Edit']!.push(`post /odata/Settings/${ODATA}.VerifySmtpSetting`);
    const unnamed: string[] = [];
    for (const [needed, routes] of Object.entries(needs)) {
      for (const route of routes) {
        const [method, path] = route.split(' ') as [string, string];
        const full = path.startsWith('/api/') || path.startsWith('/odata/') ? path : `${tenant}${path}`;
        const description = String(doc.paths[full]?.[method]?.description ?? '');
        if (!description.toLowerCase().includes(needed.toLowerCase()))
          unnamed.push(`${method} ${full}: ${needed} (${description.slice(0, 80) || 'no description'})`);
      }
    }
    expect(unnamed.join('\n')).toBe('');
  });

  it("bounds the OData lists' $top and $skip in their parameters as the server does ($top of alerts at most 1,000)", async () => {
    const failures: string[] = [];
    const cases: [string, string, number][] = [
      ['/odata/Alerts', '$top', 1000],
      ['/odata/Alerts', '$skip', 10_000_000],
      ['/odata/Settings', '$top', 10_000_000],
      ['/odata/Settings', '$skip', 10_000_000],
    ];
    for (const [path, name, max] of cases) {
      const parameter = (doc.paths[path].get.parameters as Json[]).find((p) => p.in === 'query' && p.name === name)!;
      const validate = ajv.compile({ ...parameter.schema, components: doc.components });
      // A client sends the value the schema describes: a number for an integer, else its digits.
      const takes = (value: number) => validate(parameter.schema.type === 'integer' || parameter.schema.type === 'number' ? value : String(value));
      for (const value of [0, max, max + 1]) {
        const res = await t.tocsin.app.inject({
          method: 'GET',
          url: `${path}?${name}=${value}`,
          headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'x-tocsin-tenant': TENANT },
        });
        const served = res.statusCode === 200;
        if (served !== takes(value))
          failures.push(`${path} ${name}=${value}: the server answers ${res.statusCode}, the document ${takes(value) ? 'takes' : 'refuses'} it`);
      }
    }
    expect(failures.join('\n')).toBe('');
  });

  it('documents the Location of a 201 in both forms the server writes: absolute under TOCSIN_PUBLIC_URL, else a path on this server', () => {
    // created-location.test.ts holds the server to them; a client that took every Location for an absolute URL failed on the path.
    const failures: string[] = [];
    for (const [path, item] of Object.entries<Json>(doc.paths)) {
      const header = item.post?.responses?.['201']?.headers?.Location;
      if (!header) continue;
      const validate = ajv.compile(header.schema);
      const sent = `${path.replace(/\{\w+\}/g, 'acme')}/1`;
      for (const value of [`https://tocsin.example.com${sent}`, sent]) if (!validate(value)) failures.push(`${path}: refuses ${value}`);
      if (header.schema.format !== 'uri-reference') failures.push(`${path}: format ${header.schema.format}`);
      if (!/TOCSIN_PUBLIC_URL/.test(header.description) || !/relative|a path/.test(header.description)) failures.push(`${path}: ${header.description}`);
    }
    expect(failures.join('\n')).toBe('');
  });

  it("takes in the OData lists' parameters every spelling of $count and $format the server reads", async () => {
    const failures: string[] = [];
    for (const path of ['/odata/Alerts', '/odata/Settings']) {
      for (const [name, value] of [
        ['$count', 'True'],
        ['$count', 'FALSE'],
        ['$format', 'JSON'],
        ['$format', 'Application/Json;odata.metadata=minimal'],
      ] as const) {
        const parameter = (doc.paths[path].get.parameters as Json[]).find((p) => p.in === 'query' && p.name === name)!;
        const res = await t.tocsin.app.inject({
          method: 'GET',
          url: `${path}?${name}=${encodeURIComponent(value)}`,
          headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'x-tocsin-tenant': TENANT },
        });
        expect(res.statusCode, `${path} ${name}=${value} ${res.body}`).toBe(200);
        if (!ajv.compile(parameter.schema)(value)) failures.push(`${path} ${name}=${value}: ${JSON.stringify(parameter.schema)}`);
      }
      // And still refuses what the server refuses.
      const count = (doc.paths[path].get.parameters as Json[]).find((p) => p.name === '$count')!;
      if (ajv.compile(count.schema)('yes')) failures.push(`${path} $count=yes taken`);
    }
    expect(failures.join('\n')).toBe('');
  });

  it('lists the conflicts and rate limits API.md names among the answers', () => {
    const tenant = '/api/v1/tenants/{tenant}';
    const expected: [string, string, string][] = [
      ['post', '/api/v1/tenants', '409'],
      ['patch', tenant, '409'],
      ['post', `${tenant}/users`, '409'],
      ['patch', `${tenant}/users/{userId}`, '409'],
      ['post', `${tenant}/groups`, '409'],
      ['patch', `${tenant}/groups/{groupId}`, '409'],
      ['post', `${tenant}/roles`, '409'],
      ['post', `${tenant}/settings/mail/test`, '429'],
      ['post', `/odata/Settings/${ODATA}.VerifySmtpSetting`, '429'],
    ];
    const missing = expected.filter(([method, path, status]) => !doc.paths[path]?.[method]?.responses?.[status]).map((row) => row.join(' '));
    expect(missing.join('\n')).toBe('');
  });

  it('answers the lists and objects with their optional parts filled as documented', async () => {
    const base = `/api/v1/tenants/${TENANT}`;
    const calls: [string, string, string][] = [
      ['GET', `${base}/alerts?limit=1`, '/api/v1/tenants/{tenant}/alerts'],
      ['GET', `${base}/alerts/panel`, '/api/v1/tenants/{tenant}/alerts/panel'],
      ['GET', `${base}/sources`, '/api/v1/tenants/{tenant}/sources'],
      ['GET', `${base}/settings/mail`, '/api/v1/tenants/{tenant}/settings/mail'],
      ['GET', `${base}/settings/mail/health`, '/api/v1/tenants/{tenant}/settings/mail/health'],
      ['GET', `${base}/deliveries?limit=1`, '/api/v1/tenants/{tenant}/deliveries'],
      ['GET', `${base}/mutes`, '/api/v1/tenants/{tenant}/mutes'],
      ['GET', `${base}/me`, '/api/v1/tenants/{tenant}/me'],
      ['GET', '/odata/Alerts', '/odata/Alerts'],
      ['GET', '/odata/Settings', '/odata/Settings'],
    ];
    const failures: string[] = [];
    for (const [method, url, path] of calls) {
      const res = await t.tocsin.app.inject({
        method: method as HTTPMethods,
        url,
        headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'x-tocsin-tenant': TENANT },
      });
      expect(res.statusCode, `${url} ${res.body}`).toBeLessThan(300);
      failures.push(...check(method, path, res));
    }
    expect(failures.join('\n')).toBe('');
  });

  // An outage is a connection cut between Tocsin and PostgreSQL; the document is the same on SQLite.
  it.runIf(dialect === 'postgres')(
    'documents the 503 a database outage answers: readiness its own JSON, every route that reads the database a problem',
    async () => {
      const proxy = await proxyFor(TEST_PG_URL!);
      const cut = await startTestApp('postgres', {}, {}, { reach: (url) => viaProxy(url, proxy) });
      const failures: string[] = [];
      try {
        await cut.call('POST', '/api/v1/tenants', { name: TENANT });
        // A user's token is looked up in the database, the host administrator's is not.
        const user = (await cut.call('POST', `/api/v1/tenants/${TENANT}/users`, { email: 'cut@documented.example.com', name: 'Cut' })).json<{ id: string }>();
        const { token } = (await cut.call('POST', `/api/v1/tenants/${TENANT}/users/${user.id}/tokens`, { name: 'cut' })).json<{ token: string }>();
        proxy.cut();
        const calls: [HTTPMethods, string, string, unknown, string][] = [
          ['GET', '/readyz', '/readyz', undefined, ''],
          ['GET', '/api/v1/tenants', '/api/v1/tenants', undefined, ADMIN_TOKEN],
          ['GET', `/api/v1/tenants/${TENANT}/alerts`, '/api/v1/tenants/{tenant}/alerts', undefined, token],
          [
            'POST',
            `/api/v1/tenants/${TENANT}/alerts`,
            '/api/v1/tenants/{tenant}/alerts',
            { severity: 'Error', component: 'Jobs', message: 'lost' },
            ADMIN_TOKEN,
          ],
        ];
        for (const [method, url, path, payload, bearer] of calls) {
          const res = await cut.call(method, url, payload, bearer);
          expect(res.statusCode, `${url} ${res.body}`).toBe(503);
          failures.push(...check(method, path, res));
        }
      } finally {
        proxy.restore();
        await cut.close();
        await proxy.close();
      }
      // Liveness and the metrics read no database: liveness never answers it; the metrics only when
      // the api processes' whole cannot be gathered (one frozen), a 503 documented as a problem.
      expect(doc.paths['/healthz'].get.responses['503']).toBeUndefined();
      expect(doc.paths['/metrics'].get.responses['503']).toEqual({ $ref: '#/components/responses/Problem503' });
      expect(failures.join('\n')).toBe('');
    },
  );

  it("answers the console's sign-in, the email pages and previews, and the mail catcher as documented", async () => {
    const { tenantId, userId, email } = await t.tenantWithUser(TENANT);
    const deps = t.tocsin.deps;
    const alert = (await t.call('GET', `/api/v1/tenants/${TENANT}/alerts?limit=1`)).json<{ items: { id: string }[] }>().items[0]!.id;
    const actions = new ActionLinks(deps.secretBox, deps.config.publicUrl, 3_600_000, deps.clock);
    const snooze = actions.urlsFor({ tenantId, userId, address: email, canMute: true }, { alertId: alert }).snooze!;
    const unsubscribe = await new UnsubscribeLinks(deps.storage.db, deps.config.publicUrl, deps.clock).url({
      tenantId,
      kind: 'daily',
      recipient: { type: 'user', id: userId, address: email },
    });
    // The catcher runs when no system SMTP server is set: one of its own for this app.
    const catcher = new MailCatcher();
    const port = await catcher.listen(0);
    const app = await buildApp({ ...deps, mailCatcher: catcher, metrics: new Metrics({ defaultMetrics: false }) }, ROUTE_MODULES);
    const failures: string[] = [];
    try {
      const test = await t.call('POST', `/api/v1/tenants/${TENANT}/settings/mail/test`, {
        sendTo: 'caught@example.com',
        settings: { host: '127.0.0.1', port, security: 'none', fromAddress: 'alerts@example.com' },
      });
      expect(test.json(), test.body).toMatchObject({ ok: true });
      const admin = { authorization: `Bearer ${ADMIN_TOKEN}` };
      const form = { 'content-type': 'application/x-www-form-urlencoded' };
      const calls: [HTTPMethods, string, string, Record<string, string>, string | object | undefined][] = [
        ['POST', '/api/v1/auth/login', '/api/v1/auth/login', {}, { adminToken: ADMIN_TOKEN }],
        ['GET', '/api/v1/auth/session', '/api/v1/auth/session', {}, undefined],
        ['GET', '/api/v1/system/mail-catcher/messages', '/api/v1/system/mail-catcher/messages', admin, undefined],
        ['GET', `/api/v1/tenants/${TENANT}/emails/preview?kind=daily`, '/api/v1/tenants/{tenant}/emails/preview', admin, undefined],
        ['GET', `/api/v1/tenants/${TENANT}/emails/preview?format=html`, '/api/v1/tenants/{tenant}/emails/preview', admin, undefined],
        ['GET', new URL(snooze).pathname, '/actions/{token}', {}, undefined],
        ['POST', new URL(snooze).pathname, '/actions/{token}', form, 'for=1h'],
        ['GET', new URL(unsubscribe).pathname, '/unsubscribe/{token}', {}, undefined],
        ['POST', new URL(unsubscribe).pathname, '/unsubscribe/{token}', form, 'List-Unsubscribe=One-Click'],
        ['POST', `${new URL(unsubscribe).pathname}/resubscribe`, '/unsubscribe/{token}/resubscribe', form, ''],
      ];
      for (const [method, url, path, headers, payload] of calls) {
        const res = await app.inject({ method, url, headers, ...(payload === undefined ? {} : { payload }) });
        expect(res.statusCode, `${method} ${url} ${res.body.slice(0, 300)}`).toBe(200);
        failures.push(...check(method, path, res));
      }
      // A body past the 4 KiB the links' POSTs read is refused (413), as each of them documents.
      const links: [string, string][] = [
        [new URL(snooze).pathname, '/actions/{token}'],
        [new URL(unsubscribe).pathname, '/unsubscribe/{token}'],
        [`${new URL(unsubscribe).pathname}/resubscribe`, '/unsubscribe/{token}/resubscribe'],
      ];
      for (const [url, path] of links) {
        const res = await app.inject({ method: 'POST', url, headers: form, payload: `List-Unsubscribe=One-Click&x=${'x'.repeat(5000)}` });
        expect(res.statusCode, `POST ${url} ${res.body.slice(0, 300)}`).toBe(413);
        failures.push(...check('POST', path, res));
      }
    } finally {
      await app.close();
      await catcher.close();
    }
    expect(failures.join('\n')).toBe('');
  });

  it('documents the page a browser gets for a link from an email that does not work, beside the problem a script gets', async () => {
    const failures: string[] = [];
    const calls: [HTTPMethods, string, string][] = [
      ['GET', '/actions/tampered', '/actions/{token}'],
      ['POST', '/actions/tampered', '/actions/{token}'],
      ['GET', '/unsubscribe/tampered', '/unsubscribe/{token}'],
      ['POST', '/unsubscribe/tampered', '/unsubscribe/{token}'],
      ['POST', '/unsubscribe/tampered/resubscribe', '/unsubscribe/{token}/resubscribe'],
    ];
    for (const [method, url, path] of calls) {
      for (const accept of ['text/html,application/xhtml+xml', 'application/json']) {
        const res = await t.tocsin.app.inject({
          method,
          url,
          headers: { accept, 'content-type': 'application/x-www-form-urlencoded' },
          payload: method === 'POST' ? '' : undefined,
        });
        expect(res.statusCode, `${method} ${url} ${res.body.slice(0, 200)}`).toBe(404);
        failures.push(...check(method, path, res));
      }
    }
    expect(failures.join('\n')).toBe('');
  });

  it('documents the Retry-After header of every 429 and 503 problem it lists', () => {
    const missing: string[] = [];
    for (const [path, item] of Object.entries<Json>(doc.paths)) {
      for (const [method, operation] of Object.entries<Json>(item)) {
        for (const status of ['429', '503']) {
          let response = operation.responses?.[status];
          if (response?.$ref) response = doc.components.responses[response.$ref.split('/').pop()];
          // Readiness's 503 is its own JSON for probes, not a problem to retry.
          const problem = response?.content?.['application/problem+json'];
          if (problem && !response.headers?.['Retry-After']) missing.push(`${method} ${path} ${status}`);
        }
      }
    }
    expect(missing.join('\n')).toBe('');
  });

  it("documents the form the email links' POSTs read, every field optional", () => {
    const form = 'application/x-www-form-urlencoded';
    // The actions' POST reads a JSON body with the app's JSON parser, which refuses a charset it does not know (415).
    const expected: [string, string[], boolean][] = [
      ['/actions/{token}', ['what', 'for', 'until'], true],
      ['/unsubscribe/{token}', ['List-Unsubscribe'], false],
    ];
    const failures: string[] = [];
    for (const [path, fields, refusesJson] of expected) {
      const body = doc.paths[path].post.requestBody;
      const schema = body?.content?.[form]?.schema;
      if (!schema) failures.push(`${path}: no ${form} body (has ${Object.keys(body?.content ?? {}).join(', ') || 'none'})`);
      else if (Object.keys(schema.properties ?? {}).join() !== fields.join()) failures.push(`${path}: fields ${Object.keys(schema.properties ?? {})}`);
      // No field is needed: an empty POST snoozes for an hour, or unsubscribes, as the page's defaults are.
      if (body?.required !== false) failures.push(`${path}: body required`);
      // Any other content type is read as the form (or as no choice made): none is refused.
      if (Boolean(doc.paths[path].post.responses['415']) !== refusesJson) failures.push(`${path}: ${refusesJson ? 'lists no' : 'lists a'} 415`);
    }
    expect(failures.join('\n')).toBe('');
  });

  it("documents a source's receive URL as taking a body of any content type, which it never refuses with a 415", () => {
    // Senders label their JSON as they like (Alertmanager application/json, others text/plain or none): the receiver reads the raw bytes.
    const operation = doc.paths['/api/v1/sources/{sourceId}/receive'].post;
    expect(Object.keys(operation.requestBody.content)).toEqual(['*/*']);
    expect(operation.responses['415']).toBeUndefined();
  });

  it("documents the console's session cookie as the other way to call the API, as the server takes it", async () => {
    const login = await t.tocsin.app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { adminToken: ADMIN_TOKEN } });
    const cookie = login.cookies.find((c) => c.name === 'tocsin_session')!;
    const res = await t.tocsin.app.inject({ method: 'GET', url: `/api/v1/tenants/${TENANT}`, cookies: { [cookie.name]: cookie.value } });
    expect(res.statusCode, res.body).toBe(200);
    const schemes = Object.entries<Json>(doc.components.securitySchemes ?? {});
    const session = schemes.find(([, scheme]) => scheme.type === 'apiKey' && scheme.in === 'cookie' && scheme.name === cookie.name);
    expect(session, JSON.stringify(doc.components.securitySchemes)).toBeDefined();
    // Either credential will do: two alternatives of the document's security, not one of both.
    expect(doc.security).toEqual(expect.arrayContaining([{ bearer: [] }, { [session![0]]: [] }]));
  });

  it('declares the media type of the Prometheus text that /metrics answers', async () => {
    const res = await t.call('GET', '/metrics', undefined, '');
    expect(res.statusCode).toBe(200);
    const type = String(res.headers['content-type']).split(';')[0]!;
    expect(Object.keys(doc.paths['/metrics'].get.responses['200'].content ?? {})).toEqual([type]);
    expect(res.body).toMatch(/^# HELP /m);
  });

  it("lists the headers that name an Orchestrator route's tenant among its parameters", () => {
    const missing: string[] = [];
    for (const [path, item] of Object.entries<Json>(doc.paths)) {
      if (!path.startsWith('/odata/')) continue;
      for (const [method, operation] of Object.entries<Json>(item)) {
        const headers = (operation.parameters ?? []).filter((p: Json) => p.in === 'header').map((p: Json) => p.name.toLowerCase());
        for (const name of ['x-tocsin-tenant', 'x-uipath-tenantname']) if (!headers.includes(name)) missing.push(`${method} ${path}: ${name}`);
      }
    }
    expect(missing.join('\n')).toBe('');
  });

  it('documents the 404 of an Orchestrator route whose X-Tocsin-Tenant names no tenant', async () => {
    const failures: string[] = [];
    const calls: [HTTPMethods, string, unknown][] = [
      ['GET', '/odata/Alerts', undefined],
      ['GET', `/odata/Alerts/${ODATA}.GetUnreadCount()`, undefined],
      ['POST', `/odata/Alerts/${ODATA}.RaiseProcessAlert`, { processAlert: { Message: 'm', Severity: 'Error', ProcessName: 'p', RobotName: 'r' } }],
      ['GET', '/odata/Settings', undefined],
    ];
    for (const [method, url, payload] of calls) {
      const res = await t.tocsin.app.inject({
        method,
        url,
        headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'x-tocsin-tenant': 'no-such-tenant' },
        ...(payload === undefined ? {} : { payload: payload as object }),
      });
      expect(res.statusCode, `${url} ${res.body}`).toBe(404);
      failures.push(...check(method, url, res));
    }
    expect(failures.join('\n')).toBe('');
  });

  it("answers Orchestrator's routes, to a script signed in with Authenticate, as documented", async () => {
    const user = await t.call('POST', `/api/v1/tenants/${TENANT}/users`, {
      email: 'script@documented.example.com',
      name: 'Script',
      password: 'a long script password',
      roles: ['Administrator'],
    });
    expect(user.statusCode, user.body).toBe(201);
    const payload = { tenancyName: TENANT, usernameOrEmailAddress: 'script@documented.example.com', password: 'a long script password' };
    const login = await t.tocsin.app.inject({ method: 'POST', url: '/api/Account/Authenticate', payload });
    const failures = check('POST', '/api/Account/Authenticate', login);
    const token = login.json<{ result: string }>().result;
    const alert = (await t.call('GET', `/api/v1/tenants/${TENANT}/alerts?limit=1`)).json<{ items: { id: string }[] }>().items[0]!.id;
    const calls: [HTTPMethods, string, unknown][] = [
      ['GET', '/odata/Alerts?$count=true', undefined],
      ['GET', '/odata/Alerts?$select=Id,State', undefined],
      ['GET', `/odata/Alerts/${ODATA}.GetUnreadCount()`, undefined],
      ['POST', `/odata/Alerts/${ODATA}.MarkAsRead`, { ids: [alert] }],
      ['GET', '/odata/Settings', undefined],
      ['GET', `/api/v1/tenants/${TENANT}/me`, undefined],
    ];
    for (const [method, url, body] of calls) {
      const res = await t.call(method, url, body, token);
      expect(res.statusCode, `${url} ${res.body}`).toBe(200);
      failures.push(...check(method, url.split('?')[0]!.replace(`/${TENANT}/`, '/{tenant}/'), res));
    }
    expect(failures.join('\n')).toBe('');
  });
});
