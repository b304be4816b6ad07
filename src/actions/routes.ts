import { DateTime } from 'luxon';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { userPrincipal } from '../access/principal.js';
import { acknowledgeAlert, acknowledgementsOf } from '../alerts/acknowledgements.js';
import { actorName } from '../alerts/action-audit.js';
import { eventDisplayName } from '../alerts/catalogue.js';
import { type StoredAlert, toStoredAlert } from '../alerts/store.js';
import type { RouteModule } from '../http/context.js';
import { localeFormat } from '../i18n/format.js';
import type { Language } from '../i18n/languages.js';
import { answerLinkPage } from '../http/link-pages.js';
import { type HttpError, fieldError, forbidden, notFound } from '../http/problem.js';
import { muteAlerts } from '../mutes/actions.js';
import { type MuteMatch, matchParts, sourceMatchOf } from '../mutes/model.js';
import { languageOf } from '../recipients/eligibility.js';
import { alertMessageIn } from '../mail-health/alert-message.js';
import { field, tenantShownName } from '../reports/templates/text.js';
import type { Db } from '../storage/database.js';
import { classifyDbError } from '../storage/errors.js';
import { INSTANT_RANGE_MESSAGE, firstKnownZone, isWrittenAsIso } from '../shared/validation.js';
import { ActionLinks } from './links.js';
import { DURATIONS, type Duration, type PageContext, type WhatOption, confirmationPage, donePage, refusalPage } from './page.js';
import { isAddressTagOf } from '../shared/sealed-token.js';
import type { ActionGrant } from './token.js';

// No bound: a link cut short, or padded, is refused like any other that opens nothing (404).
const params = z.object({ token: z.string() });

/** Resolved is a genuine link checked against the database: who acts, on what, in which words. */
interface Resolved {
  readonly grant: ActionGrant;
  readonly actor: { readonly userId: string; readonly name: string };
  readonly alert: StoredAlert | undefined;
  /** What a mute or snooze may match, by option key. */
  readonly matches: ReadonlyMap<string, MuteMatch>;
  readonly page: PageContext;
}

/**
 * resolveLink checks a link now: a genuine, unexpired token (else 404), for a user still active in
 * the token's tenant at the address the link was sent to (404: whoever reads a former address of
 * the user, such as a mailbox handed on, must not act as that user), still holding Alerts.View,
 * and Alerts.Edit to mute for everyone (403), about an alert that still exists in that tenant (404).
 * `recipient` learns the recipient's language as soon as the link is known to be theirs, before
 * those 403s and that 404: its refusal pages then speak as its confirmation page does.
 */
export async function resolveLink(db: Db, links: ActionLinks, token: string, recipient: { language?: Language } = {}): Promise<Resolved> {
  const grant = links.open(token);
  if (!grant) throw notFound('Action link');
  const principal = await userPrincipal(db, grant.userId);
  if (principal?.kind !== 'user' || principal.tenantId !== grant.tenantId) throw notFound('Action link');
  if (grant.addressTag && !isAddressTagOf(grant.addressTag, principal.email)) throw notFound('Action link');
  const [tenant, user, row] = await Promise.all([
    db.selectFrom('tenants').select(['name', 'display_name', 'language', 'time_zone']).where('id', '=', grant.tenantId).executeTakeFirst(),
    db.selectFrom('users').select(['name', 'language', 'time_zone']).where('id', '=', grant.userId).executeTakeFirst(),
    grant.alertId === undefined
      ? undefined
      : db.selectFrom('alerts').selectAll().where('tenant_id', '=', grant.tenantId).where('id', '=', grant.alertId).executeTakeFirst(),
  ]);
  // The recipient (or its tenant) deleted since its principal was read: the link is gone with it, as a moment later.
  if (!tenant || !user) throw notFound('Action link');
  const language = languageOf(user.language, tenant.language);
  recipient.language = language;
  if (!principal.permissions.has('Alerts.View')) throw forbidden('This link needs the Alerts.View permission, which its recipient no longer holds.');
  if (grant.action === 'mute' && !principal.permissions.has('Alerts.Edit')) {
    throw forbidden("Muting for everyone needs the Alerts.Edit permission, which this link's recipient no longer holds.");
  }
  if (grant.alertId !== undefined && !row) throw notFound('Alert');
  const alert = row ? toStoredAlert(row) : undefined;
  const subject = alert ?? { component: grant.event?.component ?? '', event: grant.event?.event ?? '', source: null };
  const matches = new Map<string, MuteMatch>();
  for (const key of ['robot', 'process', 'queue', 'event'] as const) {
    const match = sourceMatchOf(subject, key);
    if (match) matches.set(key, match);
  }
  const options: WhatOption[] = [...matches].map(([key, match]) => ({ key: key as WhatOption['key'], parts: matchParts(match, language) }));
  // The zone the page names and reads a snooze's end in: an unknown one read that end as no time at all (400).
  const timeZone = firstKnownZone(user.time_zone, tenant.time_zone);
  const taken = grant.action === 'acknowledge' && alert ? (await acknowledgementsOf(db, grant.tenantId, [alert.groupId])).get(alert.groupId) : undefined;
  return {
    grant,
    actor: { userId: grant.userId, name: user.name },
    alert,
    matches,
    page: {
      language,
      timeZone,
      // Inside sentences too ("Tell everyone of {tenant} that…"): as the emails name it, without bidirectional
      // controls, and by its name when its display name would show nothing.
      tenantName: tenantShownName(tenant.name, tenant.display_name),
      action: grant.action,
      // Sits inside a sentence ("Done: “…” is acknowledged by …"): one line, no bidirectional control, cut whole, as in the emails.
      alertTitle: alert ? localeFormat(language, timeZone).labelled(eventDisplayName(alert.event, language), field(alertMessageIn(alert, language), 200)) : '',
      options,
      acknowledged: taken && { name: shownName(actorName(taken.by, language)), at: taken.at },
    },
  };
}

/** shownName is who took an alert on as the pages' sentences name them: as the emails' lines do (alert-line.ts). */
const shownName = (name: string) => field(name, 100);

/** untilOf reads the form's duration (1 h when none is chosen) as an end time after `now`, on the clock of the reader's zone. */
function untilOf(form: URLSearchParams, now: number, timeZone: string): number {
  const choice = (form.get('for') ?? '1h') as Duration;
  if (choice === 'until') {
    const chosen = DateTime.fromISO(form.get('until') ?? '', { zone: timeZone });
    if (!chosen.isValid) throw fieldError('until', 'must be a date and time such as 2026-03-01T18:00');
    if (chosen.toMillis() <= now) throw fieldError('until', 'must be in the future');
    // A local end late on 9999-12-31 west of UTC falls in the year 10000, which no API answer can write.
    if (!isWrittenAsIso(chosen.toMillis())) throw fieldError('until', INSTANT_RANGE_MESSAGE);
    return chosen.toMillis();
  }
  // Own keys only: `for=constructor` would otherwise find Object's function, and no end time.
  if (!Object.hasOwn(DURATIONS, choice)) throw fieldError('for', 'must be 1h, 24h, 7d or until');
  return DateTime.fromMillis(now, { zone: timeZone })
    .plus(DURATIONS[choice as keyof typeof DURATIONS])
    .toMillis();
}

/**
 * formOf reads the choices of a POST: the page's form fields (form-encoded, or multipart as some
 * clients post a form), or the same fields as a JSON object (a script's).
 */
async function formOf(body: unknown, contentType: string | undefined): Promise<URLSearchParams> {
  if (typeof body === 'string' && /^\s*multipart\/form-data\b/i.test(contentType ?? '')) {
    try {
      const fields = await new Response(body, { headers: { 'content-type': contentType! } }).formData();
      return new URLSearchParams([...fields].filter((entry): entry is [string, string] => typeof entry[1] === 'string'));
    } catch {
      return new URLSearchParams();
    }
  }
  if (typeof body === 'string') return new URLSearchParams(body);
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return new URLSearchParams();
  return new URLSearchParams(Object.entries(body).filter((entry): entry is [string, string] => typeof entry[1] === 'string'));
}

/** actionForm documents the fields the POST of a mute or snooze reads (formOf); acknowledging reads none. */
const actionForm = z.object({
  what: z.enum(['robot', 'process', 'queue', 'event']).optional().describe('What to mute: one the page offers; by default its first'),
  for: z
    .enum([...(Object.keys(DURATIONS) as (keyof typeof DURATIONS)[]), 'until'])
    .optional()
    .describe("How long; default 1h. 1h and 24h are hours; 7d ends at the same time of day a week later on the recipient's clock"),
  until: z.string().optional().describe("With for=until: a local date-time such as 2026-03-01T18:00, in the recipient's time zone"),
});

/** refusalIn answers a refusal in the recipient's language once resolveLink has learnt it, else in the browser's. */
const refusalIn =
  (recipient: { language?: Language }) =>
  (refusal: HttpError, browserLanguage: Language): string | undefined =>
    refusalPage(refusal, recipient.language ?? browserLanguage);

/**
 * actionRoutes are API.md's email actions (no login): GET /actions/{token} shows a confirmation
 * page in the recipient's language and changes nothing (mail scanners follow links); POST
 * applies it (mute for the tenant, snooze for the recipient, or acknowledge) and records it in
 * the audit list as done `via: email`.
 */
export const actionRoutes: RouteModule = (app, { storage, config, clock, secretBox, recipientChanges }) => {
  const db = storage.db;
  const links = new ActionLinks(secretBox, config.publicUrl, config.actionLinkMs, clock);

  app.get(
    '/actions/:token',
    {
      config: { access: 'public', problems: [403], refusalPages: [403, 404, 503], page: 'What the action does, with a form to apply it' },
      schema: { params, description: "Shows what the email's action link does, with a form; changes nothing. 404 for a tampered, expired or foreign link." },
    },
    (request, reply) => {
      const recipient: { language?: Language } = {};
      return answerLinkPage(
        request,
        reply,
        async () => confirmationPage((await resolveLink(db, links, request.params.token, recipient)).page, clock.now()),
        refusalIn(recipient),
      );
    },
  );

  void app.register(async (scope) => {
    // The page's form posts form-encoded fields (JSON is parsed by the app's own parser); any other body is read as no choice made.
    scope.removeContentTypeParser('text/plain');
    scope.addContentTypeParser('*', { parseAs: 'string', bodyLimit: 4096 }, (_request, body, done) => done(null, body));
    scope.withTypeProvider<ZodTypeProvider>().post(
      '/actions/:token',
      {
        // 415: a JSON body in a charset the app's JSON parser does not know.
        config: { access: 'public', problems: [403, 409, 415], refusalPages: [400, 403, 404, 409, 503], page: 'What was done', form: actionForm },
        bodyLimit: 4096,
        schema: {
          params,
          description:
            'Applies the action → 200 page. Mute and snooze read the form fields `what` (robot, process, queue or event) and `for` (1h, 24h, 7d, or until with `until` a local date-time); 1 h of the first choice when none is given.',
        },
      },
      (request, reply) => {
        // A refusal on a link known to be the recipient's (a permission lost, a past end) is answered in the
        // language of its confirmation page, the recipient's; a link refused as such, in the browser's.
        const recipient: { language?: Language } = {};
        return answerLinkPage(
          request,
          reply,
          () =>
            applyLink(request.params.token, request.body, request.headers['content-type'], recipient).catch(async (err: unknown) => {
              // Refused for what it refers to (its recipient deleted meanwhile): answered as the link is now, 404.
              if (classifyDbError(err) === 'foreign-key') await resolveLink(db, links, request.params.token);
              throw err;
            }),
          refusalIn(recipient),
        );
      },
    );
  });

  /** applyLink applies a link's action now, with the choices of its form, and returns the done page; `recipient` learns the link's language once it is known. */
  async function applyLink(token: string, body: unknown, contentType: string | undefined, recipient: { language?: Language }): Promise<string> {
    const r = await resolveLink(db, links, token, recipient);
    const now = clock.now();
    const form = await formOf(body, contentType);
    let page: string;
    if (r.grant.action === 'acknowledge') {
      const ack = await acknowledgeAlert(db, r.grant.tenantId, r.alert!, r.actor, 'email', now);
      page = donePage(r.page, { name: shownName(actorName(ack.by, r.page.language)), at: ack.at });
    } else {
      const key = form.get('what') ?? [...r.matches.keys()][0]!;
      const match = r.matches.get(key);
      if (!match) throw fieldError('what', `must be one of ${[...r.matches.keys()].join(', ')}`);
      const until = untilOf(form, now, r.page.timeZone);
      const scope = r.grant.action === 'mute' ? 'tenant' : 'user';
      const mute = await muteAlerts(db, r.grant.tenantId, { scope, ownerId: scope === 'user' ? r.actor.userId : null, match, until }, r.actor, 'email', now, {
        once: true,
      });
      // Before the page leaves, as the app's hook counts other changes (forgetPrincipalsOnChange).
      await recipientChanges?.bump(r.grant.tenantId);
      page = donePage(r.page, { what: matchParts(match, r.page.language), until: mute.until });
    }
    return page;
  }
};
