import fastifyCookie from '@fastify/cookie';
import fastifySwagger from '@fastify/swagger';
import Fastify, { LogController } from 'fastify';
import {
  type ZodTypeProvider,
  hasZodFastifySchemaValidationErrors,
  jsonSchemaTransform,
  serializerCompiler,
  validatorCompiler,
} from 'fastify-type-provider-zod';
import { accessHook } from './access-hook.js';
import type { AppDeps, RouteModule, TocsinApp } from './context.js';
import { HttpError, type FieldError, type ProblemDocument, problemTypeFor } from './problem.js';

/** RouteEntry is one row of the route table, which the isolation and fuzz tests walk. */
export interface RouteEntry {
  method: string;
  url: string;
  access: string | undefined;
  hasBody: boolean;
}

declare module 'fastify' {
  interface FastifyInstance {
    /** Every route registered, in order; tests walk it so new routes are covered automatically. */
    routeTable: readonly RouteEntry[];
  }
}

/** BODY_LIMIT_BYTES bounds every request body: 1,000 alerts of 16 KiB data fit, more does not. */
export const BODY_LIMIT_BYTES = 20 * 1024 * 1024;

const VALIDATION_CONTEXT_PREFIX: Record<string, string> = {
  body: '',
  querystring: 'query.',
  params: 'path.',
  headers: 'header.',
};

/**
 * buildApp assembles the HTTP server from the route modules of each domain. It does not listen;
 * tests call `inject`, the server calls `listen`.
 */
export async function buildApp(deps: AppDeps, modules: readonly RouteModule[]): Promise<TocsinApp> {
  const app = Fastify({
    loggerInstance: deps.logger,
    bodyLimit: BODY_LIMIT_BYTES,
    // One line per request would dominate the log at thousands of alerts a second.
    logController: new LogController({ disableRequestLogging: true }),
    routerOptions: { maxParamLength: 500 },
  }).withTypeProvider<ZodTypeProvider>();

  const routes: RouteEntry[] = [];
  app.decorate('routeTable', routes);
  app.addHook('onRoute', (route) => {
    for (const method of [route.method].flat()) {
      if (method !== 'HEAD') routes.push({ method, url: route.url, access: route.config?.access, hasBody: Boolean(route.schema?.body) });
    }
  });

  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  app.setErrorHandler((error, request, reply) => {
    const problem = toProblem(error);
    if (problem.status >= 500) request.log.error({ err: error }, 'unhandled error');
    if (error instanceof HttpError && error.headers) void reply.headers(error.headers);
    return reply.status(problem.status).type('application/problem+json').send(problem);
  });
  app.setNotFoundHandler((request, reply) =>
    reply
      .status(404)
      .type('application/problem+json')
      .send({
        type: problemTypeFor(404),
        title: 'Not Found',
        status: 404,
        detail: `No route ${request.method} ${request.url.split('?')[0]}.`,
      } satisfies ProblemDocument),
  );

  await app.register(fastifyCookie);
  await app.register(fastifySwagger, {
    openapi: {
      info: {
        title: 'Tocsin API',
        version: '1',
        description: 'Alerts and alert emails. Errors are application/problem+json (RFC 9457).',
      },
      components: {
        securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } },
      },
      security: [{ bearer: [] }],
    },
    transform: jsonSchemaTransform,
  });

  app.addHook('preValidation', accessHook(deps));
  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url ?? 'unmatched';
    deps.metrics.httpRequests.inc({ route, method: request.method, status: String(reply.statusCode) });
    deps.metrics.httpDuration.observe({ route, method: request.method }, reply.elapsedTime / 1000);
  });

  app.get('/api/openapi.json', { config: { access: 'public' }, schema: { hide: true } }, async () =>
    app.swagger(),
  );

  for (const register of modules) register(app, deps);
  return app;
}

/** toProblem maps any error thrown while answering to a problem document; unknown ones are 500. */
export function toProblem(error: unknown): ProblemDocument {
  if (error instanceof HttpError) {
    return {
      type: problemTypeFor(error.status),
      title: error.title,
      status: error.status,
      detail: error.message,
      ...(error.errors ? { errors: error.errors } : {}),
    };
  }
  if (hasZodFastifySchemaValidationErrors(error)) {
    const prefix = VALIDATION_CONTEXT_PREFIX[error.validationContext ?? 'body'] ?? '';
    const errors: FieldError[] = error.validation.map((v) => {
      const path = v.instancePath.split('/').filter(Boolean).join('.');
      return { path: `${prefix}${path}` || '(root)', message: v.message ?? 'is invalid' };
    });
    const first = errors[0];
    return {
      type: problemTypeFor(400),
      title: 'Bad Request',
      status: 400,
      detail: first ? `${first.path}: ${first.message}` : 'The request is invalid.',
      errors,
    };
  }
  const fastifyError = error as { statusCode?: number; message?: string; code?: string };
  const status = fastifyError.statusCode;
  if (typeof status === 'number' && status >= 400 && status < 500) {
    return {
      type: problemTypeFor(status),
      title: titleFor(status),
      status,
      detail: fastifyError.message ?? titleFor(status),
    };
  }
  return {
    type: problemTypeFor(500),
    title: 'Internal Server Error',
    status: 500,
    detail: 'Something went wrong on our side; it has been logged.',
  };
}

function titleFor(status: number): string {
  const titles: Record<number, string> = {
    400: 'Bad Request',
    404: 'Not Found',
    405: 'Method Not Allowed',
    406: 'Not Acceptable',
    413: 'Content Too Large',
    415: 'Unsupported Media Type',
    429: 'Too Many Requests',
  };
  return titles[status] ?? 'Client Error';
}
