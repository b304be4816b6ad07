import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Config } from '../config.js';

/**
 * locationOf is the address of an object a POST to `request`'s path created: that path and the
 * object's id. Absolute under TOCSIN_PUBLIC_URL, whose base may carry a prefix that a proxy strips
 * before Tocsin sees the path; relative otherwise, since the derived http://HOST:PORT (HOST 0.0.0.0,
 * say) may not be an address the client can reach, while the request's own address is.
 */
function locationOf(request: FastifyRequest, config: Pick<Config, 'publicUrl' | 'publicUrlSet'>, id: string): string {
  const path = `${request.url.split('?')[0]!.replace(/\/+$/, '')}/${encodeURIComponent(id)}`;
  return config.publicUrlSet ? config.publicUrl + path : path;
}

/**
 * replyCreated answers 201 with the new object and its address in Location (RFC 9110, 15.3.2), so
 * that a script can keep or follow it without building the path itself. Its route declares
 * `created: true`, which puts the header in the OpenAPI document.
 */
export function replyCreated<T extends { readonly id: string }>(
  request: FastifyRequest,
  reply: FastifyReply,
  config: Pick<Config, 'publicUrl' | 'publicUrlSet'>,
  created: T,
) {
  return reply
    .status(201)
    .header('location', locationOf(request, config, created.id))
    .send(created);
}
