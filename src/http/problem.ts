/** FieldError names one invalid field of a request: `path` is dotted (`custom.port`). */
export interface FieldError {
  path: string;
  message: string;
}

/**
 * HttpError is the one error type that route code throws for a client-visible failure; the error
 * handler turns it into an RFC 9457 problem document.
 */
export class HttpError extends Error {
  override readonly name = 'HttpError';

  constructor(
    readonly status: number,
    readonly title: string,
    detail: string,
    readonly errors?: FieldError[],
    readonly headers?: Record<string, string>,
  ) {
    super(detail);
  }
}

/**
 * STATUS_TITLES are the problem titles of the statuses Tocsin answers, RFC 9110's reason phrases
 * (413 is 'Content Too Large', not the older 'Payload Too Large'): the one table every answer's
 * `title` comes from, where each 413 or 503 wrote its own literal that had to stay alike.
 */
const STATUS_TITLES: Readonly<Record<number, string>> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  406: 'Not Acceptable',
  409: 'Conflict',
  413: 'Content Too Large',
  414: 'URI Too Long',
  415: 'Unsupported Media Type',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

/** titleFor is a problem document's `title` for its status. */
export function titleFor(status: number): string {
  return STATUS_TITLES[status] ?? (status >= 500 ? 'Server Error' : 'Client Error');
}

/** badRequest is a 400 naming the fields that were wrong. */
export function badRequest(detail: string, errors?: FieldError[]): HttpError {
  return new HttpError(400, titleFor(400), detail, errors);
}

/**
 * issueFieldErrors names the fields of one validation issue (zod's `path`, and `keys` for
 * unrecognized keys): a field that is not part of the request is named by its own path
 * (`source.foo`), not by the object holding it, so the caller sees which field to drop.
 */
export function issueFieldErrors(path: readonly PropertyKey[], message: string, unknownKeys?: readonly unknown[]): FieldError[] {
  const at = path.map(String);
  if (unknownKeys && unknownKeys.length > 0) {
    return unknownKeys.map((key) => ({ path: [...at, String(key)].join('.'), message: 'is not a known field' }));
  }
  return [{ path: at.join('.') || '(root)', message }];
}

/** zodIssueFieldErrors is issueFieldErrors of one of zod's issues (its unrecognized keys, when that is what it is). */
export function zodIssueFieldErrors(issue: {
  readonly path: readonly PropertyKey[];
  readonly message: string;
  readonly code: string;
  readonly keys?: readonly string[];
}): FieldError[] {
  return issueFieldErrors(issue.path, issue.message, issue.code === 'unrecognized_keys' ? issue.keys : undefined);
}

/** LENGTH_CODES are zod's issues about a value's length: a text's characters, a list's items. */
const LENGTH_CODES = new Set(['too_small', 'too_big']);

/**
 * lengthsOfWrongTypeDropped drops the length issues of a value refused for its type: zod 4 runs a
 * length check on any value that has a length, whatever its type, so a list sent for `email` was
 * also told it "must have at least 3 items" (the address's own minimum read as the list's size)
 * and one sent for `message` that it "must have at most 4,096 items". What to send is the type.
 */
export function lengthsOfWrongTypeDropped<T>(issues: readonly T[], codeOf: (issue: T) => string, pathOf: (issue: T) => string): T[] {
  const wrongType = new Set(issues.filter((issue) => codeOf(issue) === 'invalid_type').map(pathOf));
  if (wrongType.size === 0) return [...issues];
  return issues.filter((issue) => !(LENGTH_CODES.has(codeOf(issue)) && wrongType.has(pathOf(issue))));
}

/** ZodIssueOf is what zodFieldErrors reads of one of zod's issues. */
type ZodIssueOf = Parameters<typeof zodIssueFieldErrors>[0];

/** zodIssuesToSay are the issues of zod's to tell the caller: lengthsOfWrongTypeDropped's, by code and path. */
export function zodIssuesToSay<T extends Pick<ZodIssueOf, 'code' | 'path'>>(issues: readonly T[]): T[] {
  return lengthsOfWrongTypeDropped(
    issues,
    (issue) => issue.code,
    (issue) => issue.path.map(String).join('.'),
  );
}

/** zodFieldErrors names the fields of zod's issues (zodIssueFieldErrors), a value of the wrong type by its type alone. */
export function zodFieldErrors(issues: readonly ZodIssueOf[]): FieldError[] {
  return zodIssuesToSay(issues).flatMap(zodIssueFieldErrors);
}

/**
 * distinctFieldErrors drops the repeats of an error: one value refused by two checks that say it in
 * the same words (1e308 past both the whole numbers' safe range and a port's 65535) is said once.
 */
export function distinctFieldErrors(errors: readonly FieldError[]): FieldError[] {
  const seen = new Set<string>();
  return errors.filter((e) => {
    const key = `${e.path}\0${e.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/** fieldErrors is a 400 naming every field in `errors` (at least one, each once), the first in its detail. */
export function fieldErrors(errors: readonly FieldError[]): HttpError {
  const distinct = distinctFieldErrors(errors);
  const [first] = distinct;
  return badRequest(first ? `${first.path}: ${first.message}` : 'The request is invalid.', distinct);
}

/** fieldError is a 400 about a single field. */
export function fieldError(path: string, message: string): HttpError {
  return badRequest(`${path}: ${message}`, [{ path, message }]);
}

/** unauthorized is a 401: no credentials, or credentials that match nothing. */
export function unauthorized(detail = 'A valid bearer token or session is required.'): HttpError {
  return new HttpError(401, titleFor(401), detail, undefined, { 'www-authenticate': 'Bearer' });
}

/** forbidden is a 403 naming the permission that is missing. */
export function forbidden(detail: string): HttpError {
  return new HttpError(403, titleFor(403), detail);
}

/** notFound is a 404; also the answer for any object of another tenant. */
export function notFound(what: string): HttpError {
  return new HttpError(404, titleFor(404), `${what} not found.`);
}

/**
 * notThere is a 404 whose detail says in a sentence of its own why there is nothing there, where
 * notFound's "X not found." read "User (the host administrator has no alert preferences) not found.".
 */
export function notThere(detail: string): HttpError {
  return new HttpError(404, titleFor(404), detail);
}

/** conflict is a 409, e.g. a name or address that is already taken. */
export function conflict(detail: string, path?: string): HttpError {
  return new HttpError(409, titleFor(409), detail, path ? [{ path, message: detail }] : undefined);
}

/** tooManyRequests is a 429 with the seconds to wait. */
export function tooManyRequests(detail: string, retryAfterSeconds: number): HttpError {
  return new HttpError(429, titleFor(429), detail, undefined, {
    'retry-after': String(Math.max(1, Math.ceil(retryAfterSeconds))),
  });
}

/** UNAVAILABLE_RETRY_AFTER_SECONDS is how long a 503 asks a client to wait before trying again. */
export const UNAVAILABLE_RETRY_AFTER_SECONDS = 5;

/** serviceUnavailable is a 503 with Retry-After: nothing was wrong with the request, the service could not serve it now. */
export function serviceUnavailable(detail: string): HttpError {
  return new HttpError(503, titleFor(503), detail, undefined, { 'retry-after': String(UNAVAILABLE_RETRY_AFTER_SECONDS) });
}

/** ProblemDocument is the body of every error answer. */
export interface ProblemDocument {
  type: string;
  title: string;
  status: number;
  detail: string;
  errors?: FieldError[];
}

/** problemTypeFor gives the `type` URI of a status; documented in the OpenAPI document. */
export function problemTypeFor(status: number): string {
  return `https://tocsin.dev/problems/${status}`;
}
