import type { RouteModule } from '../../http/context.js';
import { notFound } from '../../http/problem.js';

/** mailCatcherRoutes let the host administrator read (and empty) the built-in catcher. */
export const mailCatcherRoutes: RouteModule = (app, { mailCatcher }) => {
  app.get('/api/v1/system/mail-catcher/messages', { config: { access: 'host', problems: [404] } }, async () => {
    if (!mailCatcher) throw notFound('Mail catcher (TOCSIN_SMTP_URL is set, so none runs)');
    return { items: await mailCatcher.messages() };
  });
  app.delete('/api/v1/system/mail-catcher/messages', { config: { access: 'host', status: 204, problems: [404] } }, async (_request, reply) => {
    if (!mailCatcher) throw notFound('Mail catcher (TOCSIN_SMTP_URL is set, so none runs)');
    await mailCatcher.clear();
    return reply.status(204).send();
  });
};
