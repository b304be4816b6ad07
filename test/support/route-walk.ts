import type { HTTPMethods } from 'fastify';
import type { RouteEntry } from '../../src/http/app.js';
import { BODY_SAMPLES, PARAM_SAMPLES, type SampleScope, WILDCARD_SAMPLES } from './route-samples.js';
import type { TestApp } from './http.js';

// `:name`, optionally followed by a regular expression in parentheses, as find-my-way writes them.
const PARAM = /:([A-Za-z_][A-Za-z0-9_]*)(\([^)]*\))?/g;

/** routeKey names a route as BODY_SAMPLES and failure messages do: `POST /api/v1/tenants`. */
export function routeKey(route: RouteEntry): string {
  return `${route.method} ${route.url}`;
}

/** pathParams lists the parameter names of a route's path, left to right. */
export function pathParams(url: string): string[] {
  return [...url.matchAll(PARAM)].map((m) => m[1]!);
}

/** fillPath puts values (URL-encoded) into a route's path parameters and its `*` wildcard. */
export function fillPath(url: string, values: Readonly<Record<string, string>>): string {
  return url
    .replace(PARAM, (_all, name: string) => encodeURIComponent(values[name] ?? 'missing'))
    .replace(/\*$/, encodeURIComponent(values['*'] ?? WILDCARD_SAMPLES[url] ?? 'x'));
}

/**
 * missingSamples lists what test/support/route-samples.ts lacks for the walks to call every route:
 * an object maker per path parameter (except `:tenant`) of non-public routes, a body per route
 * with a body schema.
 */
export function missingSamples(routes: readonly RouteEntry[]): string[] {
  const missing = new Set<string>();
  for (const route of routes) {
    if (route.access !== 'public') {
      for (const name of pathParams(route.url)) {
        if (name !== 'tenant' && !(name in PARAM_SAMPLES)) {
          missing.add(`PARAM_SAMPLES has no "${name}" (needed by ${routeKey(route)})`);
        }
      }
    }
    if (route.hasBody && !(routeKey(route) in BODY_SAMPLES)) missing.add(`BODY_SAMPLES has no "${routeKey(route)}"`);
  }
  return [...missing];
}

/** hasSamples tells whether the walks can call a route for real (else missingSamples reports it). */
export function hasSamples(route: RouteEntry): boolean {
  return missingSamples([route]).length === 0;
}

let counter = 0;

/** sampleScope is the scope samples run in: the test app's admin API on one tenant. */
export function sampleScope(t: TestApp, tenant: string, ids: Readonly<Record<string, string>> = {}): SampleScope {
  return {
    call: (method: HTTPMethods, url: string, body?: unknown) => t.call(method, url, body),
    tenant,
    ids,
    unique: () => `${tenant}-${(++counter).toString(36)}`,
  };
}

/**
 * makeObjects creates, in one tenant, a fresh object for each path parameter of a route that has
 * a sample (public routes' parameters, like unsubscribe tokens, need none).
 */
export async function makeObjects(t: TestApp, route: RouteEntry, tenant: string): Promise<Record<string, string>> {
  const ids: Record<string, string> = { tenant };
  for (const name of pathParams(route.url)) {
    const make = PARAM_SAMPLES[name];
    if (name !== 'tenant' && make) ids[name] = await make(sampleScope(t, tenant, ids));
  }
  return ids;
}

/**
 * sampleBody returns the registered valid body of a route, undefined when it takes none, and an
 * empty object when its sample is missing (which missingSamples reports).
 */
export function sampleBody(t: TestApp, route: RouteEntry, tenant: string, ids: Readonly<Record<string, string>>): unknown {
  if (!route.hasBody) return undefined;
  return BODY_SAMPLES[routeKey(route)]?.(sampleScope(t, tenant, ids)) ?? {};
}
