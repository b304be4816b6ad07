const REST_PATH = /^\/api\/v1\/./;

/**
 * withoutTrailingSlash is `url` without the one slash a script may end a REST path with
 * (`/api/v1/tenants/`, `/api/v1/tenants/acme/alerts/?severity=Error`), its query kept: no REST route
 * ends in a slash, so the path means what it means without one, as OData's and Orchestrator's paths
 * (orchestrator-paths.ts) and most HTTP APIs take it. A second slash is left, an empty segment that
 * names nothing (`/users//`), and so are the other paths (the console's, `/odata/`).
 */
export function withoutTrailingSlash(url: string): string {
  const query = url.indexOf('?');
  const path = query < 0 ? url : url.slice(0, query);
  if (!path.endsWith('/') || !REST_PATH.test(path)) return url;
  return `${path.slice(0, -1)}${query < 0 ? '' : url.slice(query)}`;
}

/**
 * withoutPublicPath is `url` without the path of TOCSIN_PUBLIC_URL it begins with (`publicPath`,
 * `/tocsin`): a reverse proxy that sends a request as it came (Traefik's PathPrefix rule without a
 * StripPrefix middleware, Caddy's `handle /tocsin/*`) then reaches the routes as one that takes the
 * path off does. `/tocsin` alone is the console's page, `/`. Other URLs are left as they are.
 */
export function withoutPublicPath(url: string, publicPath: string): string {
  if (publicPath === '') return url;
  if (url === publicPath || url.startsWith(`${publicPath}?`)) return `/${url.slice(publicPath.length)}`;
  return url.startsWith(`${publicPath}/`) ? url.slice(publicPath.length) : url;
}
