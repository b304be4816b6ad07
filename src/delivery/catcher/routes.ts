import { z } from 'zod';
import type { RouteModule } from '../../http/context.js';
import { listOf } from '../../http/openapi.js';
import { notThere } from '../../http/problem.js';

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

/** NO_CATCHER is the 404 of the catcher's routes when emails go to a real server. */
const NO_CATCHER = 'No mail catcher runs: TOCSIN_SMTP_URL is set, so emails go to that server.';

/** mailCatcherRoutes let the host administrator read (and empty) the built-in catcher. */
export const mailCatcherRoutes: RouteModule = (app, { mailCatcher }) => {
  app.get('/api/v1/system/mail-catcher/messages', { config: { access: 'host', problems: [404], answer: listOf(caughtView) } }, async () => {
    if (!mailCatcher) throw notThere(NO_CATCHER);
    return { items: await mailCatcher.messages() };
  });
  app.delete('/api/v1/system/mail-catcher/messages', { config: { access: 'host', status: 204, problems: [404] } }, async (_request, reply) => {
    if (!mailCatcher) throw notThere(NO_CATCHER);
    await mailCatcher.clear();
    return reply.status(204).send();
  });
};
