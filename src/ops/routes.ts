import { sql } from 'kysely';
import { z } from 'zod';
import type { RouteModule } from '../http/context.js';
import { unavailableReason } from '../storage/connect.js';
import { pendingMigrations } from '../storage/migrate.js';

/** opsRoutes answer liveness, readiness and Prometheus scrapes; none needs credentials. */
export const opsRoutes: RouteModule = (app, { storage, metrics }) => {
  // Listed in the OpenAPI document: API.md names them, and load balancers and scrapers are its readers too.
  app.get(
    '/healthz',
    { config: { access: 'public', answer: z.object({ status: z.literal('ok') }) }, schema: { description: 'The process is up → 200 `{status: "ok"}`.' } },
    async () => ({
      status: 'ok',
    }),
  );

  app.get(
    '/readyz',
    {
      config: { access: 'public', answer: z.object({ status: z.literal('ready'), database: z.enum(['sqlite', 'postgres']) }) },
      schema: {
        description:
          'The database answers and every migration is applied → 200 `{status: "ready", database}`; 503 `{status: "migrating", pending}` or `{status: "unavailable", reason}` otherwise.',
      },
    },
    async (request, reply) => {
      try {
        await sql`select 1`.execute(storage.db);
        const pending = await pendingMigrations(storage);
        if (pending.length > 0) return reply.status(503).send({ status: 'migrating', pending });
        return { status: 'ready', database: storage.dialect };
      } catch (err) {
        request.log.warn({ err }, 'readiness check failed');
        return reply.status(503).send({ status: 'unavailable', reason: unavailableReason(err) });
      }
    },
  );

  app.get('/metrics', { config: { access: 'public' }, schema: { description: 'Prometheus text format.' } }, async (_request, reply) => {
    return reply.type(metrics.registry.contentType).send(await metrics.registry.metrics());
  });
};
