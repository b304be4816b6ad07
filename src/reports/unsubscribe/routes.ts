import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { RouteModule } from '../../http/context.js';
import { notFound } from '../../http/problem.js';
import { applyUnsubscribe } from './apply.js';
import { UnsubscribeLinks } from './links.js';
import type { UnsubscribeTarget } from './token.js';

const params = z.object({ token: z.string().min(1).max(500) });

const KIND_LABEL: Record<UnsubscribeTarget['kind'], string> = {
  summary: 'the 10-minute error summary',
  daily: 'the daily alerts report',
  immediate: 'the immediate Fatal alert emails',
};

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function page(title: string, body: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<meta name="robots" content="noindex"><title>${escapeHtml(title)}</title>
<style>body{font-family:system-ui,sans-serif;max-width:32rem;margin:4rem auto;padding:0 1rem;color:#1f2937}
button{font:inherit;padding:.5rem 1rem;border-radius:.375rem;border:1px solid #b91c1c;background:#dc2626;color:#fff;cursor:pointer}</style>
</head><body><h1>${escapeHtml(title)}</h1>${body}</body></html>`;
}

/**
 * unsubscribeRoutes are API.md's one-click unsubscribe endpoints (no login): GET shows a page with
 * a button and changes nothing (mail scanners follow links); POST, from the button or from the
 * mail client (RFC 8058 `List-Unsubscribe=One-Click`), turns that email off for that recipient.
 */
export const unsubscribeRoutes: RouteModule = (app, { storage, config, clock }) => {
  const links = new UnsubscribeLinks(storage.db, config.publicUrl, clock);
  const target = async (token: string) => {
    const found = await links.verify(token);
    if (!found) throw notFound('Unsubscribe link');
    return found;
  };

  app.get(
    '/unsubscribe/:token',
    { config: { access: 'public' }, schema: { params, description: 'Shows what the link unsubscribes from, with a button; changes nothing.' } },
    async (request, reply) => {
      const { recipient, kind } = await target(request.params.token);
      const body =
        `<p>Stop sending ${KIND_LABEL[kind]} to <strong>${escapeHtml(recipient.address)}</strong>?</p>` +
        `<form method="post"><input type="hidden" name="List-Unsubscribe" value="One-Click"><button type="submit">Unsubscribe</button></form>`;
      return reply.type('text/html; charset=utf-8').header('cache-control', 'no-store').send(page('Unsubscribe', body));
    },
  );

  // Mail clients post form-encoded or multipart bodies; the body carries nothing but the intent.
  void app.register(async (scope) => {
    scope.addContentTypeParser('*', { parseAs: 'string', bodyLimit: 4096 }, (_request, body, done) => done(null, body));
    scope.withTypeProvider<ZodTypeProvider>().post(
      '/unsubscribe/:token',
      {
        config: { access: 'public' },
        bodyLimit: 4096,
        schema: { params, description: 'RFC 8058 one-click unsubscribe (body `List-Unsubscribe=One-Click`) → 200.' },
      },
      async (request, reply) => {
        const found = await target(request.params.token);
        if (!(await applyUnsubscribe(storage.db, found, clock))) throw notFound('Unsubscribe link');
        const body = `<p>${escapeHtml(found.recipient.address)} will no longer receive ${KIND_LABEL[found.kind]}. You can turn it back on in your alert preferences.</p>`;
        return reply.type('text/html; charset=utf-8').header('cache-control', 'no-store').send(page('Unsubscribed', body));
      },
    );
  });
};
