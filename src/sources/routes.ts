import { z } from 'zod';
import { tenantOf } from '../access/routes.js';
import type { RouteModule } from '../http/context.js';
import { receptionView, sourceInput, sourcePatch, sourceView } from './model.js';
import {
  createSource,
  deleteSource,
  listReceptions,
  listSources,
  requireSource,
  rotateSecret,
  showSource,
  updateSource,
} from './store.js';

const ref = z.string().min(1).max(200);
const tenantParams = z.object({ tenant: ref });
const sourceParams = tenantParams.extend({ sourceId: ref });

/**
 * sourceRoutes manage a tenant's inbound sources: create (the secret is shown once), list, read,
 * change, delete, rotate the secret, and read the last receptions.
 */
export const sourceRoutes: RouteModule = (app, deps) => {
  const { storage, secretBox, clock, config } = deps;
  const db = storage.db;
  const base = '/api/v1/tenants/:tenant/sources';
  const show = (row: Parameters<typeof showSource>[0]) => showSource(row, config.publicUrl);

  app.post(
    base,
    {
      config: { permission: 'Sources.Edit', problems: [409] },
      schema: {
        params: tenantParams,
        body: sourceInput,
        response: { 201: sourceView.extend({ secret: z.string().describe('Shown only in this answer') }) },
        description:
          'Creates a source. The answer carries its `secret`, shown only here: paste it with `url` into the sender ' +
          '(Orchestrator\'s webhook Secret, Alertmanager\'s http_config.authorization.credentials, a Standard Webhooks signer).',
      },
    },
    async (request, reply) => {
      const { row, secret } = await createSource(db, secretBox, clock, tenantOf(request).id, request.body);
      return reply.status(201).send({ ...show(row), secret });
    },
  );
  app.get(
    base,
    { config: { permission: 'Sources.View' }, schema: { params: tenantParams, response: { 200: z.object({ items: z.array(sourceView) }) } } },
    async (request) => ({ items: (await listSources(db, tenantOf(request).id)).map(show) }),
  );
  app.get(
    `${base}/:sourceId`,
    { config: { permission: 'Sources.View' }, schema: { params: sourceParams, response: { 200: sourceView } } },
    async (request) => show(await requireSource(db, tenantOf(request).id, request.params.sourceId)),
  );
  app.patch(
    `${base}/:sourceId`,
    { config: { permission: 'Sources.Edit', problems: [409] }, schema: { params: sourceParams, body: sourcePatch, response: { 200: sourceView } } },
    async (request) => {
      const tenantId = tenantOf(request).id;
      const row = await requireSource(db, tenantId, request.params.sourceId);
      await updateSource(db, secretBox, clock, row, request.body);
      return show(await requireSource(db, tenantId, row.id));
    },
  );
  app.delete(
    `${base}/:sourceId`,
    { config: { permission: 'Sources.Edit' }, schema: { params: sourceParams } },
    async (request, reply) => {
      await deleteSource(db, tenantOf(request).id, request.params.sourceId);
      return reply.status(204).send();
    },
  );
  app.post(
    `${base}/:sourceId/rotate-secret`,
    {
      config: { permission: 'Sources.Edit' },
      schema: {
        params: sourceParams,
        response: { 200: z.object({ secret: z.string() }) },
        description: 'A new secret, shown only here; the previous one stays valid until the next rotation.',
      },
    },
    async (request) => {
      const row = await requireSource(db, tenantOf(request).id, request.params.sourceId);
      return { secret: await rotateSecret(db, secretBox, clock, row) };
    },
  );
  app.get(
    `${base}/:sourceId/receptions`,
    {
      config: { permission: 'Sources.View' },
      schema: {
        params: sourceParams,
        response: { 200: z.object({ items: z.array(receptionView) }) },
        description: 'The last 20 requests the source received, newest first, with their outcome.',
      },
    },
    async (request) => {
      const row = await requireSource(db, tenantOf(request).id, request.params.sourceId);
      return { items: await listReceptions(db, row.id) };
    },
  );
};
