import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { TocsinApp } from './context.js';

/** How often a closing server looks again for connections that carry no request. */
const SWEEP_MS = 50;

/** The connections of each tracked server that are open, and how many requests each carries now. */
const tracked = new WeakMap<Server, { open: Set<Socket>; busy: Map<Socket, number> }>();

/**
 * trackConnections follows which of a server's connections carry a request, from its first one.
 * Node's `close` waits for every connection to end, yet ends only those that finished a request
 * and wait for the next: one on which no request has begun (a browser's preconnect, a client that
 * gave up between connecting and writing) or whose headers never complete would hold a closing
 * Tocsin open for good, as Node stops timing requests out once it closes. closeHttp ends those.
 */
export function trackConnections(server: Server): void {
  const open = new Set<Socket>();
  // A count, not a flag: a pipelining client's next request is in flight before the one ahead is answered.
  const busy = new Map<Socket, number>();
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
    busy.set(socket, (busy.get(socket) ?? 0) + 1);
    response.once('close', () => {
      const left = (busy.get(socket) ?? 1) - 1;
      if (left > 0) busy.set(socket, left);
      else busy.delete(socket);
    });
  });
}

/**
 * closeHttp closes the app gracefully and in bounded time: requests in flight finish (and Node
 * then ends their connections), new connections are refused, and a connection carrying no request
 * is ended at once, and again while the close waits, instead of holding the close until its
 * client hangs up. A connection still writing an answer is left to finish it.
 */
export async function closeHttp(app: TocsinApp): Promise<void> {
  const connections = tracked.get(app.server as Server);
  const endIdle = () => {
    if (!connections) return;
    for (const socket of connections.open) if (!connections.busy.has(socket) && socket.writableLength === 0) socket.destroy();
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
