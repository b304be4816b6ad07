import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { TocsinApp } from './context.js';

/** How often a closing server looks again for connections that carry no request. */
const SWEEP_MS = 50;

/**
 * How long a closing server waits for the rest of a request's body. An upload under way finishes
 * within it; one that stalled would hold the close (Node times no request out once it closes) until
 * `tocsin serve`'s grace ran out and the process exited 1 without closing its database. Nothing of
 * such a request has run: its handler waits for the whole body.
 */
const CLOSE_BODY_WAIT_MS = 5_000;

/** The connections of each tracked server that are open, and the requests each carries now with their answers. */
const tracked = new WeakMap<Server, { open: Set<Socket>; busy: Map<Socket, Map<IncomingMessage, ServerResponse>> }>();

/**
 * trackConnections follows which of a server's connections carry a request, from its first one.
 * Node's `close` waits for every connection to end, yet ends only those that finished a request
 * and wait for the next: one on which no request has begun (a browser's preconnect, a client that
 * gave up between connecting and writing) or whose headers never complete would hold a closing
 * Tocsin open for good, as Node stops timing requests out once it closes. closeHttp ends those.
 */
export function trackConnections(server: Server): void {
  const open = new Set<Socket>();
  // A map, not a flag: a pipelining client's next request is in flight before the one ahead is answered.
  // The answers are kept here, not in a WeakMap by request: a WeakMap entry per request cost an api
  // process about 5 % of its alerts a second (bench/ingest.ts, alternating runs).
  const busy = new Map<Socket, Map<IncomingMessage, ServerResponse>>();
  tracked.set(server, { open, busy });
  server.on('connection', (socket: Socket) => {
    open.add(socket);
    socket.once('close', () => {
      open.delete(socket);
      busy.delete(socket);
    });
  });
  // Node emits 'request' once a request's headers are in: from then on it is in flight.
  server.on('request', (request: IncomingMessage, response: ServerResponse) => {
    const socket = request.socket;
    const requests = busy.get(socket) ?? new Map<IncomingMessage, ServerResponse>();
    requests.set(request, response);
    busy.set(socket, requests);
    response.once('close', () => {
      requests.delete(request);
      if (requests.size === 0 && busy.get(socket) === requests) busy.delete(socket);
    });
  });
}

/**
 * afterAnswersAhead calls `then` once the requests on `socket` that have all come have their answers
 * written (at once when none is waiting for one): an answer written straight to the socket, for a
 * pipelined request Node could not parse, goes after theirs, not in their place. Still unanswered
 * after `waitMs`, the connection is destroyed: no answer can follow theirs.
 */
export function afterAnswersAhead(socket: Duplex, waitMs: number, then: () => void): void {
  const server = (socket as Socket & { server?: Server | null }).server;
  const requests = server ? tracked.get(server)?.busy.get(socket as Socket) : undefined;
  const ahead = [...(requests ?? [])].flatMap(([request, response]) => (request.complete && !response.closed ? [response] : []));
  if (ahead.length === 0) {
    then();
    return;
  }
  let left = ahead.length;
  const done = () => {
    if (--left > 0) return;
    clearTimeout(timer);
    then();
  };
  const timer = setTimeout(() => socket.destroy(), waitMs);
  timer.unref();
  for (const response of ahead) response.once('close', done);
}

/**
 * closeHttp closes the app gracefully and in bounded time: requests in flight finish (and Node
 * then ends their connections), new connections are refused, and a connection carrying no request
 * is ended at once, and again while the close waits, instead of holding the close until its
 * client hangs up. A connection still writing an answer is left to finish it; one whose request's
 * body has not all come `CLOSE_BODY_WAIT_MS` into the close is ended.
 */
export async function closeHttp(app: TocsinApp): Promise<void> {
  const connections = tracked.get(app.server as Server);
  const bodyDeadline = Date.now() + CLOSE_BODY_WAIT_MS;
  const endIdle = () => {
    if (!connections) return;
    const stalled = Date.now() >= bodyDeadline;
    for (const socket of connections.open) {
      const requests = connections.busy.get(socket);
      if (requests === undefined) {
        if (socket.writableLength === 0) socket.destroy();
      } else if (stalled && [...requests.keys()].some((request) => !request.complete)) {
        socket.destroy();
      }
    }
  };
  const closing = app.close();
  endIdle();
  const sweep = setInterval(endIdle, SWEEP_MS);
  try {
    await closing;
  } finally {
    clearInterval(sweep);
  }
}
