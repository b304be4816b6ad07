import crypto from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { tenantOf } from '../access/routes.js';
import type { RouteModule, TocsinApp } from '../http/context.js';
import { boundEntries } from '../http/input-guard.js';
import { PROBLEM_MEDIA_TYPE } from '../http/openapi.js';
import { notFound, problemTypeFor, titleFor } from '../http/problem.js';
import { replyCreated } from '../http/created.js';
import { type Receiver, MAX_RECEIVE_BYTES, type ReceiveAnswer, createReceiver } from './receive.js';
import { checkUpstream } from './pull/connector.js';
import { signedSample } from './samples.js';
import { MAPPING_BOUNDS, type SourceKind, receptionView, sourceInput, sourcePatch, sourceView } from './model.js';
import { SecretDecryptError } from '../settings/secret-box.js';
import { noBody } from '../shared/validation.js';
import {
  createSource,
  deleteSource,
  listReceptions,
  listSources,
  newestSecret,
  requireSource,
  receivePath,
  rotateSecret,
  showSource,
  updateSource,
} from './store.js';

const ref = z.string().min(1).max(200);
const tenantParams = z.object({ tenant: ref });
const sourceParams = tenantParams.extend({ sourceId: ref });

/** SOURCE_SECRET_UNREADABLE is a source test's answer when the secret its sender was given no longer opens. */
const SOURCE_SECRET_UNREADABLE = "The source's secret no longer decrypts (the secret key changed): rotate it and give the sender the new one.";

/** sendAnswer writes a receiver's answer: 202 `{ids}`, or a problem document with its headers. */
function sendAnswer(reply: FastifyReply, answer: ReceiveAnswer) {
  if (answer.headers) void reply.headers(answer.headers);
  if (answer.status === 202) return reply.status(202).send({ ids: answer.ids ?? [] });
  const status = answer.status;
  return reply
    .status(status)
    .type(PROBLEM_MEDIA_TYPE)
    .send({
      type: problemTypeFor(status),
      title: titleFor(status),
      status,
      detail: answer.detail ?? '',
      ...(answer.errors ? { errors: answer.errors } : {}),
    });
}

const rawBodies = new WeakMap<FastifyRequest, Buffer>();
/** The Content-Type each receive request came with, set aside from Fastify (see the onRequest hook) for its charset. */
const sentLabels = new WeakMap<FastifyRequest, string>();

// A mapping's records are counted before their entries are read (each override checks the catalogue).
const boundMapping = boundEntries(MAPPING_BOUNDS);
/**
 * receiveRoute registers the receive URL in its own scope, where every body is read as raw bytes
 * (at most MAX_RECEIVE_BYTES, else 413): signatures are checked on exactly the bytes received,
 * before any parsing. No Tocsin token: the source's secret authenticates the request.
 */
function receiveRoute(app: TocsinApp, receiver: Receiver) {
  void app.register(async (scope: TocsinApp) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: MAX_RECEIVE_BYTES }, (request, body, done) => {
      rawBodies.set(request, body as Buffer);
      done(null, undefined);
    });
    // The label is never read here (the bytes are), but Fastify answers 415 to one it cannot parse
    // (an empty `Content-Type:`, `garbage`) before any parser, the catch-all included: a 4xx the
    // sender drops for good (API.md lists none). Unlabelled, the body goes to the catch-all; the
    // label is given back to the receiver, which decodes the body in the charset it names.
    scope.addHook('onRequest', async (request) => {
      const label = request.headers['content-type'];
      if (label === undefined) return;
      sentLabels.set(request, label);
      request.headers['content-type'] = undefined;
    });
    // A body over the limit is refused before the handler runs: the source still counts it.
    scope.addHook('onError', async (request, _reply, error) => {
      if ((error as { code?: string }).code === 'FST_ERR_CTP_BODY_TOO_LARGE') await receiver.tooLarge((request.params as { sourceId: string }).sourceId);
    });
    scope.post(
      '/api/v1/sources/:sourceId/receive',
      {
        bodyLimit: MAX_RECEIVE_BYTES,
        // A received event forgets nothing the API keeps: each one did, so the principals, tenants and readers
        // kept were read again by every request and email while a webhook or an Alertmanager sent.
        config: { access: 'public', forgetsNothing: true, problems: [401, 503] },
        // The body is read raw and checked by the receiver after the signature; the schemas document it.
        validatorCompiler: () => (data) => ({ value: data }),
        schema: {
          // Read whatever its label (senders send JSON as application/json, text/plain or nothing): never a 415.
          consumes: ['*/*'],
          params: z.object({ sourceId: ref }),
          headers: z.object({
            'x-uipath-signature': z.string().optional().describe('orchestrator-webhook: Base64 HMAC-SHA256 of the raw body (sha256=hex accepted)'),
            authorization: z.string().optional().describe('alertmanager: Bearer <secret>, or Basic with the secret as password'),
            'webhook-id': z.string().optional().describe('webhook (Standard Webhooks): the message id, also the idempotency key'),
            'webhook-timestamp': z.string().optional().describe('webhook: Unix seconds, within 5 minutes of now'),
            'webhook-signature': z.string().optional().describe('webhook: space-separated v1,<Base64 HMAC-SHA256 of "id.timestamp.body">'),
            'svix-id': z.string().optional().describe('webhook: read as webhook-id when that is absent (Svix-powered senders)'),
            'svix-timestamp': z.string().optional().describe('webhook: read as webhook-timestamp when that is absent'),
            'svix-signature': z.string().optional().describe('webhook: read as webhook-signature when that is absent'),
          }),
          body: z
            .record(z.string(), z.unknown())
            .describe(
              "orchestrator-webhook: Orchestrator's webhook event; alertmanager: Alertmanager's webhook JSON (version 4); webhook: one AlertInput or {alerts: [AlertInput]}",
            ),
          response: { 202: z.object({ ids: z.array(z.string()) }) },
          description:
            "A source's receive URL (its `url`), authenticated by the source's secret, not a token. 202 {ids} once stored; a redelivered event " +
            'gets 202 with the same ids and stores nothing (an alert Alertmanager re-sends with its group: its first id); 400 malformed; ' +
            '401 bad or missing signature or a stale timestamp (a webhook-timestamp or an Orchestrator Timestamp over 5 minutes ' +
            'from now), its WWW-Authenticate naming what the kind sends (`Bearer realm="Tocsin source", Basic realm="Tocsin source", charset="UTF-8"`, ' +
            '`X-UiPath-Signature realm="Tocsin source"`, `Standard-Webhooks realm="Tocsin source"`); 404 unknown or ' +
            'disabled source; 413 over 1 MB; 503 with Retry-After when it cannot store now or the source is over its rate.',
        },
      },
      async (request, reply) => {
        // Read once: once validated, Fastify gives a new copy of the headers at each read.
        const headers = request.headers;
        headers['content-type'] = sentLabels.get(request);
        return sendAnswer(
          reply,
          await receiver.receive((request.params as { sourceId: string }).sourceId, headers, rawBodies.get(request) ?? Buffer.alloc(0), request.log),
        );
      },
    );
  });
}

/**
 * sourceRoutes manage a tenant's inbound sources: create (the secret is shown once), list, read,
 * change, delete, rotate the secret, and read the last receptions.
 */
export const sourceRoutes: RouteModule = (app, deps) => {
  const { storage, secretBox, clock, config } = deps;
  const db = storage.db;
  const base = '/api/v1/tenants/:tenant/sources';
  const show = (row: Parameters<typeof showSource>[0]) => showSource(row, config.publicUrl);
  // TOCSIN_ALLOW_PRIVATE_SMTP_HOSTS covers the pull sources' upstream addresses as well.
  const hosts = { allowPrivateHosts: config.allowPrivateSmtpHosts };
  const receiver = createReceiver(deps);
  receiveRoute(app, receiver);

  app.post(
    base,
    {
      config: { permission: 'Sources.Edit', problems: [409], created: true, secret: true },
      preValidation: boundMapping,
      schema: {
        params: tenantParams,
        body: sourceInput,
        response: { 201: sourceView.extend({ secret: z.string().describe('Shown only in this answer') }) },
        description:
          'Creates a source. The answer carries its `secret`, shown only here: paste it with `url` into the sender ' +
          "(Orchestrator's webhook Secret, Alertmanager's http_config.authorization.credentials, a Standard Webhooks signer).",
      },
    },
    async (request, reply) => {
      const { row, secret } = await createSource(db, secretBox, clock, tenantOf(request).id, request.body, hosts);
      return replyCreated(request, reply, config, { ...show(row), secret });
    },
  );
  app.get(
    base,
    { config: { permission: 'Sources.View' }, schema: { params: tenantParams, response: { 200: z.object({ items: z.array(sourceView) }) } } },
    async (request) => ({ items: (await listSources(db, tenantOf(request).id)).map(show) }),
  );
  app.get(`${base}/:sourceId`, { config: { permission: 'Sources.View' }, schema: { params: sourceParams, response: { 200: sourceView } } }, async (request) =>
    show(await requireSource(db, tenantOf(request).id, request.params.sourceId)),
  );
  app.patch(
    `${base}/:sourceId`,
    {
      config: { permission: 'Sources.Edit', problems: [409], created: true },
      preValidation: boundMapping,
      schema: { params: sourceParams, body: sourcePatch, response: { 200: sourceView } },
    },
    async (request) => {
      const tenantId = tenantOf(request).id;
      const row = await requireSource(db, tenantId, request.params.sourceId);
      await updateSource(db, secretBox, clock, row, request.body, hosts);
      receiver.forget(row.id);
      return show(await requireSource(db, tenantId, row.id));
    },
  );
  app.delete(`${base}/:sourceId`, { config: { permission: 'Sources.Edit', status: 204 }, schema: { params: sourceParams } }, async (request, reply) => {
    await deleteSource(db, tenantOf(request).id, request.params.sourceId);
    receiver.forget(request.params.sourceId);
    return reply.status(204).send();
  });
  app.post(
    `${base}/:sourceId/rotate-secret`,
    {
      config: { permission: 'Sources.Edit', secret: true },
      schema: {
        params: sourceParams,
        body: noBody,
        response: { 200: z.object({ secret: z.string() }) },
        description: 'A new secret, shown only here; the previous one stays valid until the next rotation.',
      },
    },
    async (request) => {
      const row = await requireSource(db, tenantOf(request).id, request.params.sourceId);
      const secret = await rotateSecret(db, secretBox, clock, row);
      receiver.forget(row.id);
      return { secret };
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
  app.post(
    `${base}/:sourceId/test`,
    {
      config: { permission: 'Sources.Edit' },
      schema: {
        params: sourceParams,
        body: noBody,
        response: { 200: z.object({ ok: z.boolean(), alertIds: z.array(z.string()), status: z.number().int(), detail: z.string().nullable() }) },
        description:
          "Sends the source's receive URL a sample event of its kind, signed with its newest secret, and answers what came of it: " +
          'ok and the stored alert ids, or the status and detail the receiver answered (a disabled source answers 404). ' +
          'An orchestrator-pull source signs in upstream and reads its latest alerts, importing none: ok, or the status ' +
          '(0: no answer) and error of the upstream.',
      },
    },
    async (request) => {
      const row = await requireSource(db, tenantOf(request).id, request.params.sourceId);
      // A pull source has no receive URL: its test is a sign-in and a read upstream.
      if (row.kind === 'orchestrator-pull') return { alertIds: [], ...(await checkUpstream(row, secretBox, clock.now(), hosts)) };
      const secret = await newestSecret(db, secretBox, row.id).catch((err: unknown) => {
        if (err instanceof SecretDecryptError) return null;
        throw err;
      });
      // Sealed under another key (a backup restored without its own): what its receive URL answers, and the way out.
      if (secret === null) return { ok: false, alertIds: [], status: 503, detail: SOURCE_SECRET_UNREADABLE };
      // None left: the source was deleted since it was read (its secrets go with it), so it is answered as one deleted before.
      if (secret === undefined) throw notFound('Source');
      const sample = signedSample(row.kind as SourceKind, secret, clock.now(), crypto.randomUUID());
      const res = await app.inject({ method: 'POST', url: receivePath(row.id), headers: sample.headers, payload: sample.body });
      const answer = res.json<{ ids?: string[]; detail?: string }>();
      return { ok: res.statusCode === 202, alertIds: answer.ids ?? [], status: res.statusCode, detail: answer.detail ?? null };
    },
  );
};
