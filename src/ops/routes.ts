import { z } from 'zod';
import type { RouteModule } from '../http/context.js';
import { serviceUnavailable } from '../http/problem.js';
import { OutageLog } from '../storage/outage-log.js';
import { checkReadiness, watchReadiness } from './readiness.js';

/** notReady is the answer of /readyz when it is not ready: JSON for probes and people, not a problem. */
const notReady = z.union([
  z.object({ status: z.literal('migrating'), pending: z.array(z.string()).describe('The migrations not applied yet') }),
  z.object({ status: z.literal('unavailable'), reason: z.string().describe('Why the database cannot be used, e.g. "database unreachable"') }),
]);

/** opsRoutes answer liveness, readiness and Prometheus scrapes; none needs credentials. */
export const opsRoutes: RouteModule = (app, { storage, metrics }) => {
  // A load balancer or Kubernetes probes every few seconds: an outage logs when it begins and when it
  // ends, as the background loops log theirs, not a warning (with its stack) per probe, hundreds in a half-hour outage.
  const unready = new OutageLog(app.log, { failed: 'readiness check failed', back: 'ready again' });
  watchReadiness(metrics.registry, storage);
  // Listed in the OpenAPI document: API.md names them, and load balancers and scrapers are its readers too.
  app.get(
    '/healthz',
    {
      config: { access: 'public', database: false, answer: z.object({ status: z.literal('ok') }) },
      schema: { description: 'The process is up → 200 `{status: "ok"}`.' },
    },
    async () => ({
      status: 'ok',
    }),
  );

  app.get(
    '/readyz',
    {
      config: {
        access: 'public',
        answer: z.object({ status: z.literal('ready'), database: z.enum(['sqlite', 'postgres']) }),
        otherAnswers: { 503: notReady },
      },
      schema: {
        description:
          'The database answers and every migration is applied → 200 `{status: "ready", database}`; 503 `{status: "migrating", pending}` or `{status: "unavailable", reason}` otherwise.',
      },
    },
    async (_request, reply) => {
      const readiness = await checkReadiness(storage);
      if (readiness.status === 'ready') {
        unready.worked();
        return readiness;
      }
      if (readiness.status === 'migrating') return reply.status(503).send(readiness);
      // A file replaced, a full disk or a read-only database is no failure of the check: it logged nothing before either.
      const { cause: _cause, error, ...answer } = readiness;
      if (error !== undefined) unready.failed(error);
      return reply.status(503).send(answer);
    },
  );

  // The answer's media type is declared, so that clients checking answers against the OpenAPI document accept it.
  const prometheusText = metrics.registry.contentType.split(';')[0]!;
  app.get(
    '/metrics',
    {
      config: { access: 'public', database: false, problems: [503] },
      schema: {
        description: 'Prometheus text format.',
        response: { 200: { description: 'The metrics.', content: { [prometheusText]: { schema: z.string() } } } },
      },
    },
    async (request, reply) => {
      // The whole of several api processes fails when one does not answer within 5 s (frozen, paused):
      // a scrape to try again, not a 500; a partial sum would look like a reset of every counter.
      const text = await metrics.text().catch((err: unknown) => {
        request.log.warn({ err }, 'could not gather the metrics of every api process');
        throw serviceUnavailable('The metrics of every api process could not be gathered now (one did not answer); retry later.');
      });
      return reply.type(metrics.registry.contentType).send(text);
    },
  );
};
