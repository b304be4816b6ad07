import { execFile } from 'node:child_process';
import net from 'node:net';
import { promisify } from 'node:util';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, type TestApp, startTestApp } from '../../test/support/http.js';
import { BODY_LIMIT_BYTES } from './app.js';
import { captureWarnings } from '../../test/support/log-capture.js';
import { describeEachDialect } from '../../test/support/storage.js';

const run = promisify(execFile);

/** exchange sends raw bytes to the server and returns everything it answered before closing. */
function exchange(port: number, data: Buffer): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => socket.end(data));
    let answer = '';
    socket.on('data', (chunk: Buffer) => (answer += chunk.toString('latin1')));
    socket.on('close', () => resolve(answer));
    socket.on('error', reject);
    socket.setTimeout(5_000, () => socket.destroy(new Error('no answer within 5 s')));
  });
}

/** statusAndType reads the status code and content type of the first answer in a raw exchange. */
function statusAndType(answer: string): { status: number; type: string | undefined } {
  const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(answer)?.[1]);
  const type = /\r\ncontent-type: ([^\r\n]+)/i.exec(answer)?.[1];
  return { status, type };
}

/**
 * postFromAnotherProcess POSTs `bytes` spaces labelled JSON with http.request from a process of its own,
 * as a real client does (in this one, the server read only between the client's writes), and returns
 * the answer's status, content type and body, or 'no answer: <code>'.
 */
async function postFromAnotherProcess(port: number, path: string, headers: Record<string, string>, bytes: number): Promise<string> {
  const client = `
    const http = require('node:http');
    const [port, path, headers, bytes] = JSON.parse(process.argv[1]);
    const request = http.request({ host: '127.0.0.1', port, method: 'POST', path, headers: { ...headers, 'content-type': 'application/json' } }, (response) => {
      let text = '';
      response.on('data', (chunk) => (text += chunk));
      response.on('end', () => console.log(response.statusCode + ' ' + response.headers['content-type'] + ' ' + text));
    });
    request.on('error', (error) => console.log('no answer: ' + error.code));
    request.on('socket', (socket) => socket.on('error', () => {}));
    request.end(Buffer.alloc(bytes, 0x20));`;
  return (await run(process.execPath, ['-e', client, JSON.stringify([port, path, headers, bytes])])).stdout;
}

// Only SQLite: what is tested here happens before any route or storage is reached.
describe('requests that are not valid HTTP, over a real socket', () => {
  let t: TestApp;
  let port: number;
  beforeAll(async () => {
    t = await startTestApp('sqlite', {}, { listen: true });
    port = Number(new URL(t.tocsin.url!).port);
  });
  afterAll(() => t.close());

  it.each([
    ['a garbage request line', 'HELLO\r\n\r\n', 400],
    ['an HTTP/1.1 request without a Host header', 'GET /healthz HTTP/1.1\r\n\r\n', 400],
    ['an HTTP/1.1 request without a Host header to a path no route takes', 'GET /no-such-path HTTP/1.1\r\n\r\n', 400],
    // RFC 9112 3.2: more than one Host is a 400 too; Node kept the first and the request was served.
    ['a request with two Host headers', 'GET /healthz HTTP/1.1\r\nHost: x\r\nhost: y\r\n\r\n', 400],
    ['a request with the same Host header twice', 'GET /healthz HTTP/1.1\r\nHost: x\r\nHOST: x\r\n\r\n', 400],
    ['bytes that are not UTF-8 in the path', Buffer.from('GET /api/v1/tenants/\xff\xfe HTTP/1.1\r\nHost: x\r\n\r\n', 'latin1'), 400],
    ['a control character in a header', 'GET /healthz HTTP/1.1\r\nHost: x\r\nX-A: a\x01b\r\n\r\n', 400],
    ['a Content-Length that is not a number', 'POST /api/v1/tenants HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n', 400],
    ['headers larger than the limit', `GET /healthz HTTP/1.1\r\nHost: x\r\nX-A: ${'a'.repeat(20_000)}\r\n\r\n`, 431],
    // A URL past the limit on the request line and its headers is too long a URI, not too large headers.
    ['a request line longer than the limit', `GET /api/v1/tenants/acme/alerts?component=${'a'.repeat(20_000)} HTTP/1.1\r\nHost: x\r\n\r\n`, 414],
    ['a path longer than the limit, in absolute form', `GET http://x/api/v1/tenants/${'a'.repeat(30_000)} HTTP/1.1\r\nHost: x\r\n\r\n`, 414],
    ['a header line holding what looks like a request line', `GET /healthz HTTP/1.1\r\nHost: x\r\nX-A: GET /${'a'.repeat(20_000)}\r\n\r\n`, 431],
    ['a megabyte of headers in many lines', `GET /healthz HTTP/1.1\r\nHost: x\r\n${`X-A: ${'a'.repeat(1_000)}\r\n`.repeat(1_000)}\r\n`, 431],
    [
      'a body shorter than announced',
      `POST /api/v1/tenants HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${ADMIN_TOKEN}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"na`,
      400,
    ],
    // Node answers an expectation it does not know with a bare 417 and no body unless told otherwise.
    // Node closes the connection of a CONNECT without a word unless told otherwise: Tocsin is no proxy.
    ['a CONNECT request', 'CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n', 405],
    ['an Expect other than 100-continue', 'POST /api/v1/tenants HTTP/1.1\r\nHost: x\r\nExpect: x\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}', 417],
  ])('answers %s in problem+json', async (_what, request, expected) => {
    const answer = await exchange(port, Buffer.isBuffer(request) ? request : Buffer.from(request, 'latin1'));
    expect(statusAndType(answer)).toEqual({ status: expected, type: expect.stringMatching(/^application\/problem\+json/) });
    const problem = JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4));
    expect(problem).toMatchObject({ status: expected, title: expect.any(String) });
    // Every 400 names where the input is wrong (API.md), even one Node refused before any route.
    if (expected === 400) expect(problem.errors).toEqual([{ path: expect.any(String), message: expect.any(String) }]);
  });

  it('takes a request-target in absolute form (as a proxy sends it) as its path: Location, Orchestrator paths and errors as in origin form', async () => {
    // RFC 9112 3.2.2: a server must take it. The URL was used as the path: a 201's Location was the client's
    // http://evil.example/api/v1/tenants/{id} (after TOCSIN_PUBLIC_URL when set, glued to it), /odata/alerts
    // in another case a 404, and an OData error without OData-Version and Orchestrator's fields.
    const body = '{"name":"absolute-form"}';
    const created = await exchange(
      port,
      Buffer.from(
        `POST http://evil.example/api/v1/tenants HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${ADMIN_TOKEN}\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`,
      ),
    );
    expect(statusAndType(created).status).toBe(201);
    const { id } = JSON.parse(created.slice(created.indexOf('\r\n\r\n') + 4));
    expect(/\r\nlocation: ([^\r\n]+)/i.exec(created)?.[1]).toBe(`/api/v1/tenants/${id}`);
    const get = (target: string) =>
      exchange(
        port,
        Buffer.from(`GET ${target} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${ADMIN_TOKEN}\r\nX-Tocsin-Tenant: absolute-form\r\nConnection: close\r\n\r\n`),
      );
    const listed = await get('http://x/odata/alerts?$top=1');
    expect(statusAndType(listed).status).toBe(200);
    expect(listed).toMatch(/\r\nodata-version: 4\.0\r\n/i);
    const missing = await get('HTTPS://x:8080/odata/Nope');
    expect(statusAndType(missing).status).toBe(404);
    expect(JSON.parse(missing.slice(missing.indexOf('\r\n\r\n') + 4))).toMatchObject({ detail: 'No route GET /odata/Nope.', errorCode: 404 });
  });

  // Fastify closed the connection after any body its parser refused ("the client may send more data"),
  // though the whole body had come: the next request on the connection (a pipelined one, a keep-alive
  // client's) was lost with it. One whose body was not all read (413) still closes it.
  it.each([
    ['is no JSON', 'application/json', '{"name":'],
    ['nests too deep', 'application/json', `${'['.repeat(100)}${']'.repeat(100)}`],
    ['is of a type no route takes', 'text/csv', 'a,b'],
    ['is in a charset Tocsin does not read', 'application/json; charset=x-klingon', '{}'],
  ])('keeps the connection for the next request after refusing a body that %s', async (_what, type, body) => {
    const refused = `POST /api/v1/tenants HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${ADMIN_TOKEN}\r\nContent-Type: ${type}\r\nContent-Length: ${body.length}\r\n\r\n${body}`;
    const next = 'GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n';
    const answer = await exchange(port, Buffer.from(refused + next, 'latin1'));
    expect(
      [...answer.matchAll(/HTTP\/1\.1 (\d{3}) /g)].map((m) => Number(m[1])),
      answer,
    ).toEqual([expect.any(Number), 200]);
    expect(statusAndType(answer).status).toBeGreaterThanOrEqual(400);
  });

  // Node's parser refuses the headers while the body is still coming: the answer was written and the
  // connection closed at once, so the body's bytes still arriving made the kernel reset it, and the
  // client (fetch, http.request) mostly got ECONNRESET instead of the 431 or 414.
  it.each([
    ['headers larger than the limit', '/api/v1/tenants', { 'x-large': 'a'.repeat(20_000) }, 431],
    ['a URI longer than the limit', `/api/v1/tenants?x=${'a'.repeat(20_000)}`, {}, 414],
  ])('answers %s to a client still sending a large body, rather than resetting the connection', async (_what, path, headers, expected) => {
    for (let attempt = 0; attempt < 3; attempt++) {
      const answer = await postFromAnotherProcess(port, path, headers, 8 * 1024 * 1024);
      expect(answer, `attempt ${attempt + 1}`).toMatch(new RegExp(`^${expected} application/problem\\+json`));
    }
  });

  // Fastify answers a Content-Length over the limit at once, with Connection: close: Node closed the
  // connection under the body still coming, and about half of the clients got EPIPE instead of the 413.
  it('answers 413 to a client still sending a body over the size limit, rather than resetting the connection', async () => {
    for (let attempt = 0; attempt < 3; attempt++) {
      const answer = await postFromAnotherProcess(port, '/api/v1/tenants', { authorization: `Bearer ${ADMIN_TOKEN}` }, BODY_LIMIT_BYTES + 4 * 1024 * 1024);
      expect(answer, `attempt ${attempt + 1}`).toMatch(/^413 application\/problem\+json/);
    }
  });

  // A client that says Connection: close (Python's urllib does) had its connection closed under the
  // body still coming, after an answer given before it had come (a 413 from its Content-Length, a 401
  // from its headers): urllib got BrokenPipeError instead of that answer, for every body of a few MB.
  it.each([
    ['413 to a body over the size limit', { authorization: `Bearer ${ADMIN_TOKEN}` }, BODY_LIMIT_BYTES + 4 * 1024 * 1024, 413],
    ['401 to a body without a token', {}, 8 * 1024 * 1024, 401],
  ])('answers %s to a client that says Connection: close, rather than closing under its body', async (_what, headers, bytes, expected) => {
    for (let attempt = 0; attempt < 3; attempt++) {
      const answer = await postFromAnotherProcess(port, '/api/v1/tenants', { ...headers, connection: 'close' }, bytes);
      expect(answer, `attempt ${attempt + 1}`).toMatch(new RegExp(`^${expected} application/problem\\+json`));
    }
  });

  // The refusal of a pipelined request went out at once, ahead of the answer to the request before it:
  // the client read it as that answer (a 400 for its GET /healthz), and the real one was lost.
  it.each([
    ['a request that is not HTTP', 'GARBAGE\r\n\r\n', 400],
    ['headers larger than the limit', `GET /healthz HTTP/1.1\r\nHost: x\r\nX-A: ${'a'.repeat(20_000)}\r\n\r\n`, 431],
  ])('answers the requests ahead of %s first, in order, then refuses it', async (_what, bad, expected) => {
    const ahead = `GET /healthz HTTP/1.1\r\nHost: x\r\n\r\nGET /api/v1/tenants HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${ADMIN_TOKEN}\r\n\r\n`;
    const answer = await exchange(port, Buffer.from(ahead + bad, 'latin1'));
    expect(
      [...answer.matchAll(/HTTP\/1\.1 (\d{3}) /g)].map((m) => Number(m[1])),
      answer,
    ).toEqual([200, 200, expected]);
  });

  it('serves a well-formed request over the same socket path', async () => {
    const answer = await exchange(port, Buffer.from('GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n'));
    expect(statusAndType(answer)).toEqual({ status: 200, type: 'application/json; charset=utf-8' });
  });

  it('answers random bytes after a request line with a non-5xx, problem+json on errors', async () => {
    const printableOrNot = fc.uint8Array({ minLength: 0, maxLength: 200 }).map((bytes) => Buffer.from(bytes));
    await fc.assert(
      fc.asyncProperty(fc.constantFrom('GET /healthz', 'POST /api/v1/tenants', 'GET /api/v1/tenants/x/users'), printableOrNot, async (line, tail) => {
        const answer = await exchange(port, Buffer.concat([Buffer.from(`${line} HTTP/1.1\r\n`), tail, Buffer.from('\r\n\r\n')]));
        const { status, type } = statusAndType(answer);
        expect(status).toBeLessThan(500);
        if (status >= 400) expect(type).toMatch(/^application\/problem\+json/);
      }),
      { numRuns: 60 },
    );
  });
});

describe('a request whose body stalls, over a real socket', () => {
  const LIMIT_MS = 400;
  let t: TestApp;
  let port: number;
  beforeAll(async () => {
    t = await startTestApp('sqlite', { TOCSIN_HTTP_BODY_TIMEOUT_MS: String(LIMIT_MS) }, { listen: true });
    port = Number(new URL(t.tocsin.url!).port);
  });
  afterAll(() => t.close());

  it('is answered 408 in problem+json and closed within the configured time', async () => {
    const started = performance.now();
    const answer = await new Promise<string>((resolve, reject) => {
      const socket = net.connect(port, '127.0.0.1', () =>
        // The headers promise 100 bytes of body; 4 come, then nothing, and the socket stays open.
        socket.write(
          `POST /api/v1/tenants HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${ADMIN_TOKEN}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"na`,
        ),
      );
      let received = '';
      socket.on('data', (chunk: Buffer) => (received += chunk.toString('latin1')));
      socket.on('close', () => resolve(received));
      socket.on('error', reject);
    });
    const elapsed = performance.now() - started;
    expect(statusAndType(answer)).toEqual({ status: 408, type: expect.stringMatching(/^application\/problem\+json/) });
    expect(JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4))).toMatchObject({ status: 408, detail: expect.any(String) });
    // The server closed it (the client has no timer) on its configured limit, not the 30 s default;
    // the upper bound is loose so a loaded machine does not make it flaky.
    expect(elapsed).toBeGreaterThanOrEqual(LIMIT_MS / 2);
    expect(elapsed).toBeLessThan(10_000);
  });

  it('answered from its headers alone (401), gets that one answer: the connection is closed, with no 408 after it', async () => {
    const answer = await new Promise<string>((resolve, reject) => {
      const socket = net.connect(port, '127.0.0.1', () =>
        // No token: refused before its body is read. 4 of the 100 bytes promised come, then nothing.
        socket.write(`POST /api/v1/tenants HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"na`),
      );
      let received = '';
      socket.on('data', (chunk: Buffer) => (received += chunk.toString('latin1')));
      socket.on('close', () => resolve(received));
      socket.on('error', reject);
    });
    // One request, one answer: a 408 written after the 401 reached the client as a second answer to it.
    expect(answer.match(/HTTP\/1\.1 \d{3}/g)).toEqual(['HTTP/1.1 401']);
  });

  it('answered from its headers alone, then its whole body sent, answers the next request of the connection that stalls with 408', async () => {
    const answer = await new Promise<string>((resolve, reject) => {
      const socket = net.connect(port, '127.0.0.1', () =>
        socket.write(`POST /api/v1/tenants HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 12\r\n\r\n{"na`),
      );
      let received = '';
      socket.on('data', (chunk: Buffer) => {
        // Once refused, the rest of the body, then the start of a second request that never ends.
        if (received === '') socket.write('me":"x"}GET /healthz HTTP/1.1\r\nHo');
        received += chunk.toString('latin1');
      });
      socket.on('close', () => resolve(received));
      socket.on('error', reject);
    });
    expect(answer.match(/HTTP\/1\.1 \d{3}/g)).toEqual(['HTTP/1.1 401', 'HTTP/1.1 408']);
  });
});

describe('a request whose client gives up mid-body, over a real socket', () => {
  let t: TestApp;
  let port: number;
  const { log, entries } = captureWarnings();
  beforeAll(async () => {
    t = await startTestApp('sqlite', {}, { listen: true, logger: log });
    port = Number(new URL(t.tocsin.url!).port);
  });
  afterAll(() => t.close());

  // Node's 'aborted' error has the code ECONNRESET, as a database connection that drops has.
  it('is not logged as the database being unavailable', async () => {
    await new Promise<void>((resolve, reject) => {
      // The headers promise 100 bytes of body; 4 come, then the client closes the connection.
      const socket = net.connect(port, '127.0.0.1', () =>
        socket.write(
          `POST /api/v1/tenants HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${ADMIN_TOKEN}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"na`,
          () => setTimeout(() => socket.destroy(), 100),
        ),
      );
      socket.on('close', () => resolve());
      socket.on('error', reject);
    });
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(entries.map((e) => e.msg)).not.toContainEqual(expect.stringMatching(/database/));
  });
});

// A client that sends its request and then shuts down its sending side (socket.end(request) in Node,
// shutdown(SHUT_WR), `nc -N`) still reads the answer: Node took that FIN for the client going away and
// dropped every request whose answer was not written yet, so on PostgreSQL each one (and on SQLite a
// sign-in, whose password hash takes a moment) got no answer at all.
describeEachDialect('a request whose client half-closes the connection after sending it, over a real socket', (dialect) => {
  let t: TestApp;
  let port: number;
  beforeAll(async () => {
    t = await startTestApp(dialect, {}, { listen: true });
    port = Number(new URL(t.tocsin.url!).port);
    await t.call('POST', '/api/v1/tenants', { name: 'half-closed' });
    const user = { email: 'ann@half-closed.example.com', name: 'Ann', password: 'the right one' };
    expect((await t.call('POST', '/api/v1/tenants/half-closed/users', user)).statusCode).toBe(201);
  });
  afterAll(() => t.close());

  const signIn = JSON.stringify({ tenant: 'half-closed', email: 'ann@half-closed.example.com', password: 'not the one' });
  it.each([
    ['GET /readyz', 'GET /readyz HTTP/1.1\r\nHost: x\r\n\r\n', 200],
    ['a tenant list', `GET /api/v1/tenants HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${ADMIN_TOKEN}\r\n\r\n`, 200],
    [
      'a sign-in with a wrong password',
      `POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${signIn.length}\r\n\r\n${signIn}`,
      401,
    ],
  ])('answers %s before closing', async (_what, request, expected) => {
    const answer = await exchange(port, Buffer.from(request, 'latin1'));
    expect(statusAndType(answer).status, answer).toBe(expected);
  });
});
