import fastifySwagger, { type SwaggerTransform } from '@fastify/swagger';
import { jsonSchemaTransform, jsonSchemaTransformObject } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { CSRF_HEADER, SESSION_COOKIE } from './access-hook.js';
import type { RouteAccess, TocsinApp } from './context.js';
import { ORCHESTRATOR_TENANT_HEADER, UIPATH_TENANT_HEADER } from './orchestrator-paths.js';
import { problemTypeFor } from './problem.js';

/** OPENAPI_PATH is where the OpenAPI document of the HTTP API is served. */
export const OPENAPI_PATH = '/api/openapi.json';

/** listOf is the schema of a list answer, `{items: [item]}`. */
export const listOf = (item: z.ZodType) => z.object({ items: z.array(item) });

/** PROBLEM_MEDIA_TYPE is the content type of every error answer (RFC 9457). */
export const PROBLEM_MEDIA_TYPE = 'application/problem+json';
/** MERGE_PATCH_MEDIA_TYPE is JSON Merge Patch (RFC 7396): read as JSON, as a PATCH's body is one. */
const MERGE_PATCH_MEDIA_TYPE = 'application/merge-patch+json';

/** PROBLEM_SCHEMA is the JSON schema of a problem document, as `src/http/problem.ts` builds it. */
const PROBLEM_SCHEMA = {
  type: 'object',
  required: ['type', 'title', 'status', 'detail'],
  properties: {
    type: { type: 'string', format: 'uri', example: problemTypeFor(400) },
    title: { type: 'string', example: 'Bad Request' },
    status: { type: 'integer', minimum: 400, maximum: 599 },
    detail: { type: 'string', example: 'name: must be 1 to 63 lower-case letters, digits or hyphens' },
    errors: {
      type: 'array',
      description: 'Present on 400: one entry per invalid field; `path` is dotted (`custom.port`); a query parameter is named bare (`limit`).',
      items: {
        type: 'object',
        required: ['path', 'message'],
        properties: { path: { type: 'string' }, message: { type: 'string' } },
      },
    },
    message: { type: 'string', description: 'On the Orchestrator-compatible routes only: `detail` again, where Orchestrator clients read it.' },
    errorCode: { type: 'integer', description: 'On the Orchestrator-compatible routes only: the status again, as Orchestrator names its error codes.' },
    traceId: { type: 'string', description: "On the Orchestrator-compatible routes only: the request's id, as Tocsin's log lines carry it." },
  },
} as const;

const ERROR_DESCRIPTIONS: Record<string, string> = {
  '400': 'Invalid input; `errors` names each invalid field.',
  '401': "No bearer token or session, or one that matches nothing; `WWW-Authenticate: Bearer` (a source's receive URL names how its kind authenticates).",
  '403': 'The caller lacks the permission the route needs (named in `detail`).',
  '404': 'Not found, also for any object of another tenant.',
  '409': 'Conflict, e.g. a name or address already taken.',
  '413': 'The request body is too large.',
  '415':
    'The content type of the body is not supported. Send JSON as application/json (text/json and any application/*+json are read as it is, a charset included); with a bearer token it may also come labelled text/plain or application/x-www-form-urlencoded, or unlabelled (a 400 when it is not JSON), never with the session cookie.',
  '429': 'Rate limited; `Retry-After` says how many seconds to wait.',
  '503': 'The service cannot answer now (its database is unreachable); `Retry-After` says how many seconds to wait before trying again.',
};

/** FORM_MEDIA_TYPE is the body of an HTML form's POST (the email links' pages). */
const FORM_MEDIA_TYPE = 'application/x-www-form-urlencoded';

/** RETRY_AFTER is the header of every 429 and 503 (tooManyRequests, serviceUnavailable), as a JSON schema. */
const RETRY_AFTER = { type: 'integer', minimum: 1, description: 'How many seconds to wait before trying again.' } as const;

/** REFUSAL_PAGE says what a browser gets for a refusal of a link's route (`config.refusalPages`). */
const REFUSAL_PAGE = 'A browser (Accept: text/html) gets a page saying so in its language, with the same status.';

/** RETRIED are the statuses that carry RETRY_AFTER. */
const RETRIED = new Set(['429', '503']);

/**
 * documentRoute turns a route's zod schemas into OpenAPI, marks public routes as needing no
 * credentials (so scripts see which routes take a bearer token) and adds the error statuses the
 * route declares in `config.problems` and the 503 of a database outage (unless `config.database`
 * is false), and its answers of `config.answer` and `config.status` (an HTML page for
 * `config.page`), and of `config.otherAnswers`.
 */
const documentRoute: SwaggerTransform = (input) => {
  const config = input.route.config ?? {};
  const answers = { ...(config.answer ? { [config.status ?? 200]: config.answer } : {}), ...config.otherAnswers };
  const answer = Object.keys(answers).length > 0 ? { response: { ...answers, ...(input.schema?.response as object) } } : {};
  const form = config.form ? { body: config.form, consumes: [FORM_MEDIA_TYPE, 'multipart/form-data'] } : {};
  const params = config.documentedAs ? { params: config.documentedAs.params } : {};
  const result = jsonSchemaTransform({ ...input, schema: { ...input.schema, ...answer, ...form, ...params } });
  const response = (result.schema?.response ?? {}) as Record<string, unknown>;
  const problems = new Set([...(config.problems ?? []), ...(config.refusalPages ?? []), ...(config.database === false ? [] : [503])].map(String));
  const pages = new Set((config.refusalPages ?? []).map(String));
  const declared = Object.fromEntries(
    [...problems]
      // An answer the route documents itself (readiness's 503) is not a problem.
      .filter((status) => !response[status])
      .map((status) => [
        status,
        {
          description: pages.has(status) ? `${ERROR_DESCRIPTIONS[status] ?? 'Error.'} ${REFUSAL_PAGE}` : (ERROR_DESCRIPTIONS[status] ?? 'Error.'),
          ...(RETRIED.has(status) ? { headers: { 'Retry-After': RETRY_AFTER } } : {}),
          content: { [PROBLEM_MEDIA_TYPE]: { schema: PROBLEM_SCHEMA }, ...(pages.has(status) ? { 'text/html': { schema: { type: 'string' } } } : {}) },
        },
      ]),
  );
  // Without a 2xx of its own, @fastify/swagger would write a 200 (or none once problems are added).
  const success = Object.keys(response).some((status) => status.startsWith('2'))
    ? {}
    : { [String(config.status ?? 200)]: { type: 'null', description: config.status === 204 ? 'No content.' : 'Default Response' } };
  const note = accessNote(config);
  const description = [(result.schema as Json | undefined)?.description, note].filter(Boolean).join('\n\n');
  const schema = {
    ...result.schema,
    ...(description ? { description } : {}),
    ...(config.access === 'public' ? { security: [] } : {}),
    response: { ...withPage(config, withNoStore(config, { ...success, ...withLocation(config.created, response) })), ...declared },
  };
  // Its parentheses percent-encoded, which @fastify/swagger would read as a regular expression; withLiteralParentheses restores them.
  const url = config.documentedAs?.url.replaceAll('(', '%28').replaceAll(')', '%29');
  return { ...result, schema, ...(url ? { url } : {}) };
};

/**
 * accessNote says who may call a route, as API.md's tables do: only the host administrator, or a
 * holder of the permission the access hook checks (one of them, for a list). A route that lets a
 * user act on itself without the permission (selfOrBeforeBody) says so in its own description.
 */
function accessNote(config: RouteAccess): string | undefined {
  if (config.access === 'host') return 'Only the host administrator may call it.';
  const permissions = config.permission === undefined ? [] : [config.permission].flat();
  return permissions.length > 0 ? `Needs the ${permissions.join(' or ')} permission.` : undefined;
}

/** withPage adds the HTML page a route answers (`config.page`) to its success answer, beside the JSON one if any. */
function withPage(config: RouteAccess, response: Record<string, unknown>): Record<string, unknown> {
  if (!config.page) return response;
  const status = String(config.status ?? 200);
  const answer = response[status] as Json | undefined;
  const html = { 'text/html': { schema: { type: 'string', description: config.page } } };
  // Without a JSON answer (only the placeholder documentRoute writes), the page is the answer.
  if (!answer || answer.type === 'null') return { ...response, [status]: { description: config.page, content: html } };
  return { ...response, [status]: { description: answer.description ?? 'Default Response', content: { 'application/json': { schema: answer }, ...html } } };
}

type Json = Record<string, any>;

/** withLocation documents the Location header of a route's 201 when the route declares `created` (replyCreated sends it). */
function withLocation(created: true | undefined, response: Record<string, unknown>): Record<string, unknown> {
  if (!created || !response['201']) return response;
  // Relative without TOCSIN_PUBLIC_URL (locationOf): a client taking it for an absolute URL failed on the path.
  const location = {
    type: 'string',
    format: 'uri-reference',
    description:
      'The address of the new object, this path and its id: absolute under TOCSIN_PUBLIC_URL when that is set, else a path on this server (relative to the request URL).',
  };
  return { ...response, '201': { ...(response['201'] as Json), headers: { Location: location } } };
}

/** withNoStore documents the Cache-Control of the success answer of a route that hands out a credential (`config.secret`). */
function withNoStore(config: RouteAccess, response: Record<string, unknown>): Record<string, unknown> {
  // Its success status: config.status, or the 2xx of a response schema (POST /sources' 201).
  const status = Object.keys(response).find((code) => code.startsWith('2'));
  const answer = status === undefined ? undefined : (response[status] as Json);
  if (!config.secret || status === undefined || !answer) return response;
  const cacheControl = { type: 'string', enum: ['no-store'], description: 'The answer carries a credential shown only here: no cache may keep it.' };
  return { ...response, [status]: { ...answer, headers: { ...(answer.headers as Json | undefined), 'Cache-Control': cacheControl } } };
}

/**
 * withProblemResponses adds the problem+json error answers to every operation of an OpenAPI
 * document: 400 everywhere, 401/403 unless the route is public, 404 when the path has parameters
 * or is Orchestrator's (its tenant named by a header),
 * 413 when it takes a body or its method carries one, 415 when that is JSON. Answers a route documents itself are kept.
 */
function withProblemResponses(doc: Json): Json {
  return {
    ...mapOperations(doc, (path, operation, method) =>
      typeof operation === 'object' && operation?.responses ? withErrors(path, operation, method) : operation,
    ),
    components: {
      ...doc.components,
      schemas: { ...doc.components?.schemas, Problem: PROBLEM_SCHEMA },
      responses: {
        ...doc.components?.responses,
        ...Object.fromEntries(
          Object.entries(ERROR_DESCRIPTIONS).map(([status, description]) => [
            `Problem${status}`,
            {
              description,
              // An OpenAPI header object here: @fastify/swagger writes the routes' own from RETRY_AFTER.
              ...(RETRIED.has(status) ? { headers: { 'Retry-After': { description: RETRY_AFTER.description, schema: { type: 'integer', minimum: 1 } } } } : {}),
              content: { [PROBLEM_MEDIA_TYPE]: { schema: { $ref: '#/components/schemas/Problem' } } },
            },
          ]),
        ),
      },
    },
  };
}

/** TENANT_HEADERS name the tenant of an Orchestrator route for the host administrator (orchestratorTenant). */
const TENANT_HEADERS = [
  {
    in: 'header',
    name: ORCHESTRATOR_TENANT_HEADER,
    required: false,
    schema: { type: 'string', maxLength: 200 },
    description: "The tenant's name or id. Required of the host administrator; a user's token is its own tenant's, and another one named here is a 404.",
  },
  {
    in: 'header',
    name: UIPATH_TENANT_HEADER,
    required: false,
    schema: { type: 'string', maxLength: 200 },
    description: `Orchestrator's own, as its cloud clients send it: read when ${ORCHESTRATOR_TENANT_HEADER} is left out.`,
  },
];

/**
 * withTenantHeaders lists the headers that name the tenant among the parameters of the
 * Orchestrator routes (`/odata/…`), which have no `{tenant}` in their path: without them a client
 * generated from the document had no parameter for them, and the host administrator's calls were a 400.
 */
function withTenantHeaders(doc: Json): Json {
  return mapOperations(doc, (path, operation) =>
    path.startsWith('/odata/') ? { ...operation, parameters: [...(operation.parameters ?? []), ...TENANT_HEADERS] } : operation,
  );
}

/**
 * withOptionalBodies marks as optional the request body of a route whose body schema takes null
 * (`POST /settings/mail/test`: no body is every default), or a form (`config.form`, whose fields
 * are all optional): @fastify/swagger marks every body required.
 */
function withOptionalBodies(doc: Json): Json {
  return mapOperations(doc, (_path, operation) => {
    const body = operation?.requestBody;
    const optional = body?.content?.['application/json']?.schema?.nullable === true || body?.content?.[FORM_MEDIA_TYPE] !== undefined;
    return optional ? { ...operation, requestBody: { ...body, required: false } } : operation;
  });
}

/**
 * withMergePatch lists application/merge-patch+json (RFC 7396, what API.md's PATCH is) beside
 * application/json as a type a PATCH body may be sent as (jsonBodyParser reads both alike).
 */
function withMergePatch(doc: Json): Json {
  return mapOperations(doc, (_path, operation, method) => {
    const json = method === 'patch' ? operation?.requestBody?.content?.['application/json'] : undefined;
    if (!json) return operation;
    return { ...operation, requestBody: { ...operation.requestBody, content: { ...operation.requestBody.content, [MERGE_PATCH_MEDIA_TYPE]: json } } };
  });
}

/** NO_NUL is the pattern of a text without a NUL character: the server refuses one in any path, query or body (refuseNul). */
const NO_NUL = '^[^\\u0000]*$';

/**
 * withNulRefused adds NO_NUL to every text of the requests (parameters and JSON bodies) that the
 * document would otherwise take with a NUL in it: a client or a test generating texts from the
 * document (NUL is among the first they try) sent them as valid, and the server answered 400.
 */
function withNulRefused(doc: Json): Json {
  const refuse = (node: unknown): any => {
    if (Array.isArray(node)) return node.map(refuse);
    if (typeof node !== 'object' || node === null) return node;
    const result: Json = Object.fromEntries(Object.entries(node).map(([key, value]) => [key, key === 'enum' || key === 'example' ? value : refuse(value)]));
    if (result.type !== 'string' || Array.isArray(result.enum)) return result;
    if (result.pattern === undefined) return { ...result, pattern: NO_NUL };
    return new RegExp(result.pattern, 'u').test('a\u0000b') ? { ...result, allOf: [...(result.allOf ?? []), { pattern: NO_NUL }] } : result;
  };
  return mapOperations(doc, (_path, operation) => {
    const parameters = operation.parameters?.map((parameter: Json) =>
      parameter.in === 'header' ? parameter : { ...parameter, schema: refuse(parameter.schema) },
    );
    const content = operation.requestBody?.content;
    const json = content
      ? Object.fromEntries(
          Object.entries<Json>(content).map(([type, media]) => [type, /json$/.test(type) ? { ...media, schema: refuse(media.schema) } : media]),
        )
      : undefined;
    return {
      ...operation,
      ...(parameters ? { parameters } : {}),
      ...(json ? { requestBody: { ...operation.requestBody, content: json } } : {}),
    };
  });
}

/** mapOperations is `doc` with each operation of each path replaced by what `map` makes of it. */
function mapOperations(doc: Json, map: (path: string, operation: Json, method: string) => Json): Json {
  const paths: Json = {};
  for (const [path, item] of Object.entries<Json>(doc.paths ?? {})) {
    paths[path] = Object.fromEntries(Object.entries<Json>(item).map(([method, operation]) => [method, map(path, operation, method)]));
  }
  return { ...doc, paths };
}

/**
 * withNullInEnums lists null among the values of every nullable enum (`language: null` clears a
 * user's language): OpenAPI 3.0.3 says an enum holds all allowed values, nullable or not, so
 * validators and generated clients refused the null the server takes.
 */
function withNullInEnums(node: unknown): any {
  if (Array.isArray(node)) return node.map(withNullInEnums);
  if (typeof node !== 'object' || node === null) return node;
  const result: Json = Object.fromEntries(Object.entries(node).map(([key, value]) => [key, withNullInEnums(value)]));
  if (result.nullable === true && Array.isArray(result.enum) && !result.enum.includes(null)) result.enum = [...result.enum, null];
  return result;
}

/**
 * withNullableBranches moves the `nullable` of a union (`anyOf` without a `type`) into its
 * branches: OpenAPI 3.0.3 reads nullable only beside a type, so validators refused the schema (or
 * the null the server takes, `organizationUnitId: null`).
 */
function withNullableBranches(node: unknown): any {
  if (Array.isArray(node)) return node.map(withNullableBranches);
  if (typeof node !== 'object' || node === null) return node;
  const { nullable, ...rest }: Json = Object.fromEntries(Object.entries(node).map(([key, value]) => [key, withNullableBranches(value)]));
  if (nullable !== true || rest.type !== undefined || !Array.isArray(rest.anyOf)) return nullable === undefined ? rest : { ...rest, nullable };
  return { ...rest, anyOf: rest.anyOf.map((branch: Json) => (branch.$ref ? { allOf: [branch], nullable: true } : { ...branch, nullable: true })) };
}

/**
 * withLiteralParentheses restores the `()` of paths like Orchestrator's
 * `.../OData.GetUnreadCount()`: the router matches them literally, but @fastify/swagger reads them
 * as a regular expression and writes `{regexp1}`, a path parameter that does not exist; and those
 * of a route's `documentedAs` path (`Settings('{key}')`), which documentRoute gives percent-encoded.
 */
function withLiteralParentheses(doc: Json): Json {
  const paths: Json = {};
  for (const [path, item] of Object.entries<Json>(doc.paths ?? {})) {
    if (!/\{regexp\d+\}/.test(path)) {
      // A route's documentedAs path, given with its parentheses percent-encoded (documentRoute).
      paths[path.replaceAll('%28', '(').replaceAll('%29', ')')] = item;
      continue;
    }
    const nextItem: Json = {};
    for (const [method, operation] of Object.entries<Json>(item)) {
      nextItem[method] = Array.isArray(operation?.parameters)
        ? { ...operation, parameters: operation.parameters.filter((p: Json) => !(p.in === 'path' && /^regexp\d+$/.test(p.name))) }
        : operation;
    }
    paths[path.replace(/\{regexp\d+\}/g, '()')] = nextItem;
  }
  return { ...doc, paths };
}

/**
 * BODY_METHODS are the methods whose body Fastify reads whether or not the route takes one: a route
 * that takes none (DELETE, …/acknowledge) still refuses one too large (413) or of a type that is no
 * JSON (415, jsonIfBearer) before it answers.
 */
const BODY_METHODS = new Set(['post', 'put', 'patch', 'delete']);

function withErrors(path: string, operation: Json, method: string): Json {
  const isPublic = Array.isArray(operation.security) && operation.security.length === 0;
  const statuses = ['400'];
  if (!isPublic) statuses.push('401', '403');
  // An Orchestrator route's tenant is the one the host administrator names in X-Tocsin-Tenant: 404 when none has that name.
  if (path.includes('{') || path.startsWith('/odata/')) statuses.push('404');
  if (operation.requestBody || BODY_METHODS.has(method)) statuses.push('413');
  // A form route takes any content type (its fields or nothing), as does one that reads any (a source's receive URL): only JSON routes refuse one.
  const content = operation.requestBody?.content;
  if (content ? !content[FORM_MEDIA_TYPE] && !content['*/*'] : BODY_METHODS.has(method)) statuses.push('415');
  const errors = Object.fromEntries(statuses.map((s) => [s, { $ref: `#/components/responses/Problem${s}` }]));
  // The problems a route declares (documentRoute) are the shared answers: referred to, not repeated in each operation.
  const own = Object.fromEntries(
    Object.entries<Json>(operation.responses).map(([status, response]) => [
      status,
      response.description === ERROR_DESCRIPTIONS[status] && response.content?.[PROBLEM_MEDIA_TYPE]
        ? { $ref: `#/components/responses/Problem${status}` }
        : response.content?.[PROBLEM_MEDIA_TYPE]
          ? // A problem beside another answer (a link's page): its own response, the shared problem schema.
            { ...response, content: { ...response.content, [PROBLEM_MEDIA_TYPE]: { schema: { $ref: '#/components/schemas/Problem' } } } }
          : response,
    ]),
  );
  return { ...operation, responses: { ...errors, ...own } };
}

/**
 * caseInsensitiveBody is the body schema of a route that reads its JSON with lower-cased keys, as
 * Orchestrator binds JSON: it lets any body through (the handler parses the lower-cased body with
 * `schema` itself, to name fields as Orchestrator spells them), but the OpenAPI document shows
 * `schema`, its keys spelled as `names` says, so scripts see the fields and their limits.
 */
export function caseInsensitiveBody(schema: z.ZodType, names: Readonly<Record<string, string>>): z.ZodType {
  const { $schema: _dialect, ...json } = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' });
  return z.any().meta({ ...(renameKeys(json, names) as Json), description: 'Keys are matched case-insensitively, as Orchestrator does.' });
}

function renameKeys(node: unknown, names: Readonly<Record<string, string>>): unknown {
  if (Array.isArray(node)) return node.map((item) => renameKeys(item, names));
  if (typeof node !== 'object' || node === null) return node;
  const result: Json = {};
  for (const [key, value] of Object.entries(node)) {
    if (key === 'properties' && typeof value === 'object' && value !== null) {
      result[key] = Object.fromEntries(Object.entries(value).map(([name, sub]) => [names[name] ?? name, renameKeys(sub, names)]));
    } else if (key === 'required' && Array.isArray(value)) {
      result[key] = value.map((name: string) => names[name] ?? name);
    } else {
      result[key] = renameKeys(value, names);
    }
  }
  return result;
}

/**
 * registerOpenApi generates the OpenAPI document from the routes' schemas and serves it. Its server
 * is `publicUrl` (TOCSIN_PUBLIC_URL, when set): without one, OpenAPI's default server is `/`, the
 * root of the host the document came from, so a client made from it behind a reverse proxy that
 * serves Tocsin under a path (`https://ops.example.com/tocsin`) called the API outside that path.
 */
export async function registerOpenApi(app: TocsinApp, publicUrl: string | undefined): Promise<void> {
  await app.register(fastifySwagger, {
    openapi: {
      ...(publicUrl === undefined ? {} : { servers: [{ url: publicUrl }] }),
      info: {
        title: 'Tocsin API',
        version: '1',
        description:
          'Alerts and alert emails. Request bodies are JSON, sent as application/json (a PATCH also as application/merge-patch+json); a request with a bearer token may label its JSON text/plain or application/x-www-form-urlencoded, or not at all, as fetch and curl -d do without a Content-Type header, but one with the session cookie may not (415). Errors are application/problem+json (RFC 9457): `{type, title, status, detail, errors?}`.',
      },
      components: {
        securitySchemes: {
          bearer: { type: 'http', scheme: 'bearer' },
          // The web console's (API.md): every route that takes a token takes the session too.
          session: {
            type: 'apiKey',
            in: 'cookie',
            name: SESSION_COOKIE,
            description: `The console's session, from POST /api/v1/auth/login. A POST, PUT, PATCH or DELETE made with it sends the sign-in's csrfToken in the ${CSRF_HEADER} header (else 403).`,
          },
        },
      },
      security: [{ bearer: [] }, { session: [] }],
    },
    transform: documentRoute,
    transformObject: (documentObject) =>
      // Nullable unions first: their branches' enums then take null too.
      withNulRefused(
        withNullInEnums(
          withNullableBranches(
            withMergePatch(
              withProblemResponses(withTenantHeaders(withOptionalBodies(withLiteralParentheses(jsonSchemaTransformObject(documentObject) as Json)))),
            ),
          ),
        ),
      ),
  });
  app.get(OPENAPI_PATH, { config: { access: 'public' }, schema: { hide: true } }, async () => app.swagger());
}
