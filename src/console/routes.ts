import { z } from 'zod';
import type { RouteModule } from '../http/context.js';
import { notFound } from '../http/problem.js';
import { publicPathOf } from '../config.js';
import { loadAssets } from './assets.js';
import { consolePages } from './page.js';
import { DEFAULT_LANGUAGE, preferredLanguage } from '../i18n/languages.js';

/**
 * EMAIL_LINK_PAGES are console pages that emails link to by path (`/alerts?severity=Error`);
 * they redirect to the console's hash route, so links work whether or not they carry the `#`.
 */
const EMAIL_LINK_PAGES = ['alerts', 'preferences'] as const;

/**
 * consoleRoutes serve the web console: the page at `/`, its modules and strings under
 * `/console/`, and the short paths that emails link to. Everything here is public; the console
 * itself signs in through the API.
 */
export const consoleRoutes: RouteModule = (app, { config }) => {
  // The console's page as the browser reaches it: `/`, or the path of TOCSIN_PUBLIC_URL when a reverse proxy
  // serves Tocsin under one (`/tocsin/`), where a redirect to `/#/alerts` left it for the host's root.
  const publicPath = publicPathOf(config.publicUrl);
  const home = `${publicPath}/`;
  const assets = loadAssets();
  const pages = consolePages();
  const page = pages.get(DEFAULT_LANGUAGE)!;
  const hidden = { config: { access: 'public' as const }, schema: { hide: true } };

  // In the browser's language (its words for a browser without JavaScript), so a cache keeps one per Accept-Language.
  app.get('/', hidden, async (request, reply) => {
    // The public path without its slash (/tocsin), as a proxy that does not take it off sends it: the page there
    // would ask for its files (./console/…) at the host's root.
    const url = request.originalUrl;
    const at = url.includes('?') ? url.indexOf('?') : url.length;
    if (publicPath !== '' && url.slice(0, at) === publicPath) return reply.redirect(`${home}${url.slice(at)}`, 301);
    const chosen = pages.get(preferredLanguage(request.headers['accept-language']))!;
    return reply
      .headers(chosen.headers)
      .header('cache-control', 'no-cache')
      .header('vary', 'Accept-Language')
      .type('text/html; charset=utf-8')
      .send(chosen.html);
  });

  app.get('/console/*', { ...hidden, schema: { hide: true, params: z.object({ '*': z.string().max(300) }) } }, async (request, reply) => {
    const asset = assets.get(`/console/${request.params['*']}`);
    if (!asset) throw notFound('Console file');
    void reply.headers(page.headers).header('cache-control', 'no-cache').header('etag', asset.etag);
    if (request.headers['if-none-match'] === asset.etag) return reply.status(304).send();
    return reply.type(asset.type).send(asset.body);
  });

  for (const name of EMAIL_LINK_PAGES) {
    app.get(`/${name}`, hidden, async (request, reply) => {
      const query = request.url.includes('?') ? request.url.slice(request.url.indexOf('?')) : '';
      return reply.redirect(`${home}#/${name}${query}`, 302);
    });
  }

  // An AlertDto's DeepLinkRelativeUrl (`/alerts/deeplink/{event}?alertId=…`, Orchestrator's shape) opens
  // the list of that event's alerts: the console has no page of one alert.
  const deepLink = { ...hidden, schema: { hide: true, params: z.object({ event: z.string().max(300) }) } };
  app.get('/alerts/deeplink/:event', deepLink, async (request, reply) =>
    reply.redirect(`${home}#/alerts?${new URLSearchParams({ event: request.params.event })}`, 302),
  );
};
