import { randomUUID } from 'node:crypto';
import fastifyCookie from '@fastify/cookie';
import Fastify, { type FastifyReply, type FastifyRequest, LogController, errorCodes } from 'fastify';
import { type ZodTypeProvider, hasZodFastifySchemaValidationErrors, serializerCompiler, validatorCompiler } from 'fastify-type-provider-zod';
import { publicPathOf } from '../config.js';
import { StageError } from '../shared/stage-error.js';
import { writtenNumber } from '../shared/issue-words.js';
import { noBody, sayIssuesInWords } from '../shared/validation.js';
import { classifyDbError, isStorageOutage } from '../storage/errors.js';
import { accessHook, authenticatedByBearer, forgetPrincipalsOnChange } from './access-hook.js';
import { goneMeanwhile, takenMeanwhile } from './lost-races.js';
import { ReadCache } from '../shared/read-cache.js';
import { answerClientError, answerConnect, answerUnmetExpectation, isMissingHost, noteEarlyAnswers, requireHost } from './client-errors.js';
import { trackConnections } from './connections.js';
import type { AppDeps, RouteModule, TocsinApp } from './context.js';
import { jsonBodyParser, refuseListKeys, refuseNul } from './input-guard.js';
import { PROBLEM_MEDIA_TYPE, registerOpenApi } from './openapi.js';
import { OrchestratorPaths, orchestratorError, sayODataVersion } from './orchestrator-paths.js';
import { withoutPublicPath, withoutTrailingSlash } from './rest-paths.js';
import {
  HttpError,
  type FieldError,
  badRequest,
  distinctFieldErrors,
  type ProblemDocument,
  issueFieldErrors,
  lengthsOfWrongTypeDropped,
  problemTypeFor,
  serviceUnavailable,
  titleFor,
} from './problem.js';

/** RouteEntry is one row of the route table, which the isolation and fuzz tests walk. */
export interface RouteEntry {
  method: string;
  url: string;
  access: string | undefined;
  hasBody: boolean;
  /** Left out of the OpenAPI document (operations endpoints, the document itself). */
  hidden: boolean;
  /** The path the OpenAPI document gives a route written with a wildcard (its `documentedAs`). */
  documentedUrl?: string | undefined;
}

declare module 'fastify' {
  interface FastifyInstance {
    /** Every route registered, in order; tests walk it so new routes are covered automatically. */
    routeTable: readonly RouteEntry[];
  }
}

/** BODY_LIMIT_BYTES bounds every request body but those of routes with a bound of their own (POST /alerts: ALERTS_BODY_LIMIT_BYTES). */
export const BODY_LIMIT_BYTES = 20 * 1024 * 1024;

// A body's and a query's fields are named bare, as a caller wrote them (`limit`, `custom.port`); the
// first segment of another's path says where it was.
const VALIDATION_CONTEXT_SEGMENT: Record<string, readonly string[]> = {
  body: [],
  querystring: [],
  params: ['path'],
  headers: ['header'],
};

/**
 * requestTimeouts close a request that stalls (slow headers or a body that stops coming) within
 * `limitMs` of its start: Node answers 408 (in problem+json, through answerClientError) and closes
 * the socket. Node looks for late requests every `connectionsCheckingInterval`, so the timeout
 * itself is that much shorter and the close lands within the limit.
 */
function requestTimeouts(limitMs: number) {
  const checkEveryMs = Math.max(25, Math.min(1_000, Math.floor(limitMs / 10)));
  const requestTimeout = limitMs - checkEveryMs;
  return {
    requestTimeout,
    // Node would answer a missing Host with an empty 400; requireHost answers it in problem+json.
    http: { requireHostHeader: false, headersTimeout: requestTimeout, connectionsCheckingInterval: checkEveryMs },
  };
}

/**
 * buildApp assembles the HTTP server from the route modules of each domain. It does not listen;
 * tests call `inject`, the server calls `listen`.
 */
export async function buildApp(deps: AppDeps, modules: readonly RouteModule[]): Promise<TocsinApp> {
  sayIssuesInWords();
  const orchestratorPaths = new OrchestratorPaths();
  // Not taken off when a route of Tocsin's own begins with it (a public URL ending in /alerts), which it
  // would hide; known once the routes are, before the first request.
  let publicPath: string | undefined;
  const ownPublicPath = () => {
    if (publicPath !== undefined) return publicPath;
    const path = publicPathOf(deps.config.publicUrl);
    publicPath = routes.some((route) => route.url === path || route.url.startsWith(`${path}/`)) ? '' : path;
    return publicPath;
  };
  const count = (request: FastifyRequest, reply: FastifyReply) => {
    const route = request.routeOptions.url ?? 'unmatched';
    deps.metrics.httpRequests.inc({ route, method: request.method, status: String(reply.statusCode) });
    deps.metrics.httpDuration.observe({ route, method: request.method }, reply.elapsedTime / 1000);
  };
  const app = Fastify({
    loggerInstance: deps.logger,
    // A request's id, in its log lines and as traceId in an Orchestrator route's error: unique across
    // restarts and api processes (Fastify's own, req-1, req-2…, starts again with each).
    genReqId: () => randomUUID().replaceAll('-', ''),
    bodyLimit: BODY_LIMIT_BYTES,
    // Behind a reverse proxy or load balancer, the client (of the per-address sign-in throttle) is the one it forwards.
    ...(deps.config.trustProxy ? { trustProxy: [...deps.config.trustProxy] } : {}),
    // One line per request would dominate the log at thousands of alerts a second.
    logController: new LogController({ disableRequestLogging: true }),
    // A path segment past this is a 414. Above any id or link token, so that a link token padded with
    // hundreds of characters is refused as the tampered link it is (404), not as a URI too long.
    routerOptions: { maxParamLength: 2_048 },
    // A malformed URL (bad percent-encoding, an overlong segment) is still answered in problem+json.
    // Answered before routing, so before the hooks: counted once sent, as the onResponse hook counts the others.
    frameworkErrors: (error, request, reply) => {
      reply.raw.once('finish', () => count(request, reply));
      return sendProblem(reply, toProblem(error));
    },
    clientErrorHandler: answerClientError,
    // Orchestrator's routes ignore the case of their path; ours do too (see OrchestratorPaths). A REST
    // path ending in a slash is the path without it (withoutTrailingSlash).
    // The path of TOCSIN_PUBLIC_URL, for a proxy that does not take it off (withoutPublicPath).
    rewriteUrl: (request) => withoutTrailingSlash(orchestratorPaths.canonical(withoutPublicPath(originForm(request.url ?? '/'), ownPublicPath()))),
    ...requestTimeouts(deps.config.httpBodyTimeoutMs),
  }).withTypeProvider<ZodTypeProvider>();

  trackConnections(app.server);
  // A client that shuts down its sending side once its request is sent (socket.end(request),
  // shutdown(SHUT_WR), `nc -N`) still waits for the answer: Node's default took that FIN for the client
  // gone and dropped each request not yet answered, so on PostgreSQL every one got no answer at all.
  // Allowed, the answer is written and the connection then closed (squid's half_closed_clients).
  (app.server as { httpAllowHalfOpen?: boolean }).httpAllowHalfOpen = true;
  noteEarlyAnswers(app.server);
  app.server.on('checkExpectation', answerUnmetExpectation);
  app.server.on('connect', answerConnect);
  const routes: RouteEntry[] = [];
  app.decorate('routeTable', routes);
  app.addHook('onRoute', (route) => {
    orchestratorPaths.learn(route.url);
    // A DELETE takes no body, as …/acknowledge and rotate-secret take none (noBody): a field sent with
    // one is refused by name, where it was read and dropped and a script's `{"reason": …}` seemed kept.
    if (!route.schema?.body && [route.method].flat().includes('DELETE')) route.schema = { ...route.schema, body: noBody };
    // Only the routes that hand out a credential carry this hook: the others (POST /alerts) pay nothing.
    if (route.config?.secret) route.onSend = [...[route.onSend ?? []].flat(), keepFromCaches];
    for (const method of [route.method].flat()) {
      if (method === 'HEAD') continue;
      routes.push({
        method,
        url: route.url,
        access: route.config?.access,
        hasBody: Boolean(route.schema?.body),
        hidden: Boolean(route.schema?.hide),
        documentedUrl: route.config?.documentedAs?.url,
      });
    }
  });

  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  app.setErrorHandler(async (raised, request, reply) => {
    // A request no route takes is answered so (404, 405) whatever its body, which no route reads: one
    // that was no JSON, of another type, too large, or a QUERY without a type was answered 400, 413 or 415.
    // Only a request without a Host header is refused as such first, whatever its path (RFC 9112).
    if (request.is404 && !isMissingHost(raised)) return sendProblem(reply, noRoute(routes, request, reply));
    // A stage that says trying again may help (the database is unreachable, restarting), or such an
    // outage met before any stage (reading the caller's token), is a 503 asking the client to come
    // back, not a 500; a permanent stage error keeps its own answer. A write that lost a race with a
    // deletion of what its path names is a 404 for that, of its caller a 401 (goneMeanwhile), one with a request that took
    // the same name first the 409 naming the field (takenMeanwhile).
    // The request's own stream failing (its client gone mid-body: Node's 'aborted', code ECONNRESET as a
    // dropped database connection has) is the client's doing, not an outage.
    const unavailable = raised instanceof StageError ? raised.retryable : raised !== request.raw.errored && isStorageOutage(raised);
    const refused = unavailable ? undefined : classifyDbError(raised);
    const lostRace =
      refused === 'foreign-key'
        ? await goneMeanwhile(deps.storage.db, request).catch(() => undefined)
        : refused === 'unique'
          ? takenMeanwhile(raised, request)
          : undefined;
    const error = unavailable
      ? serviceUnavailable('The service cannot answer this now; retry later.')
      : withLimitAdvice(lostRace ?? notJson(raised, request) ?? tooLarge(raised, request) ?? raised, request);
    if (unavailable) request.log.warn({ ...requestNamed(request), err: raised }, 'answered 503: the database is unavailable');
    const problem = toProblem(error);
    if (problem.status >= 500 && error === raised) request.log.error({ ...requestNamed(request), err: error }, 'unhandled error');
    else if (classifyDbError(error)) request.log.warn({ ...requestNamed(request), err: error }, 'database refused a client value');
    if (error instanceof HttpError && error.headers) void reply.headers(error.headers);
    return sendProblem(reply, problem);
  });
  app.setNotFoundHandler((request, reply) => sendProblem(reply, noRoute(routes, request, reply)));

  // JSON routes take JSON. A body labelled as fetch labels it without a content-type header
  // (text/plain), as `curl -d` does without -H (application/x-www-form-urlencoded), or not at all,
  // is read as JSON, by the same parser, when a bearer token authenticated the request (no browser
  // adds one cross-site without a CORS preflight); for the console's session cookie and a stranger
  // it is a 415, as any other type is for everyone: a cross-site form sends those three with no
  // preflight. Routes that take other types (unsubscribe, actions, a source's receive URL,
  // Authenticate's form) add their own parsers in their scope.
  const parseJson = jsonBodyParser(app, BODY_LIMIT_BYTES);
  app.removeContentTypeParser('text/plain');
  app.addContentTypeParser('text/plain', { parseAs: 'buffer' }, jsonIfBearer(parseJson));
  app.addContentTypeParser('*', { parseAs: 'buffer' }, jsonIfBearer(parseJson));
  app.removeContentTypeParser('application/json');
  // JSON under the other names it goes by, read as application/json is, everywhere: text/json
  // (ASP.NET's JSON formatter; Orchestrator's swaggers list it for the sign-in) and any `+json`
  // type (merge-patch+json for a PATCH; the 2020.10 swagger lists application/*+json for the OData
  // actions). Only the Orchestrator routes took them, the REST API of the same server answering
  // 415; no cross-site form sends them without a CORS preflight, so the cookie session may too.
  app.addContentTypeParser(['application/json', 'text/json'], { parseAs: 'buffer' }, parseJson);
  app.addContentTypeParser(/^application\/[^;\s]+\+json(?:;|$)/, { parseAs: 'buffer' }, parseJson);

  await app.register(fastifyCookie);
  await registerOpenApi(app, deps.config.publicUrlSet ? deps.config.publicUrl : undefined);

  // While closing, answers in flight end their connection, so a keep-alive client cannot hold
  // the shutdown open until its idle timeout.
  let closing = false;
  app.addHook('preClose', async () => {
    closing = true;
  });
  app.addHook('onSend', async (request, reply) => {
    if (closing) return void reply.header('connection', 'close');
    // Fastify closes the connection after any body its parser refused, lest the client send more of it.
    // One that has all come leaves the connection at the next request, which a keep-alive or pipelining
    // client sends on it; the rest of one still coming (a 413 from its Content-Length) Node reads and
    // drops before that, within the request timeout: closed under it, the client still sending got
    // EPIPE instead of the answer. Only Fastify's parser error says close here (while closing, the hook).
    if (reply.getHeader('connection') === 'close') reply.removeHeader('connection');
    // A connection its client asked to close (Connection: close, as Python's urllib sends) Node closes
    // once the answer is written: the answer waits for the rest of the body, read and dropped, lest a
    // client still sending it get a broken pipe instead.
    if (!request.raw.complete && !reply.raw.shouldKeepAlive) await restOfBody(request.raw, REST_OF_BODY_WAIT_MS);
  });
  app.addHook('onSend', sayODataVersion);
  app.addHook('onRequest', requireHost);
  app.addHook('onRequest', async (request, reply) => {
    if (shadowedRoute(routes, request) || emptySegment(request)) return sendProblem(reply, noRoute(routes, request, reply));
  });
  // The tenants of requests raising alerts, kept between them (accessHook).
  const raising = new ReadCache();
  // Before the body is parsed: a stranger's malformed JSON or unsupported content type is a 401, not a 400 or 415.
  app.addHook('preParsing', accessHook(deps, raising));
  app.addHook('onSend', forgetPrincipalsOnChange(deps, raising));
  app.addHook('preValidation', refuseNul);
  app.addHook('preValidation', refuseListKeys);
  const fileGone = deps.storage.fileGone;
  if (fileGone) app.addHook('preHandler', refuseWritesOnceGone(fileGone));
  app.addHook('onResponse', async (request, reply) => count(request, reply));

  for (const register of modules) register(app, deps);
  return app;
}

// A request-target in absolute form: its scheme and authority, up to the path.
const ABSOLUTE_FORM = /^[a-z][a-z0-9+.-]*:\/\/[^/?#]*/i;

/**
 * originForm is a request-target as its path and query: one in absolute form (`POST
 * http://host/api/v1/tenants`, as a proxy sends it, which RFC 9112 has servers take) loses its
 * scheme and authority. Its URL served as the path: a 201's Location named the client's host (glued
 * after TOCSIN_PUBLIC_URL when set), and Orchestrator's paths in another case were a 404.
 */
function originForm(url: string): string {
  const authority = ABSOLUTE_FORM.exec(url);
  if (!authority) return url;
  const rest = url.slice(authority[0].length);
  return rest.startsWith('/') ? rest : `/${rest}`;
}

/** REST_OF_BODY_WAIT_MS bounds how long an answer waits for the rest of a body it did not need (restOfBody). */
const REST_OF_BODY_WAIT_MS = 10_000;

/** restOfBody reads and drops what is left of `request`'s body, settling once it has all come or gone, or after `waitMs`. */
function restOfBody(request: FastifyRequest['raw'], waitMs: number): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      request.off('end', done).off('close', done).off('error', done);
      resolve();
    };
    const timer = setTimeout(done, waitMs);
    request.once('end', done).once('close', done).once('error', done);
    request.resume();
  });
}

/** READ_METHODS change nothing: they are answered from the SQLite file still open once it is gone. */
const READ_METHODS = new Set(['GET', 'HEAD', 'OPTIONS', 'QUERY']);

/**
 * requestNamed is what a request's warning or error says of it besides its id: its method and route
 * pattern. No line is written per request (see logController), so the id alone named nothing an
 * operator could find; the path itself is not logged, as it may carry a link's token.
 */
function requestNamed(request: FastifyRequest): { method: string; route: string } {
  return { method: request.method, route: request.routeOptions.url ?? 'unmatched' };
}

/**
 * refuseWritesOnceGone answers 503 with Retry-After to a request that may write once the SQLite file
 * was removed or replaced while open (a restored copy moved into place): its commit would go into a
 * file no later start opens, so a 201 for a tenant, a user or a setting was lost at the next restart.
 * The alerts' ingest refuses so in its own transaction (write-transaction.ts); this does for the rest.
 * Run before the handler, so that a request refused for its credentials or its body still says why.
 */
function refuseWritesOnceGone(fileGone: () => string | undefined) {
  return async (request: FastifyRequest) => {
    if (READ_METHODS.has(request.method)) return;
    const gone = fileGone();
    if (!gone) return;
    request.log.warn({ ...requestNamed(request), reason: gone }, 'answered 503: the SQLite file is gone');
    throw serviceUnavailable('The service cannot answer this now; retry later.');
  };
}

/** The types a JSON body comes labelled with when its sender forgot the header; '' is none. */
const UNLABELLED_JSON_TYPES = new Set(['text/plain', 'application/x-www-form-urlencoded', '']);

type BodyParser = ReturnType<typeof jsonBodyParser>;

/**
 * jsonIfBearer is the parser of a body labelled text/plain, or of a type no other parser takes: a
 * body labelled text/plain or application/x-www-form-urlencoded, or unlabelled, is parsed by
 * `parseJson` when a bearer token authenticated the request; one that is no JSON is a 400 saying
 * so and naming its label (Fastify's own said its content-type was application/json). Any other
 * is refused as of a type the route does not take (a 415, notJson), but an empty body labelled
 * text/plain, which is no body (fetch(url, { method: 'POST', body: '' }) labels it so): a route
 * that takes none (…/acknowledge, DELETE) answers as it does without one.
 */
function jsonIfBearer(parseJson: BodyParser): BodyParser {
  return (request, bytes, done) => {
    const label = request.headers['content-type'];
    const type = (label ?? '').split(';', 1)[0]!.trim().toLowerCase();
    if (UNLABELLED_JSON_TYPES.has(type) && authenticatedByBearer(request)) {
      return parseJson(request, bytes, (error, body) => done(error && isInvalidJson(error) ? notJsonBody(label) : error, body));
    }
    if (type === 'text/plain' && bytes.length === 0) return done(null, undefined);
    return done(new errorCodes.FST_ERR_CTP_INVALID_MEDIA_TYPE(label), undefined);
  };
}

const isInvalidJson = (error: Error) => (error as { code?: unknown }).code === 'FST_ERR_CTP_INVALID_JSON_BODY';

/** notJsonBody is the 400 for a body read as JSON, whatever its label, that is no JSON. */
function notJsonBody(label: string | undefined): HttpError {
  return badRequest(`The body is not JSON (${labelNamed(label)}): send JSON, with Content-Type: application/json.`, [
    { path: '(root)', message: 'is not JSON' },
  ]);
}

/** labelNamed says what a body's Content-Type is, in an answer refusing it. */
function labelNamed(label: string | undefined): string {
  return label ? `the body is labelled ${label.slice(0, 100)}` : 'the body has no Content-Type';
}

/**
 * notJson says what to send instead of a body no parser of the route takes: `curl -d` without a
 * content-type header labels its JSON application/x-www-form-urlencoded, and Fastify's bare
 * "Unsupported Media Type" left a script's author guessing which header was wrong.
 */
function notJson(error: unknown, request: FastifyRequest): HttpError | undefined {
  if ((error as { code?: unknown }).code !== 'FST_ERR_CTP_INVALID_MEDIA_TYPE') return undefined;
  return new HttpError(415, titleFor(415), `Send the body as JSON with Content-Type: application/json (${labelNamed(request.headers['content-type'])}).`);
}

/**
 * tooLarge says how large the route takes a body, where Fastify's 413 read 'Request body is too
 * large', unlike the API's sentences and the 413 of a body that inflates past it ('The body is over
 * 33,345,126 bytes once its gzip coding is undone.', inflateBody): the limit Fastify read it against.
 */
function tooLarge(error: unknown, request: FastifyRequest): HttpError | undefined {
  if ((error as { code?: unknown }).code !== 'FST_ERR_CTP_BODY_TOO_LARGE') return undefined;
  return new HttpError(413, titleFor(413), `The body is over ${writtenNumber(request.routeOptions.bodyLimit ?? BODY_LIMIT_BYTES)} bytes.`);
}

/**
 * withLimitAdvice adds to a 413 (a body sent too large, or one inflating past the bound) what the
 * route says to do instead (RouteAccess.overLimit), as POST /alerts says to send its batch in two.
 */
function withLimitAdvice(error: unknown, request: FastifyRequest): unknown {
  const advice = request.routeOptions.config?.overLimit;
  if (!advice || !(error instanceof HttpError) || error.status !== 413) return error;
  return new HttpError(413, error.title, `${error.message} ${advice}`, error.errors, error.headers);
}

/** toProblem maps any error thrown while answering to a problem document; unknown ones are 500. */
export function toProblem(error: unknown): ProblemDocument {
  if (error instanceof HttpError) {
    return {
      type: problemTypeFor(error.status),
      title: error.title,
      status: error.status,
      detail: error.message,
      ...(error.errors ? { errors: error.errors } : {}),
    };
  }
  if (hasZodFastifySchemaValidationErrors(error)) {
    const context = VALIDATION_CONTEXT_SEGMENT[error.validationContext ?? 'body'] ?? [];
    const errors: FieldError[] = distinctFieldErrors(
      lengthsOfWrongTypeDropped(
        error.validation,
        (v) => v.keyword,
        (v) => v.instancePath,
      ).flatMap((v) => {
        const path = [...context, ...v.instancePath.split('/').filter(Boolean)];
        const keys = v.keyword === 'unrecognized_keys' ? (v.params as { keys?: unknown[] }).keys : undefined;
        // A bad record key says only "Invalid key in record"; the key's own schema says what is wrong.
        const keyIssue = v.keyword === 'invalid_key' ? (v.params as { issues?: { message?: unknown }[] }).issues?.[0]?.message : undefined;
        return issueFieldErrors(path, typeof keyIssue === 'string' ? keyIssue : (v.message ?? 'is invalid'), keys);
      }),
    );
    const first = errors[0];
    return {
      type: problemTypeFor(400),
      title: titleFor(400),
      status: 400,
      detail: first ? `${first.path}: ${first.message}` : 'The request is invalid.',
      errors,
    };
  }
  const dbError = classifyDbError(error);
  if (dbError) {
    const status = dbError === 'invalid-value' ? 400 : 409;
    return {
      type: problemTypeFor(status),
      title: titleFor(status),
      status,
      detail: DB_ERROR_DETAILS[dbError],
      ...(status === 400 ? { errors: [{ path: '(root)', message: DB_ERROR_DETAILS[dbError] }] } : {}),
    };
  }
  const fastifyError = error as { statusCode?: number; message?: string; code?: string };
  const status = fastifyError.statusCode;
  if (typeof status === 'number' && status >= 400 && status < 500) {
    const detail = fastifyError.message ?? titleFor(status);
    // Every 400 names where (API.md): a URL that is not valid percent-encoding names the URL; a body its
    // parser refused (not JSON, empty) is about the body as a whole.
    const where = fastifyError.code === 'FST_ERR_BAD_URL' ? '(url)' : '(root)';
    return {
      type: problemTypeFor(status),
      title: titleFor(status),
      status,
      detail,
      ...(status === 400 ? { errors: [{ path: where, message: detail }] } : {}),
    };
  }
  return {
    type: problemTypeFor(500),
    title: titleFor(500),
    status: 500,
    detail: 'Something went wrong on our side; it has been logged.',
  };
}

const DB_ERROR_DETAILS = {
  unique: 'Another request created the same thing at the same time; read it again and retry.',
  'foreign-key': 'Something this refers to was removed at the same time; read it again and retry.',
  'invalid-value': 'A value is out of range or cannot be stored.',
} as const;

/**
 * noRoute is the answer to a request no route takes: a path that routes take with other methods is
 * a 405 naming them in Allow (RFC 9110, set on `reply`), any other a 404.
 */
function noRoute(routes: readonly RouteEntry[], request: FastifyRequest, reply: FastifyReply): ProblemDocument {
  const path = request.url.split('?')[0]!;
  const allow = allowedMethods(routes, path);
  if (allow.length === 0) return { type: problemTypeFor(404), title: titleFor(404), status: 404, detail: `No route ${request.method} ${path}.` };
  void reply.header('allow', allow.join(', '));
  return {
    type: problemTypeFor(405),
    title: titleFor(405),
    status: 405,
    detail: `${request.method} is not allowed on ${path}; it takes ${allow.join(', ')}.`,
  };
}

/**
 * shadowedRoute tells whether the route that took `request` did so for a path that a more specific
 * route names with other methods only: GET /alerts/mark-read was taken by GET /alerts/:alertId
 * (fastify falls back to a parameter when the fixed segment has no route of the method), and
 * answered "Alert not found" where the path is POST /alerts/mark-read's, a 405.
 */
function shadowedRoute(routes: readonly RouteEntry[], request: FastifyRequest): boolean {
  const url = request.routeOptions.url;
  if (url === undefined || !url.includes(':')) return false;
  let rivals = moreSpecificRoutes.get(routes)?.get(url);
  if (!rivals) {
    const own = specificity(url);
    rivals = routes.filter((route) => route.url !== url && dominates(specificity(route.url), own));
    let byUrl = moreSpecificRoutes.get(routes);
    if (!byUrl) moreSpecificRoutes.set(routes, (byUrl = new Map()));
    byUrl.set(url, rivals);
  }
  if (rivals.length === 0) return false;
  const path = request.url.split('?')[0]!;
  return rivals.some((route) => patternOf(route).test(path));
}

/** emptySegment tells whether a path took a route with nothing for one of its `:name` segments (`/users/` for `/users/:userId`). */
function emptySegment(request: FastifyRequest): boolean {
  const params = request.params as Record<string, unknown> | undefined;
  return params !== undefined && Object.entries(params).some(([name, value]) => name !== '*' && value === '');
}

const moreSpecificRoutes = new WeakMap<readonly RouteEntry[], Map<string, RouteEntry[]>>();

/** specificity ranks a route URL's segments as the router prefers them: fixed, then mixed, then `:name`, then `*`. */
function specificity(url: string): number[] {
  return url.split('/').map((segment) => (segment === '*' ? 0 : /^:[A-Za-z_][A-Za-z0-9_]*$/.test(segment) ? 1 : segment.includes(':') ? 2 : 3));
}

/** dominates tells whether a route of rank `a` is at least as specific as one of rank `b` at every segment, and more at one. */
function dominates(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((rank, i) => rank >= b[i]!) && compareSpecificity(a, b) > 0;
}

function compareSpecificity(a: readonly number[], b: readonly number[]): number {
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const difference = (a[i] ?? -1) - (b[i] ?? -1);
    if (difference !== 0) return difference;
  }
  return 0;
}

/** routePattern matches the paths a route URL takes (`:name` one segment, `*` the rest). */
function routePattern(url: string): RegExp {
  const parts = url.split(/(:[A-Za-z_][A-Za-z0-9_]*|\*)/);
  const source = parts.map((part) => (part.startsWith(':') ? '[^/]+' : part === '*' ? '.*' : part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')));
  return new RegExp(`^${source.join('')}$`);
}

const patterns = new WeakMap<RouteEntry, RegExp>();

function patternOf(route: RouteEntry): RegExp {
  let pattern = patterns.get(route);
  if (!pattern) patterns.set(route, (pattern = routePattern(route.url)));
  return pattern;
}

/**
 * allowedMethods lists, sorted, the methods of the routes that take `path` (HEAD with GET): of the
 * most specific ones only, as the path /alerts/mark-read is POST's, not also GET /alerts/:alertId's.
 */
function allowedMethods(routes: readonly RouteEntry[], path: string): string[] {
  let best: number[] = [];
  let methods = new Set<string>();
  for (const route of routes) {
    if (!patternOf(route).test(path)) continue;
    const rank = specificity(route.url);
    const order = compareSpecificity(rank, best);
    if (order < 0) continue;
    if (order > 0) [best, methods] = [rank, new Set()];
    methods.add(route.method);
    if (route.method === 'GET') methods.add('HEAD');
  }
  return [...methods].sort();
}

function sendProblem(reply: FastifyReply, problem: ProblemDocument) {
  const orchestrator = orchestratorError(reply.request.url, problem.status, problem.detail, reply.request.id);
  return reply
    .status(problem.status)
    .type(PROBLEM_MEDIA_TYPE)
    .send({ ...problem, ...orchestrator });
}

/** keepFromCaches marks an answer that carries a credential (a route of `config.secret`) as one no cache may store. */
async function keepFromCaches(_request: FastifyRequest, reply: FastifyReply, payload: unknown) {
  void reply.header('cache-control', 'no-store');
  return payload;
}
