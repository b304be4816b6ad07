import { sql } from 'kysely';
import type { RouteModule } from '../http/context.js';
import { unavailableReason } from '../storage/connect.js';
import { pendingMigrations } from '../storage/migrate.js';

/** opsRoutes answer liveness, readiness and Prometheus scrapes; none needs credentials. */
export const opsRoutes: RouteModule = (app, { storage, metrics }) => {
  app.get('/healthz', { config: { access: 'public' }, schema: { hide: true } }, async () => ({ status: 'ok' }));

  app.get('/readyz', { config: { access: 'public' }, schema: { hide: true } }, async (request, reply) => {
    try {
      await sql`select 1`.execute(storage.db);
      const pending = await pendingMigrations(storage);
      if (pending.length > 0) return reply.status(503).send({ status: 'migrating', pending });
      return { status: 'ready', database: storage.dialect };
    } catch (err) {
      request.log.warn({ err }, 'readiness check failed');
      return reply.status(503).send({ status: 'unavailable', reason: unavailableReason(err) });
    }
  });

  app.get('/metrics', { config: { access: 'public' }, schema: { hide: true } }, async (_request, reply) => {
    return reply.type(metrics.registry.contentType).send(await metrics.registry.metrics());
  });
};
