import { z } from 'zod';
import type { RouteModule } from '../../http/context.js';
import { listOf } from '../../http/openapi.js';
import { notFound } from '../../http/problem.js';

/** caughtView documents a CaughtMessage, newest first in the list. */
const caughtView = z.object({
  id: z.string(),
  receivedAt: z.iso.datetime(),
  envelope: z.object({ from: z.string().nullable(), to: z.array(z.string()) }),
  messageId: z.string().nullable(),
  subject: z.string().nullable(),
  from: z.string().nullable(),
  to: z.string().nullable(),
  headers: z.record(z.string(), z.string()).describe('Lower-case names'),
  text: z.string().nullable(),
  html: z.string().nullable(),
});

/** mailCatcherRoutes let the host administrator read (and empty) the built-in catcher. */
export const mailCatcherRoutes: RouteModule = (app, { mailCatcher }) => {
  app.get('/api/v1/system/mail-catcher/messages', { config: { access: 'host', problems: [404], answer: listOf(caughtView) } }, async () => {
    if (!mailCatcher) throw notFound('Mail catcher (TOCSIN_SMTP_URL is set, so none runs)');
    return { items: await mailCatcher.messages() };
  });
  app.delete('/api/v1/system/mail-catcher/messages', { config: { access: 'host', status: 204, problems: [404] } }, async (_request, reply) => {
    if (!mailCatcher) throw notFound('Mail catcher (TOCSIN_SMTP_URL is set, so none runs)');
    await mailCatcher.clear();
    return reply.status(204).send();
  });
};
