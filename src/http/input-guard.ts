import zlib from 'node:zlib';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { HttpError, badRequest, fieldError, titleFor } from './problem.js';
import { inWords } from '../shared/in-words.js';
import { atMostEntries, writtenNumber } from '../shared/issue-words.js';

/**
 * MAX_JSON_DEPTH bounds how deeply a JSON body may nest. Validation, size checks and storage walk
 * values recursively, so a body nested 100,000 levels deep would overflow the stack: a 500.
 */
export const MAX_JSON_DEPTH = 64;

/**
 * jsonDepthExceeds tells whether a parsed JSON value nests deeper than MAX_JSON_DEPTH, however many
 * entries it holds (a source's body, bounded by its own size limit). It recurses, but never deeper
 * than the bound.
 */
export function jsonDepthExceeds(value: unknown): boolean {
  return shapeExceeds(value, 1, Number.POSITIVE_INFINITY, false) === 'depth';
}

/**
 * MAX_JSON_ENTRIES bounds the keys of any object, and the items of any array, of a JSON body. No
 * field takes that many (a batch is 1,000 alerts, data 16 KiB); a body of 1.6 million unknown keys
 * was validated key by key and answered with a 400 naming each (84 MB), the event loop held for
 * tens of seconds.
 */
export const MAX_JSON_ENTRIES = 10_000;

/**
 * shapeError returns the 400 for a parsed JSON body that nests deeper than MAX_JSON_DEPTH, or
 * holds an object or array of more than MAX_JSON_ENTRIES entries, or a number too large for a JSON
 * number to keep (naming either), else undefined. One walk, never deeper than the bound, that counts
 * each object's keys only as it walks them (they were enumerated twice, a second or more each for a
 * million keys) and an array's by its length.
 */
function shapeError(value: unknown): Error | undefined {
  const found = shapeExceeds(value, 1, MAX_JSON_ENTRIES, true);
  if (found === undefined) return undefined;
  if (found === 'depth') return tooDeep();
  const path = found.path.join('.') || '(root)';
  return found.infinite ? tooLargeNumber(path) : tooManyEntries(path);
}

/** Where shapeExceeds found an object or array of too many entries, or a number too large (`infinite`). */
interface Found {
  readonly path: string[];
  readonly infinite: boolean;
}

/**
 * shapeExceeds is the walk of all three: 'depth', where it found an object or array of more than
 * `entries` entries or (when `finite`) a number JSON.parse read as ±Infinity (1e400), or undefined.
 */
function shapeExceeds(value: unknown, depth: number, entries: number, finite: boolean): 'depth' | Found | undefined {
  if (value === null || typeof value !== 'object') {
    return finite && typeof value === 'number' && !Number.isFinite(value) ? { path: [], infinite: true } : undefined;
  }
  if (depth > MAX_JSON_DEPTH) return 'depth';
  // Plain recursion, no closure per object: it runs over every node of every body (a batch of alerts
  // included), where a closure made per object cost 17 times the depth walk it replaced.
  if (Array.isArray(value)) {
    if (value.length > entries) return { path: [], infinite: false };
    for (let i = 0; i < value.length; i++) {
      const inner = shapeExceeds(value[i], depth + 1, entries, finite);
      if (inner !== undefined) return under(i, inner);
    }
    return undefined;
  }
  let count = 0;
  for (const key in value) {
    if (++count > entries) return { path: [], infinite: false };
    const inner = shapeExceeds((value as Record<string, unknown>)[key], depth + 1, entries, finite);
    if (inner !== undefined) return under(key, inner);
  }
  return undefined;
}

/** under puts a key before the path shapeExceeds found below it ('depth' has none). */
function under(key: string | number, inner: 'depth' | Found): 'depth' | Found {
  if (inner !== 'depth') inner.path.unshift(String(key));
  return inner;
}

/** tooLargeNumber is the 400 for a number JSON.parse read as ±Infinity, which JSON.stringify writes as null. */
function tooLargeNumber(path: string): Error {
  const message = 'is a number too large to keep (at most ±1.7976931348623157e308)';
  return fieldError(path, message);
}

/** tooManyEntries is the 400 for a body with an object or array of more than MAX_JSON_ENTRIES entries, naming it. */
function tooManyEntries(path: string): Error {
  const message = `has more than ${writtenNumber(MAX_JSON_ENTRIES)} entries`;
  return fieldError(path, message);
}

/**
 * Parsed bodies whose JSON text holds no `\u0000`: JSON can carry a NUL only as that escape (a raw
 * control character is a syntax error), so refuseNul need not walk them.
 */
const nulFreeBodies = new WeakSet<object>();

/** noteNulFree remembers a parsed body as free of NUL when its JSON text shows none. */
function noteNulFree(text: string, value: unknown): void {
  if (typeof value === 'object' && value !== null && !text.includes('\\u0000')) nulFreeBodies.add(value);
}

// A surrogate escape, \uD800 to \uDFFF: the only way JSON text gives a string a lone surrogate.
const SURROGATE_ESCAPE = /\\u[dD][89a-fA-F][0-9a-fA-F]{2}/;

/**
 * wellFormedJson returns a parsed JSON value with every lone UTF-16 surrogate of its strings (keys
 * too) replaced by U+FFFD, as PostgreSQL's driver stores one; SQLite's kept its three CESU-8
 * bytes and read them back as three U+FFFD, so the same input came back otherwise. JSON text
 * gives a string a surrogate only by a `\uD8xx`-style escape: a body without one is returned as is.
 */
export function wellFormedJson<T>(text: string, value: T): T {
  return SURROGATE_ESCAPE.test(text) ? (mapStrings(value, toWellFormed) as T) : value;
}

/**
 * withoutNul returns a parsed JSON value with every NUL character of its strings (keys too)
 * replaced by U+FFFD: PostgreSQL cannot store NUL in text, which SQLite keeps. What a sender
 * writes in its own format (an Alertmanager label, an Orchestrator exception's text) is kept so
 * rather than refused, which would lose it, and all else the sender sent with it. JSON text gives
 * a string a NUL only by the `\u0000` escape: a body without one is returned as is.
 */
export function withoutNul<T>(text: string, value: T): T {
  return text.includes('\\u0000') ? (mapStrings(value, (s) => s.replaceAll('\0', '\uFFFD')) as T) : value;
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;
const toWellFormed = (text: string) => text.replace(LONE_SURROGATE, '\uFFFD');

/** mapStrings returns a parsed JSON value with `f` applied to each of its strings, keys too. */
function mapStrings(value: unknown, f: (text: string) => string): unknown {
  if (typeof value === 'string') return f(value);
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((child) => mapStrings(child, f));
  return Object.fromEntries(Object.entries(value).map(([key, child]) => [f(key), mapStrings(child, f)]));
}

/**
 * findNul returns the dotted path of the first string (key or value) holding a NUL character.
 * PostgreSQL cannot store NUL in text, so such input is refused up front, on both engines alike.
 */
export function findNul(value: unknown, prefix = ''): string | undefined {
  const stack: [unknown, string][] = [[value, prefix]];
  while (stack.length > 0) {
    const [current, path] = stack.pop()!;
    if (typeof current === 'string') {
      if (current.includes('\0')) return path || '(root)';
    } else if (current !== null && typeof current === 'object') {
      for (const [key, child] of Object.entries(current)) {
        const childPath = path ? `${path}.${key}` : key;
        if (key.includes('\0')) return childPath;
        stack.push([child, childPath]);
      }
    }
  }
  return undefined;
}

const INFLATERS: Record<string, (body: Buffer, options: zlib.ZlibOptions & zlib.BrotliOptions) => Buffer> = {
  gzip: zlib.gunzipSync,
  'x-gzip': zlib.gunzipSync,
  deflate: zlib.inflateSync,
  br: zlib.brotliDecompressSync,
};

/**
 * inflateBody returns a body's bytes as sent before its Content-Encoding (gzip, deflate, br), at most
 * `limit` bytes of them (else a 413, as a body that large sent plain is); a coding it does not know is
 * a 415, bytes that are not what the coding names a 400. They were parsed as they came: a client that
 * compresses its requests got "Body is not valid JSON".
 */
export function inflateBody(body: Buffer, contentEncoding: string | undefined, limit: number): Buffer {
  const coding = contentEncoding?.trim().toLowerCase();
  if (!coding || coding === 'identity') return body;
  const inflate = INFLATERS[coding];
  if (!inflate) {
    throw new HttpError(
      415,
      'Unsupported Media Type',
      `The body's Content-Encoding "${coding}" is not one Tocsin reads: send it as is, or gzip, deflate or br.`,
    );
  }
  try {
    return inflate(body, { maxOutputLength: limit });
  } catch (error) {
    if ((error as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE') {
      throw new HttpError(413, titleFor(413), `The body is over ${writtenNumber(limit)} bytes once its ${coding} coding is undone.`);
    }
    const message = `is not ${coding}-compressed data, as its Content-Encoding says`;
    throw badRequest(`The body ${message}.`, [{ path: '(root)', message }]);
  }
}

const CHARSET = /;\s*charset\s*=\s*"?([^";\s]*)"?/i;

/**
 * decodeBody reads a body's bytes in the charset its Content-Type names (`application/json;
 * charset=ISO-8859-1`, `utf-16le`, as .NET and Java clients may label what they send), or its byte
 * order mark says, UTF-8 when it names none; a charset it does not know is a 415. Read as UTF-8
 * whatever its label, an ISO-8859-1 "café" was stored as "caf\uFFFD".
 */
export function decodeBody(body: Buffer, contentType: string | undefined): string {
  const label = CHARSET.exec(contentType ?? '')?.[1]?.toLowerCase();
  if (label === undefined || label === 'utf-8' || label === 'utf8') return body.toString('utf8');
  let encoding: string;
  try {
    encoding = new TextDecoder(label).encoding;
  } catch {
    throw new HttpError(415, titleFor(415), `The body's charset "${label}" is not one Tocsin reads: send UTF-8.`);
  }
  return new TextDecoder(byteOrderMark(body) ?? encoding).decode(body);
}

/**
 * formFields reads an application/x-www-form-urlencoded body's fields (the last of a name given
 * twice), each percent escape a byte of the charset its Content-Type names, as ASP.NET reads a
 * form (Apache HttpClient labels its forms ISO-8859-1 and escapes 'ü' as %FC), UTF-8 when it names
 * none; a charset it does not know is a 415.
 */
export function formFields(body: Buffer, contentType: string | undefined): Record<string, string> {
  const label = CHARSET.exec(contentType ?? '')?.[1] || 'utf-8';
  let decoder: InstanceType<typeof TextDecoder>;
  try {
    decoder = new TextDecoder(label);
  } catch {
    throw new HttpError(415, titleFor(415), `The body's charset "${label}" is not one Tocsin reads: send UTF-8.`);
  }
  const decode = (part: string) =>
    decoder.decode(
      Buffer.from(
        part.replaceAll('+', ' ').replace(/%([0-9a-f]{2})/gi, (_, hex: string) => String.fromCharCode(Number.parseInt(hex, 16))),
        'latin1',
      ),
    );
  const pairs = body
    .toString('latin1')
    .split('&')
    .filter((pair) => pair !== '')
    .map((pair) => (pair.includes('=') ? [pair.slice(0, pair.indexOf('=')), pair.slice(pair.indexOf('=') + 1)] : [pair, '']));
  return Object.fromEntries(pairs.map(([name, value]) => [decode(name!), decode(value!)]));
}

/**
 * byteOrderMark is the encoding a body's byte order mark says, which decides over its label as the
 * Encoding Standard decodes: Java labels UTF-16 what it writes big-endian after FE FF, where the
 * label alone reads little-endian (as .NET writes it, with no mark), and the body was "not valid JSON".
 */
function byteOrderMark(body: Buffer): string | undefined {
  if (body[0] === 0xef && body[1] === 0xbb && body[2] === 0xbf) return 'utf-8';
  if (body[0] === 0xfe && body[1] === 0xff) return 'utf-16be';
  if (body[0] === 0xff && body[1] === 0xfe) return 'utf-16le';
  return undefined;
}

/** tooDeep is the 400 for a body nested deeper than MAX_JSON_DEPTH. */
function tooDeep(): Error {
  return badRequest(`The JSON body nests deeper than ${MAX_JSON_DEPTH} levels.`, [{ path: '(root)', message: `nests deeper than ${MAX_JSON_DEPTH} levels` }]);
}

/**
 * prototypeKey is the 400 for a body that is valid JSON but that Fastify's parser refuses for a
 * `__proto__` key or a `constructor` key holding `prototype` (what pollutes a JavaScript object's
 * prototype), saying so rather than that the body is no JSON; undefined for a body that is no JSON.
 */
function prototypeKey(body: string): Error | undefined {
  if (!/__proto__|constructor/.test(body)) return undefined;
  try {
    JSON.parse(body);
  } catch {
    return undefined;
  }
  const path = prototypeKeyPath(JSON.parse(body) as unknown, 1)?.join('.') ?? '(root)';
  const message = 'is a key named __proto__, or constructor holding prototype, which are refused: rename it';
  return fieldError(path, message);
}

/**
 * prototypeKeyPath is where a body JSON.parse read holds the first key Fastify's parser refuses: an
 * own `__proto__` key (an ordinary entry to JSON.parse) or a `constructor` key whose object has
 * `prototype`, as its path (`alerts.3.data.__proto__`), so that a batch says which alert to mend;
 * undefined when none is found within MAX_JSON_DEPTH.
 */
function prototypeKeyPath(value: unknown, depth: number): string[] | undefined {
  if (value === null || typeof value !== 'object' || depth > MAX_JSON_DEPTH) return undefined;
  for (const key of Object.keys(value)) {
    const inner = (value as Record<string, unknown>)[key];
    if (key === '__proto__' || (key === 'constructor' && inner !== null && typeof inner === 'object' && Object.hasOwn(inner, 'prototype'))) {
      return [key];
    }
    const below = prototypeKeyPath(inner, depth + 1);
    if (below !== undefined) return [key, ...below];
  }
  return undefined;
}

const LIST_KEY = /^([^[\]]+)\[[^\]]*\]/;

/**
 * refuseListKeys is a preValidation hook: on a route that reads its query, a parameter written as a
 * list (`severity[]=Fatal`, `status[0]=sent`, as PHP, jQuery and qs write one) is a 400 naming it.
 * The key was one the route did not know, so ignored: the list came back unfiltered. A parameter
 * given more than once (`$top=1&$top=2`, a URL appended to) is a 400 saying so, as ASP.NET OData
 * says it, where the schema said 'expected string, received array' (or 'received NaN' for a number).
 */
export async function refuseListKeys(request: FastifyRequest): Promise<void> {
  const schema = request.routeOptions.schema?.querystring;
  if (!schema) return;
  const known = request.routeOptions.url?.startsWith(REST_PREFIX) ? queryKeysOf(schema) : undefined;
  for (const [key, value] of Object.entries(request.query as object)) {
    const base = LIST_KEY.exec(key)?.[1];
    if (base !== undefined) throw fieldError(key, `is a list, which is not taken here: give ${base} once, as ${base}=value`);
    if (Array.isArray(value)) throw fieldError(key, `is given more than once: give ${key} once`);
    if (known && !known.includes(key)) throw fieldError(key, unknownQueryKey(known));
  }
}

/**
 * REST_PREFIX is where a query parameter a route does not know is refused (refuseListKeys): a
 * mistyped filter (`severty=Error`, `statuss=failed`) listed everything unfiltered without a word,
 * as a mistyped body field would have been stored as the default were bodies not strict. The
 * Orchestrator subset keeps OData's rule: a custom option (no $) a service does not know is ignored.
 */
const REST_PREFIX = '/api/';

/** unknownQueryKey says which parameters a route takes, refusing another. */
function unknownQueryKey(known: readonly string[]): string {
  return `is not a parameter of this route, which takes ${inWords(known)}`;
}

const queryKeys = new WeakMap<object, readonly string[] | undefined>();

/** queryKeysOf is the parameters a route's query schema names (a zod object's shape), or undefined for another schema. */
function queryKeysOf(schema: unknown): readonly string[] | undefined {
  if (typeof schema !== 'object' || schema === null) return undefined;
  if (!queryKeys.has(schema)) {
    const shape = (schema as { shape?: unknown }).shape;
    queryKeys.set(schema, typeof shape === 'object' && shape !== null ? Object.keys(shape) : undefined);
  }
  return queryKeys.get(schema);
}

/**
 * boundEntries returns a preValidation hook that refuses a body whose object at a dotted path has
 * more keys than its bound, before the schema reads each entry (and counts them only then): a record
 * of 300,000 entries, each looked up in the catalogue, held the event loop for half a minute.
 */
export function boundEntries(bounds: Readonly<Record<string, number>>) {
  return async (request: FastifyRequest): Promise<void> => {
    for (const [path, max] of Object.entries(bounds)) {
      let value: unknown = request.body;
      for (const key of path.split('.')) value = isPlainObject(value) && Object.hasOwn(value, key) ? value[key] : undefined;
      if (isPlainObject(value) && Object.keys(value).length > max) throw fieldError(path, atMostEntries(max));
    }
  };
}

const isPlainObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

/** refuseNul is a preValidation hook: a NUL in a path parameter, the query or the body is a 400. */
export async function refuseNul(request: FastifyRequest): Promise<void> {
  const sources: [unknown, string][] = [
    [request.params, 'path.'],
    [request.query, ''],
    [request.body, ''],
  ];
  for (const [value, prefix] of sources) {
    if (typeof value === 'object' && value !== null && nulFreeBodies.has(value)) continue;
    const at = findNul(value);
    if (at !== undefined) throw fieldError(`${prefix}${at}`, 'must not contain NUL characters');
  }
}

/**
 * jsonBodyParser is how `app` reads a JSON body (a content-type parser taking a buffer): undone
 * from its Content-Encoding and decoded from its charset, parsed by Fastify's own JSON parser
 * (which refuses __proto__ and constructor keys), bounded in depth and in entries, its lone surrogates made well
 * formed. `bodyLimit` bounds the body once inflated when the route names no limit of its own.
 */
export function jsonBodyParser(
  app: Pick<FastifyInstance, 'getDefaultJsonParser'>,
  bodyLimit: number,
): (request: FastifyRequest, bytes: string | Buffer, done: (err: Error | null, body?: unknown) => void) => void {
  const parseJson = app.getDefaultJsonParser('error', 'error');
  return (request, bytes, done) => {
    // No body at all, as clients that label every request JSON send to a route that takes none
    // (`POST …/rotate-secret`): nothing to parse, and a route that needs a body says it is missing.
    if (bytes.length === 0) return done(null, undefined);
    let body: string;
    try {
      const sent = inflateBody(bytes as Buffer, request.headers['content-encoding'], request.routeOptions.bodyLimit ?? bodyLimit);
      body = decodeBody(sent, request.headers['content-type']);
    } catch (error) {
      return done(error as Error, undefined);
    }
    parseJson(request, body, (err, value) => {
      if (err) return done(prototypeKey(body) ?? err, undefined);
      const shape = shapeError(value);
      if (shape) return done(shape, undefined);
      const parsed = wellFormedJson(body, value);
      noteNulFree(body, parsed);
      return done(null, parsed);
    });
  };
}
