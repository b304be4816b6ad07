import { DomUtils, parseDocument } from 'htmlparser2';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ADMIN_TOKEN, type TestApp, startTestApp } from '../../../test/support/http.js';
import { describeEachDialect } from '../../../test/support/storage.js';
import { OPENAPI_PATH } from '../../http/openapi.js';

type XmlElement = ReturnType<typeof DomUtils.findAll>[number];

const ODATA = 'UiPath.Server.Configuration.OData';
const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Csdl reads an OData CSDL document (EDMX XML) as a client does: its types by qualified name. */
class Csdl {
  readonly root: XmlElement;
  readonly #types = new Map<string, XmlElement>();

  constructor(xml: string) {
    const elements = DomUtils.findAll(() => true, parseDocument(xml, { xmlMode: true }).children);
    this.root = elements[0]!;
    for (const schema of elements.filter((e) => e.name === 'Schema')) {
      for (const type of schema.children.filter((c): c is XmlElement => DomUtils.isTag(c) && /Type$/.test(c.name))) {
        this.#types.set(`${schema.attribs.Namespace}.${type.attribs.Name}`, type);
      }
    }
  }

  all(name: string): XmlElement[] {
    return DomUtils.findAll((e) => e.name === name, [this.root]);
  }

  type(name: string): XmlElement | undefined {
    return this.#types.get(name.replace(/^Collection\((.*)\)$/, '$1'));
  }

  /** properties are a structured type's properties by name: their Type and Nullable. */
  properties(typeName: string): Map<string, { type: string; nullable: boolean }> {
    const type = this.type(typeName);
    const children = type ? type.children.filter((c): c is XmlElement => DomUtils.isTag(c) && c.name === 'Property') : [];
    return new Map(children.map((p) => [p.attribs.Name!, { type: p.attribs.Type!, nullable: p.attribs.Nullable !== 'false' }]));
  }

  /** entityTypeOf is the qualified EntityType of an EntitySet of the container. */
  entityTypeOf(entitySet: string): string | undefined {
    return this.all('EntitySet').find((e) => e.attribs.Name === entitySet)?.attribs.EntityType;
  }

  /** operation is a bound function or action by name: its binding type, parameters (after the binding one) and return type. */
  operation(kind: 'Function' | 'Action', name: string) {
    const element = this.all(kind).find((e) => e.attribs.Name === name);
    if (!element) return undefined;
    const parameters = DomUtils.findAll((e) => e.name === 'Parameter', [element]).map((p) => ({ name: p.attribs.Name!, type: p.attribs.Type! }));
    const returns = DomUtils.findOne((e) => e.name === 'ReturnType', [element]);
    return { bound: element.attribs.IsBound === 'true', binding: parameters[0]?.type, parameters: parameters.slice(1), returns: returns?.attribs.Type };
  }

  /** undeclared are the qualified type names the document uses that it declares nowhere. */
  undeclared(): string[] {
    const used = this.all('Property')
      .concat(this.all('Parameter'), this.all('ReturnType'))
      .map((e) => e.attribs.Type!)
      .concat(this.all('EntitySet').map((e) => e.attribs.EntityType!));
    return used.filter((name) => !/^(Collection\()?Edm\./.test(name) && !this.type(name));
  }

  /** fits is whether a value of an answer is one of the declared Edm type (an enum's member, a Guid, a date-time...). */
  fits(typeName: string, value: unknown): boolean {
    const type = this.type(typeName);
    if (type?.name === 'EnumType') return DomUtils.findAll((e) => e.name === 'Member', [type]).some((m) => m.attribs.Name === value);
    if (typeName === 'Edm.Guid') return typeof value === 'string' && GUID.test(value);
    if (typeName === 'Edm.DateTimeOffset') return typeof value === 'string' && !Number.isNaN(Date.parse(value));
    if (typeName === 'Edm.String') return typeof value === 'string';
    return false;
  }
}

/**
 * OData clients that read the service first (Power Query's OData.Feed, Simple.OData.Client,
 * Microsoft.OData.Client) load `$metadata` and the service document, then check each answer
 * against the types declared there.
 */
describeEachDialect('OData $metadata and service document', (dialect) => {
  let t: TestApp;
  let publicUrl: string;

  beforeAll(async () => {
    t = await startTestApp(dialect);
    publicUrl = t.tocsin.deps.config.publicUrl;
    await t.call('POST', '/api/v1/tenants', { name: 'described' });
    const raised = await t.call('POST', '/api/v1/tenants/described/alerts', {
      alerts: [
        { severity: 'Fatal', component: 'Robots', message: 'down', data: { a: 1 }, source: { robot: 'R1' } },
        { severity: 'Warn', component: 'Jobs', message: 'slow' },
      ],
    });
    expect(raised.statusCode, raised.body).toBe(202);
    await t.call('POST', `/api/v1/tenants/described/alerts/${raised.json<{ ids: string[] }>().ids[0]}/acknowledge`);
  });
  afterAll(() => t.close());

  const asTenant = (url: string) =>
    t.tocsin.app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'x-tocsin-tenant': 'described' } });

  it('serves $metadata without a token as OData 4 CSDL declaring every property of the Alerts and Settings answers, which name it in @odata.context', async () => {
    const res = await t.call('GET', '/odata/$metadata', undefined, '');
    expect(res.statusCode, res.body).toBe(200);
    expect(res.headers['content-type']).toMatch(/^application\/xml\b/);
    expect(res.headers['odata-version']).toBe('4.0');
    const csdl = new Csdl(res.body);
    expect(csdl.root.name).toBe('edmx:Edmx');
    expect(csdl.root.attribs.Version).toBe('4.0');
    expect(csdl.root.attribs['xmlns:edmx']).toBe('http://docs.oasis-open.org/odata/ns/edmx');
    expect(csdl.undeclared()).toEqual([]);
    // Asked in another case, as Orchestrator's paths are.
    expect((await t.call('GET', '/OData/$Metadata', undefined, '')).body).toBe(res.body);

    for (const [set, type, key] of [
      ['Alerts', `${ODATA}.AlertDto`, 'Id'],
      ['Settings', `${ODATA}.SettingsDto`, 'Id'],
    ] as const) {
      expect(csdl.entityTypeOf(set), set).toBe(type);
      expect(DomUtils.findOne((e) => e.name === 'PropertyRef', [csdl.type(type)!])?.attribs.Name, set).toBe(key);
      const answer = await asTenant(`/odata/${set}`);
      expect(answer.statusCode, answer.body).toBe(200);
      const { '@odata.context': context, value } = answer.json<{ '@odata.context': string; value: Record<string, unknown>[] }>();
      expect(context).toBe(`${publicUrl}/odata/$metadata#${set}`);
      // The context names this very document.
      expect((await t.call('GET', new URL(context).pathname, undefined, '')).body).toBe(res.body);
      const declared = csdl.properties(type);
      const wrong: string[] = [];
      for (const item of value) {
        for (const [name, v] of Object.entries(item)) {
          const property = declared.get(name);
          if (!property) wrong.push(`${set}: ${name} is not declared`);
          else if (v === null ? !property.nullable : !csdl.fits(property.type, v)) wrong.push(`${set}: ${name} ${JSON.stringify(v)} is no ${property.type}`);
        }
      }
      expect(value.length, set).toBeGreaterThan(1);
      expect(wrong).toEqual([]);
      expect([...declared.keys()].sort(), set).toEqual(Object.keys(value[0]!).sort());
    }
    expect(csdl.properties(`${ODATA}.AlertDto`).get('CreationTime')?.type).toBe('Edm.DateTimeOffset');
    expect(csdl.properties(`${ODATA}.AlertDto`).get('Id')?.type).toBe('Edm.Guid');
  });

  it("declares the subset's bound function and actions with the parameters API.md gives them", async () => {
    const csdl = new Csdl((await t.call('GET', '/odata/$metadata', undefined, '')).body);
    const alerts = `Collection(${ODATA}.AlertDto)`;
    const settings = `Collection(${ODATA}.SettingsDto)`;
    // Each in the namespace the paths call it by (`Alerts/UiPath.Server.Configuration.OData.MarkAsRead`).
    const namespaces = csdl.all('Schema').filter((s) => DomUtils.findOne((e) => e.name === 'Action', [s]));
    expect(namespaces.map((s) => s.attribs.Namespace)).toEqual([ODATA]);
    expect(csdl.operation('Function', 'GetUnreadCount')).toEqual({ bound: true, binding: alerts, parameters: [], returns: 'Edm.Int64' });
    expect(csdl.operation('Action', 'MarkAsRead')).toEqual({
      bound: true,
      binding: alerts,
      parameters: [{ name: 'ids', type: 'Collection(Edm.Guid)' }],
      returns: 'Edm.Int64',
    });
    const raise = csdl.operation('Action', 'RaiseProcessAlert')!;
    expect(raise).toMatchObject({ bound: true, binding: alerts, parameters: [{ name: 'processAlert' }], returns: undefined });
    const processAlert = csdl.properties(raise.parameters[0]!.type);
    expect([...processAlert.keys()]).toEqual(['Message', 'Severity', 'ProcessName', 'RobotName']);
    expect([...processAlert.values()].every((p) => !p.nullable)).toBe(true);
    const bulk = csdl.operation('Action', 'UpdateBulk')!;
    expect(bulk).toEqual({ bound: true, binding: settings, parameters: [{ name: 'settings', type: settings }], returns: undefined });
    const verify = csdl.operation('Action', 'VerifySmtpSetting')!;
    expect(verify).toMatchObject({ bound: true, binding: settings, parameters: [{ name: 'sendTo', type: 'Edm.String' }, { name: 'smtpSettingModel' }] });
    expect([...csdl.properties(verify.parameters[1]!.type).keys()]).toEqual([
      'Host',
      'Port',
      'UserName',
      'Password',
      'Domain',
      'EnableSsl',
      'UseDefaultCredentials',
      'DefaultFromAddress',
      'DefaultFromDisplayName',
    ]);
    expect(csdl.all('EntityContainer').map((c) => c.attribs.Name)).toHaveLength(1);
  });

  it('serves the service document at /odata and /odata/, listing Alerts and Settings, its context the $metadata', async () => {
    for (const url of ['/odata', '/odata/', '/OData/']) {
      const res = await t.call('GET', url, undefined, '');
      expect(res.statusCode, `${url} ${res.body}`).toBe(200);
      expect(res.headers['odata-version'], url).toBe('4.0');
      expect(res.json(), url).toEqual({
        '@odata.context': `${publicUrl}/odata/$metadata`,
        value: [
          { name: 'Alerts', kind: 'EntitySet', url: 'Alerts' },
          { name: 'Settings', kind: 'EntitySet', url: 'Settings' },
        ],
      });
    }
  });

  it('says OData-Version 4.0 on every answer of an /odata path, an error included, as the $metadata it names declares', async () => {
    // Clients that read the version from the answer (Power Query, Microsoft.OData.Client) found it only on $metadata.
    const answers = [
      await asTenant('/odata/Alerts'),
      await asTenant('/odata/Alerts/UiPath.Server.Configuration.OData.GetUnreadCount()'),
      await asTenant('/odata/Settings'),
      await asTenant('/odata/Alerts?$top=nope'),
      await t.call('GET', '/odata/Alerts', undefined, ''),
    ];
    expect(answers.map((res) => res.statusCode)).toEqual([200, 200, 200, 400, 401]);
    expect(answers.map((res) => res.headers['odata-version'])).toEqual(['4.0', '4.0', '4.0', '4.0', '4.0']);
    expect((await t.call('GET', '/api/v1/tenants/described/alerts')).headers['odata-version']).toBeUndefined();
  });

  it('documents $metadata and the service document in the OpenAPI document, public', async () => {
    const doc = (await t.call('GET', OPENAPI_PATH, undefined, '')).json<Record<string, any>>();
    expect(Object.keys(doc.paths['/odata/$metadata'].get.responses['200'].content)).toEqual(['application/xml']);
    expect(doc.paths['/odata/$metadata'].get.security).toEqual([]);
    expect(doc.paths['/odata/'].get.responses['200'].content['application/json'].schema.properties).toHaveProperty('value');
  });
});
