import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { FastifyRequest } from 'fastify';
import { afterAnswersAhead } from './connections.js';
import { PROBLEM_MEDIA_TYPE } from './openapi.js';
import { HttpError, type ProblemDocument, fieldError, problemTypeFor } from './problem.js';

/**
 * clientErrorProblem decides the answer to a request Node could not even parse (a garbage request
 * line, bytes that are not HTTP, headers or a URI too large, a request too slow): 408, 414, 431 or 400.
 */
function clientErrorProblem(error: ClientError): ProblemDocument {
  const code = error.code;
  const [status, detail] =
    code === 'ERR_HTTP_REQUEST_TIMEOUT'
      ? [408, 'The request took too long to arrive.']
      : code === 'HPE_HEADER_OVERFLOW'
        ? overflowedOnRequestLine(error)
          ? [414, 'The request URI is too long.']
          : [431, 'The request headers are too large.']
        : [400, 'The request is not valid HTTP.'];
  const errors = status === 400 ? { errors: [{ path: '(request)', message: detail }] } : {};
  return { type: problemTypeFor(status), title: http.STATUS_CODES[status]!, status, detail, ...errors };
}

/** ClientError is what Node hands the server's 'clientError' listener: the bytes it was parsing, and how far it got. */
type ClientError = Error & { code?: string; rawPacket?: unknown; bytesParsed?: unknown };

// The start of a request line: a method (llhttp takes upper-case ones only), a space, then a path or an absolute URL.
const REQUEST_LINE_START = /^[A-Z]+ (\/|[A-Za-z][A-Za-z0-9+.-]*:\/\/)/;

/**
 * overflowedOnRequestLine tells whether Node's header limit (which counts the request line too) was
 * passed on the request line: its URL is too long (414), where a 431 said the headers were too large.
 * It reads the line being parsed in the bytes Node was parsing; one that began in bytes read before
 * (a URL sent slowly, in many pieces) cannot be told apart from a long header, and stays a 431.
 */
function overflowedOnRequestLine(error: ClientError): boolean {
  if (!Buffer.isBuffer(error.rawPacket)) return false;
  const parsed = typeof error.bytesParsed === 'number' ? error.rawPacket.subarray(0, error.bytesParsed) : error.rawPacket;
  const lineStart = parsed.lastIndexOf(0x0a) + 1;
  return REQUEST_LINE_START.test(parsed.subarray(lineStart, lineStart + 64).toString('latin1'));
}

/**
 * LINGER_MS bounds how long a connection refused by answerClientError stays open after its answer,
 * reading and dropping what its client still sends, for the client to read that answer and close.
 */
const LINGER_MS = 2_000;

/** ANSWERS_AHEAD_WAIT_MS bounds how long a refusal waits for the answers to the requests ahead of it on its connection. */
const ANSWERS_AHEAD_WAIT_MS = 60_000;

/** The connections answerClientError answered: Node's failed parser reports each later chunk again. */
const answered = new WeakSet<Duplex>();

/**
 * answerClientError writes that answer in problem+json straight to the socket (no request object
 * exists yet to answer through) and then closes it gently: its sending side at once, the rest once the
 * client closes its own, or after LINGER_MS. Destroyed at once, as fastify's handler does, a connection
 * whose client was still sending (the body behind headers too large) was reset by the kernel for the
 * bytes left unread, and the client (fetch, http.request) got ECONNRESET instead of the answer. A
 * request answered already, from its headers alone, gets no second answer: its connection is closed.
 */
export function answerClientError(error: ClientError, socket: Duplex): void {
  if (error.code === 'ECONNRESET' || socket.destroyed || answered.has(socket)) return;
  answered.add(socket);
  // A pipelined request is refused after the answers to those ahead of it, as it would be answered.
  afterAnswersAhead(socket, ANSWERS_AHEAD_WAIT_MS, () => {
    if (socket.destroyed) return;
    if (!socket.writable || isAnswered(socket)) return void socket.destroy(error);
    writeProblem(socket, clientErrorProblem(error));
    // What still arrives goes to Node's parser, which failed and drops it.
    const linger = setTimeout(() => socket.destroy(), LINGER_MS);
    linger.unref();
    socket.once('close', () => clearTimeout(linger));
    socket.end();
  });
}

/** answeredEarly holds, by connection, the request last answered before its body had all come. */
const answeredEarly = new WeakMap<Duplex, IncomingMessage>();

/** isAnswered: the request in flight on `socket` has had its answer (a 401 from its headers alone), and its body is still coming. */
function isAnswered(socket: Duplex): boolean {
  const request = answeredEarly.get(socket);
  return request !== undefined && !request.complete;
}

/**
 * noteEarlyAnswers keeps the request answered before its body had all come (a 401 or 403 from its
 * headers alone): Node keeps its connection open to read the rest, and a body that stalled there
 * ended in a 408 written after the 401, two answers to one request.
 */
export function noteEarlyAnswers(server: http.Server): void {
  server.on('request', (request: IncomingMessage, response: ServerResponse) => {
    response.once('finish', () => {
      if (!request.complete) answeredEarly.set(request.socket, request);
    });
  });
}

/** writeProblem writes `problem` as a whole answer straight to `socket`, announcing that it closes. */
function writeProblem(socket: Duplex, problem: ProblemDocument, headers = ''): void {
  const body = JSON.stringify(problem);
  socket.write(
    `HTTP/1.1 ${problem.status} ${problem.title}\r\nContent-Type: ${PROBLEM_MEDIA_TYPE}\r\n${headers}` +
      `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}

/**
 * answerConnect answers a CONNECT request (the server's 'connect' event), which Node otherwise
 * answers by closing the connection without a word: 405 in problem+json, with an empty Allow, as
 * Tocsin tunnels nothing.
 */
export function answerConnect(_request: IncomingMessage, socket: Duplex): void {
  if (!socket.writable) return void socket.destroy();
  writeProblem(
    socket,
    { type: problemTypeFor(405), title: http.STATUS_CODES[405]!, status: 405, detail: 'Tocsin is no proxy: CONNECT is not allowed.' },
    'Allow: \r\n',
  );
  socket.end();
}

const HOST_FIELD = 'header.host';

/**
 * requireHost is an onRequest hook: an HTTP/1.1 request without a Host header, or any request with
 * more than one, is a 400 (RFC 9112 3.2); Node keeps the first of several and drops the others.
 */
export async function requireHost(request: FastifyRequest): Promise<void> {
  if (request.raw.httpVersion === '1.1' && !request.headers.host) {
    throw fieldError(HOST_FIELD, 'HTTP/1.1 requests must send a Host header');
  }
  const raw = request.raw.rawHeaders;
  let hosts = 0;
  for (let i = 0; i < raw.length; i += 2) if (raw[i]!.length === 4 && raw[i]!.toLowerCase() === 'host') hosts++;
  if (hosts > 1) throw fieldError(HOST_FIELD, 'must be sent once');
}

/** isMissingHost tells whether `error` is requireHost's (no Host, or more than one): a 400 on any path, one no route takes too (RFC 9112). */
export function isMissingHost(error: unknown): boolean {
  return error instanceof HttpError && error.errors?.[0]?.path === HOST_FIELD;
}

/**
 * answerUnmetExpectation answers a request whose Expect header asks for something other than
 * 100-continue (the server's 'checkExpectation' event): 417 in problem+json, where Node wrote a
 * bare 417 with no body. The request goes no further, so it reaches no route.
 */
export function answerUnmetExpectation(request: IncomingMessage, response: ServerResponse): void {
  const expectation = String(request.headers.expect ?? '').slice(0, 100);
  const problem: ProblemDocument = {
    type: problemTypeFor(417),
    title: http.STATUS_CODES[417]!,
    status: 417,
    detail: `The server meets no expectation but 100-continue (the request sent Expect: ${expectation}).`,
  };
  const body = JSON.stringify(problem);
  response.writeHead(417, { 'content-type': PROBLEM_MEDIA_TYPE, 'content-length': Buffer.byteLength(body), connection: 'close' });
  response.end(body);
}
