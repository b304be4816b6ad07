import type { FastifyReply, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { RouteModule } from '../../http/context.js';
import { answerLinkPage } from '../../http/link-pages.js';
import { notFound } from '../../http/problem.js';
import type { Db } from '../../storage/database.js';
import { languageOf } from '../../recipients/eligibility.js';
import { applySubscription, recipientExists, unsubscribed } from './apply.js';
import { UnsubscribeLinks } from './links.js';
import { invalidLinkPage, unsubscribePage } from './page.js';
import type { UnsubscribeTarget } from './token.js';

/** The page speaks the recipient's language: the user's or group's, else the tenant's. */
async function pageLanguage(db: Db, target: UnsubscribeTarget) {
  const tenant = await db.selectFrom('tenants').select('language').where('id', '=', target.tenantId).executeTakeFirst();
  const own =
    target.recipient.type === 'user'
      ? await db.selectFrom('users').select('language').where('id', '=', target.recipient.id).executeTakeFirst()
      : await db.selectFrom('groups').select('language').where('id', '=', target.recipient.id).executeTakeFirst();
  return languageOf(own?.language ?? null, tenant?.language ?? null);
}

// No bound: a link cut short, or padded, is refused like any other that opens nothing (404).
const params = z.object({ token: z.string() });

/**
 * unsubscribeRoutes are API.md's one-click unsubscribe endpoints (no login): GET shows a page with
 * a button (for a link taken before, that it is done, with the button that undoes it) and changes
 * nothing (mail scanners follow links); POST, from the button or from the mail client (RFC 8058
 * `List-Unsubscribe=One-Click`), turns that email off for that recipient.
 */
export const unsubscribeRoutes: RouteModule = (app, { storage, config, clock, recipientChanges }) => {
  const links = new UnsubscribeLinks(storage.db, config.publicUrl, clock);
  const target = async (token: string) => {
    const found = await links.verify(token);
    if (!found) throw notFound('Unsubscribe link');
    return found;
  };
  // A link that does not work is a 404 problem, and a page in the browser's language for a person who clicked it.
  const answerNotFound = (request: FastifyRequest, reply: FastifyReply, work: () => Promise<string>) =>
    answerLinkPage(request, reply, work, (refusal, language) => (refusal.status === 404 ? invalidLinkPage(language) : undefined));

  app.get(
    '/unsubscribe/:token',
    {
      config: { access: 'public', refusalPages: [404, 503], page: 'What the link unsubscribes from, with a button' },
      schema: { params, description: 'Shows what the link unsubscribes from, with a button; changes nothing.' },
    },
    (request, reply) =>
      answerNotFound(request, reply, async () => {
        const found = await target(request.params.token);
        // The button would only lead to a 404: a removed user's or group's link is gone already.
        if (!(await recipientExists(storage.db, found))) throw notFound('Unsubscribe link');
        // A link taken before shows it done, with the button that undoes it, not the question again.
        const state = (await unsubscribed(storage.db, found)) ? 'unsubscribed' : 'ask';
        return unsubscribePage(found, await pageLanguage(storage.db, found), state, request.params.token);
      }),
  );

  // Mail clients post form-encoded or multipart bodies, but the body carries nothing but the intent:
  // whatever its type (JSON that does not parse, none at all) the POST still unsubscribes.
  void app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', { parseAs: 'string', bodyLimit: 4096 }, (_request, body, done) => done(null, body));
    const change = (url: string, subscribed: boolean, description: string, form?: z.ZodObject) =>
      scope.withTypeProvider<ZodTypeProvider>().post(
        url,
        {
          config: { access: 'public', refusalPages: [404, 503], page: 'What changed, in the recipient language', ...(form ? { form } : {}) },
          bodyLimit: 4096,
          schema: { params, description },
        },
        (request, reply) =>
          answerNotFound(request, reply, async () => {
            const found = await target(request.params.token);
            if (!(await applySubscription(storage.db, found, clock, subscribed))) throw notFound('Unsubscribe link');
            // Before the page leaves, as the app's hook counts other changes, for the link's own tenant (ChangeCount).
            await recipientChanges?.bump(found.tenantId);
            return unsubscribePage(found, await pageLanguage(storage.db, found), subscribed ? 'resubscribed' : 'unsubscribed', request.params.token);
          }),
      );
    // RFC 8058's body, which mail clients send: read as the intent, whatever it holds.
    const oneClick = z.object({ 'List-Unsubscribe': z.literal('One-Click').optional() });
    change('/unsubscribe/:token', false, 'RFC 8058 one-click unsubscribe (body `List-Unsubscribe=One-Click`) → 200.', oneClick);
    // The confirmation's "subscribe again" button: a POST only, as a mail scanner following links must not undo an unsubscribe.
    // Its button posts an empty form; a body past the 4 KiB both read is refused (413), which the form's documented body lists.
    change(
      '/unsubscribe/:token/resubscribe',
      true,
      'Turns back on what the link turned off, from the button of its confirmation page → 200 page.',
      z.object({}),
    );
  });
};
