import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { postClient } from './post-client.js';

describe('postClient', () => {
  const closers: (() => void)[] = [];
  afterEach(() => {
    for (const close of closers.splice(0)) close();
  });

  it('posts each body whole with its headers over one kept-alive connection and reports the status', async () => {
    const received: { body: string; auth: string | undefined; type: string | undefined; socket: unknown }[] = [];
    const server = http.createServer((req, res) => {
      let body = '';
      req.setEncoding('utf8');
      req.on('data', (chunk: string) => (body += chunk));
      req.on('end', () => {
        received.push({ body, auth: req.headers.authorization, type: req.headers['content-type'], socket: req.socket });
        res.writeHead(received.length === 1 ? 202 : 503).end('{}');
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    closers.push(() => server.close());
    const client = postClient(`http://127.0.0.1:${(server.address() as AddressInfo).port}/alerts`, 1, { authorization: 'Bearer t' });
    closers.push(() => client.close());

    const first = await client.post('{"alerts":["é"]}');
    const second = await client.post('[]');

    expect([first.status, second.status]).toEqual([202, 503]);
    expect(first.ms).toBeGreaterThan(0);
    expect(received.map((r) => [r.body, r.auth, r.type])).toEqual([
      ['{"alerts":["é"]}', 'Bearer t', 'application/json'],
      ['[]', 'Bearer t', 'application/json'],
    ]);
    expect(received[1]!.socket).toBe(received[0]!.socket);
  });
});
