import { UnsubscribeLinks } from '../reports/unsubscribe/links.js';
import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RenderedEmail, Unreached } from '../delivery/contract.js';
import { LANGUAGES } from '../i18n/languages.js';
import { type MailHealthNoticeKind, NOT_A_MAIL_ADMIN, mailHealthComposer, queueAdminNotices, renderMailHealthNotice } from './notices.js';
import { createTenant, updateTenant } from '../access/tenants.js';
import { USER_OPT_OUT_KINDS, setAddressOptOuts } from '../reports/unsubscribe/apply.js';
import { createUser, updateUser } from '../access/users.js';
import { NOT_SENT_TEXT } from '../delivery/not-sent.js';
import { toDelivery } from '../delivery/outbox/delivery.js';
import { renderDelivery } from '../delivery/outbox/render.js';
import { FakeClock } from '../shared/clock.js';
import type { Storage } from '../storage/storage.js';
import { describeEachDialect, openTestStorage } from '../../test/support/storage.js';

const KINDS: MailHealthNoticeKind[] = ['failing', 'recovered', 'token-expiring'];

/** consoleStrings are the console's own strings in a language, where the notices send their reader. */
function consoleStrings(language: string): Record<string, string> {
  return JSON.parse(fs.readFileSync(new URL(`../console/app/i18n/${language}.json`, import.meta.url), 'utf8'));
}

/** notice renders one notice to Acme's administrator in Paris; `unreached` is why no server answered, when none did. */
function notice(
  transition: MailHealthNoticeKind,
  language: (typeof LANGUAGES)[number],
  lastError = '535 5.7.8 Authentication credentials invalid',
  unreached?: Unreached,
) {
  return renderMailHealthNotice({
    transition,
    language,
    timeZone: 'Europe/Paris',
    tenantName: 'acme',
    tenantDisplayName: 'Acme Robotics',
    at: Date.UTC(2026, 11, 1, 9),
    lastError,
    unreached,
    settingsUrl: 'https://tocsin.example/#/settings/mail?tenant=acme',
    unsubscribeUrl: 'https://tocsin.example/unsubscribe/abc',
  });
}

describe('mail health notices', () => {
  it.each(LANGUAGES)("in %s, say when no server answered that this is the last error, why in the reader's words, and Node's words as they are", (language) => {
    const english = 'connect ECONNREFUSED 10.0.0.5:587: the server refused the connection, so nothing takes connections on this host and port';
    const text = notice('failing', language, english, { cause: 'refused', detail: 'connect ECONNREFUSED 10.0.0.5:587' }).text;
    expect(text).toContain('(connect ECONNREFUSED 10.0.0.5:587)');
    expect(text).not.toContain(english);
    expect(text).not.toMatch(/last reply|Dernière réponse|Letzte Antwort|Última respuesta|最後の応答/);
    if (language === 'fr') expect(text).toContain('Dernière erreur\u202f: le serveur a refusé la connexion');
  });

  it.each(LANGUAGES)('in %s, say that the port expects TLS from the first byte in the reader’s words, not the API’s English sentence', (language) => {
    const english = 'the server sent no SMTP greeting: it expects implicit TLS from the first byte on port 465, not STARTTLS';
    const text = notice('failing', language, english, { cause: 'implicit-tls', detail: '' }).text;
    expect(text).not.toContain(english);
    expect(text).not.toMatch(/last reply|Dernière réponse|Letzte Antwort|Última respuesta|最後の応答/);
    expect(text).toContain('465');
    if (language === 'fr') expect(text).toContain('Dernière erreur\u202f: le serveur de ce port attend TLS dès le premier octet');
  });

  it.each(LANGUAGES)(
    'in %s, say that a server that greeted then hung up without a word did so, in the reader’s words, not under its last reply',
    (language) => {
      const english = 'sender: the server closed the connection without answering MAIL FROM';
      const text = notice('failing', language, english, { cause: 'closed-unanswered', detail: 'MAIL FROM: Connection closed unexpectedly' }).text;
      expect(text).not.toContain(english);
      expect(text).not.toMatch(/last reply|Dernière réponse|Letzte Antwort|Última respuesta|最後の応答/);
      expect(text).toContain('(MAIL FROM: Connection closed unexpectedly)');
      if (language === 'de') expect(text).toContain('Letzter Fehler: der Server hat gegrüßt, dann aber die Verbindung ohne Antwort geschlossen');
    },
  );

  it.each(LANGUAGES)(
    'in %s, say that a server silent after the whole message was sent left its end unanswered, not DATA, in the reader’s words',
    (language) => {
      const english =
        'data: timed out during data after 30 s, waiting for the server\'s answer to the message\'s final ".": the whole message was sent, so the server may have taken it and the email may still arrive';
      const text = notice('failing', language, english, { cause: 'message-unanswered', detail: 'end of message: REPLY_TIMEOUT (30 s)' }).text;
      expect(text).not.toContain(english);
      expect(text).toContain('(end of message: REPLY_TIMEOUT (30 s))');
      const said = {
        en: 'the server took the whole message, then gave no answer to its end in time',
        fr: 'le serveur a reçu le message entier, puis n’a pas répondu à sa fin à temps',
        de: 'der Server hat die ganze E-Mail erhalten, dann aber nicht rechtzeitig auf ihr Ende geantwortet',
        es: 'el servidor recibió el mensaje entero, pero luego no respondió a tiempo a su final',
        ja: 'サーバーはメッセージ全体を受け取りましたが、その終わりに時間内に応答しませんでした',
      }[language];
      expect(text).toContain(said);
    },
  );

  it.each(LANGUAGES)('in %s, name the page as the console names it, Settings > Mail', (language) => {
    const strings = consoleStrings(language);
    for (const kind of KINDS) {
      // Japanese puts the names in brackets, as its UI guides do.
      const text = notice(kind, language).text.replace(/[[\]]/g, '');
      expect(text).toContain(`${strings['settings.title']} > ${strings['settings.mailTab']}`);
    }
  });

  it.each(LANGUAGES)('in %s, say in which time zone the time it gives is, as every other email does', (language) => {
    for (const kind of KINDS) {
      const email = notice(kind, language);
      // 1 December 2026 09:00 UTC is 10:00 in Paris: the time and its zone, in the text and the HTML.
      for (const part of [email.text, email.html]) {
        expect(part).toContain('10:00');
        expect(part).toContain('Europe/Paris (UTC+01:00)');
      }
    }
  });

  it('in Spanish, write « desde el » before the date, as every other Spanish email and the console do', () => {
    for (const kind of ['failing', 'recovered'] as const) {
      const email = notice(kind, 'es');
      for (const part of [email.text, email.html]) {
        expect(part).toContain('desde el 1 dic 2026, 10:00');
        expect(part).not.toMatch(/\b(desde|hasta) \d/);
      }
    }
  });

  it('in German, write « seit dem » before the date, in the notices and the console’s banner, as a German reader writes it', () => {
    for (const kind of ['failing', 'recovered'] as const) {
      const email = notice(kind, 'de');
      for (const part of [email.text, email.html]) {
        expect(part).toContain('seit dem 01.12.2026, 10:00');
        expect(part).not.toMatch(/\bseit \d/);
      }
    }
    expect(consoleStrings('de')['mailHealth.failingSince']).toContain('seit dem {since}');
  });

  it('in French, say « du locataire », never « de » before the name, and put the space before every colon', () => {
    for (const kind of KINDS) {
      const email = notice(kind, 'fr');
      expect(`${email.subject}\n${email.text}`).not.toMatch(/\bde Acme/);
      expect(email.subject).toContain('du locataire Acme Robotics');
      expect(email.text).toContain('Se désabonner des avis sur le serveur de messagerie\u00a0: https://tocsin.example/unsubscribe/abc');
    }
  });

  it.each(LANGUAGES)(
    "in %s, mark the server's reply as English in the HTML, as the console's banner does, so that a screen reader does not read it in the reader's language",
    (language) => {
      // The reply (English, as servers write theirs) stood in a French or Japanese paragraph unmarked: a screen reader
      // read « Authentication credentials invalid » with French or Japanese rules.
      const html = notice('failing', language).html;
      expect(html).toContain('<span lang="en">535 5.7.8 Authentication credentials invalid</span></p>');
      // Why no server answered is in the reader's own words: not marked.
      const unreached = notice('failing', language, 'connect ECONNREFUSED 10.0.0.5:587', { cause: 'refused', detail: 'connect ECONNREFUSED 10.0.0.5:587' });
      expect(unreached.html).not.toContain('lang="en">');
    },
  );

  it("shows the server's reply without its bidirectional controls, and without the double space a control between two spaces leaves", () => {
    // An override left open turned the rest of the reply's line backwards; dropped, it left two spaces where it stood.
    const email = notice('failing', 'en', '\u2067 550 5.7.1 Sender \u202e deyolpmi \u202c blocked \u2066by\u2069 policy  (see  RFC 5321) \u202e');
    const shown = '550 5.7.1 Sender deyolpmi blocked by policy  (see  RFC 5321)';
    expect(email.text).toContain(`The server's last reply: ${shown}\n`);
    expect(email.html).toContain(`The server&#39;s last reply: <span lang="en">${shown}</span></p>`);
    expect(`${email.text}${email.html}`).not.toMatch(/[\u202a-\u202e\u2066-\u2069]/);
  });
});

describeEachDialect('a mail-health notice waiting to be sent', (dialect) => {
  const clock = new FakeClock(Date.UTC(2026, 11, 2, 4));
  let storage: Storage;
  beforeAll(async () => {
    storage = await openTestStorage(dialect);
  });
  afterAll(async () => {
    await storage?.close();
  });

  /**
   * failingNoticeQueued makes a tenant with an administrator of each name (its address name@TENANT.example.com, or
   * the name itself when it is one) and queues them the notice that its mail is failing, as it waits while the system
   * server is down.
   */
  const failingNoticeQueued = async (tenantName: string, names: readonly string[]) => {
    const db = storage.db;
    const tenant = await createTenant(db, { name: tenantName }, clock);
    const admins = await Promise.all(
      names.map((name) =>
        createUser(db, tenant.id, { email: name.includes('@') ? name : `${name}@${tenantName}.example.com`, name, roles: ['Administrator'] }, clock),
      ),
    );
    await queueAdminNotices(db, tenant.id, {
      kind: 'failing',
      key: 'incident-1:failing',
      at: clock.now(),
      lastError: '535 5.7.8 refused',
      now: clock.now(),
      context: { publicUrl: 'https://tocsin.example.com' },
    });
    const queued = async () => (await db.selectFrom('deliveries').selectAll().where('tenant_id', '=', tenant.id).execute()).map(toDelivery);
    return { tenant, admins: admins as string[], queued };
  };
  const composers = () =>
    ({ 'mail-health': mailHealthComposer(storage.db, new UnsubscribeLinks(storage.db, 'https://tocsin.example.com', clock), clock) }) as const;

  it('goes only to whom is still a mail administrator when it is sent, at the address it has then', async () => {
    // The system server was down when the tenant's mail failed; meanwhile an administrator left (deactivated), one
    // lost the Administrator role and one was deleted: each still got, hours later, the tenant's SMTP error. One whose
    // address was typed again for the same mailbox (its domain in Unicode where punycode was) still gets it, and one
    // whose address changed gets it at the new one (it was refused, 'changed address': mail failed silently for them).
    const db = storage.db;
    const names = ['stays', 'deactivated', 'demoted', 'deleted', 'moved', 'respelt@xn--bcher-kva.example'];
    const { tenant, admins, queued } = await failingNoticeQueued('leavers', names);
    const [stays, deactivated, demoted, deleted, moved, respelt] = admins;
    await updateUser(db, tenant.id, respelt!, { email: 'Respelt@Bücher.example' }, clock);
    await updateUser(db, tenant.id, deactivated!, { active: false }, clock);
    await updateUser(db, tenant.id, demoted!, { roles: ['Alerts Viewer'] }, clock);
    await updateUser(db, tenant.id, moved!, { email: 'elsewhere@leavers.example.com' }, clock);
    const waiting = await queued();
    expect(waiting).toHaveLength(6);
    await db.deleteFrom('users').where('id', '=', deleted!).execute();

    for (const waited of waiting) {
      // Claimed, as a worker claims it.
      await db.updateTable('deliveries').set({ lease_token: 'claim' }).where('id', '=', waited.id).execute();
      const delivery = { ...waited, leaseToken: 'claim' };
      const sent = renderDelivery(delivery, composers());
      if (delivery.recipient.userId === stays || delivery.recipient.userId === respelt) expect((await sent).to).toBeUndefined();
      else if (delivery.recipient.userId === moved) {
        const email = await sent;
        expect(email.to).toEqual({ address: 'elsewhere@leavers.example.com', name: 'moved' });
        // The log shows where it went; its one-click link is the new address's.
        const row = await db.selectFrom('deliveries').select('recipient_address').where('id', '=', delivery.id).executeTakeFirstOrThrow();
        expect(row.recipient_address).toBe('elsewhere@leavers.example.com');
        expect(email.headers['List-Unsubscribe']).not.toBe((waited.payload as { rendered: RenderedEmail }).rendered.headers['List-Unsubscribe']);
      } else await expect(sent, delivery.recipient.address).rejects.toThrow(NOT_A_MAIL_ADMIN);
    }
  });

  it('sends a notice queued before notices kept what they tell (by the version before an upgrade) as it was written, never to an address left since', async () => {
    // An incident spanning an upgrade: its notices wait for the system server, stored written, without their facts.
    const db = storage.db;
    const { tenant, admins, queued } = await failingNoticeQueued('upgraded', ['kept', 'moved']);
    const [kept, moved] = admins;
    for (const waited of await queued()) {
      const { rendered } = waited.payload as { rendered: RenderedEmail };
      await db
        .updateTable('deliveries')
        .set({ payload: JSON.stringify({ rendered }) })
        .where('id', '=', waited.id)
        .execute();
    }
    await updateTenant(db, tenant, { name: 'upgraded-eu' }, clock);
    await updateUser(db, tenant.id, moved!, { email: 'elsewhere@upgraded.example.com' }, clock);
    const waiting = await queued();
    const old = waiting.find((d) => d.recipient.userId === kept)!;
    const { subject, text, headers } = (old.payload as { rendered: RenderedEmail }).rendered;
    expect(await renderDelivery(old, composers())).toMatchObject({ subject, text, headers });
    expect(headers['X-Tocsin-Tenant']).toBe('upgraded');
    // Written for the former address (its one-click link that mailbox's), it does not follow the new one.
    await expect(renderDelivery(waiting.find((d) => d.recipient.userId === moved)!, composers())).rejects.toThrow(NOT_A_MAIL_ADMIN);
  });

  it('reads the one-click opt-out of the address a notice follows its administrator to, not of the one it was queued for', async () => {
    // Opt-outs are the mailbox's: an administrator who moved to a mailbox that had turned these notices off gets
    // none there, and one who left a mailbox that had turned them off gets theirs at the new one.
    const db = storage.db;
    const { tenant, admins, queued } = await failingNoticeQueued('optouts', ['into', 'outof']);
    const [into, outof] = admins;
    for (const address of ['quiet@optouts.example.com', 'outof@optouts.example.com']) {
      await setAddressOptOuts(db, tenant.id, address, USER_OPT_OUT_KINDS, ['mail-health'], clock);
    }
    await updateUser(db, tenant.id, into!, { email: 'quiet@optouts.example.com' }, clock);
    await updateUser(db, tenant.id, outof!, { email: 'loud@optouts.example.com' }, clock);
    for (const waited of await queued()) {
      // Claimed, as a worker claims it.
      await db.updateTable('deliveries').set({ lease_token: 'claim' }).where('id', '=', waited.id).execute();
      const sent = renderDelivery({ ...waited, leaseToken: 'claim' }, composers());
      if (waited.recipient.userId === into) await expect(sent).rejects.toThrow(NOT_SENT_TEXT['turned-off']);
      else expect((await sent).to).toEqual({ address: 'loud@optouts.example.com', name: 'outof' });
    }
    // The delivery log names the mailbox each was for: the refusal is the new mailbox's, not the one left.
    const rows = await db.selectFrom('deliveries').select('recipient_address').where('tenant_id', '=', tenant.id).execute();
    expect(rows.map((r) => r.recipient_address).sort()).toEqual(['loud@optouts.example.com', 'quiet@optouts.example.com']);
  });

  it("is written for the tenant's name and its administrator's language and time zone when it is sent, and not to one who unsubscribed meanwhile", async () => {
    // The system server was down when the tenant's mail failed. Meanwhile the host renamed the tenant (its
    // administrators' mail filters now read X-Tocsin-Tenant: acme-eu), one administrator chose French and Paris,
    // another took the one-click unsubscribe of an earlier notice: hours later the notice still said 'acme', in
    // English and UTC, to both.
    const db = storage.db;
    const { tenant, admins, queued } = await failingNoticeQueued('acme', ['claire', 'gone']);
    const [claire, gone] = admins;
    await updateTenant(db, tenant, { name: 'acme-eu', displayName: 'ACME Europe' }, clock);
    await updateUser(db, tenant.id, claire!, { language: 'fr', timeZone: 'Europe/Paris' }, clock);
    await setAddressOptOuts(db, tenant.id, 'gone@acme.example.com', USER_OPT_OUT_KINDS, ['mail-health'], clock);
    const waiting = await queued();
    const email = await renderDelivery(waiting.find((d) => d.recipient.userId === claire)!, composers());
    expect(email.headers['X-Tocsin-Tenant']).toBe('acme-eu');
    expect(email.subject).toBe('Les e-mails d’alerte du locataire ACME Europe échouent');
    expect(email.text).toContain('05:00'); // 04:00 UTC, in Paris
    expect(email.text).toContain('535 5.7.8 refused');
    expect(email.text).toContain(`https://tocsin.example.com/#/settings/mail?tenant=${tenant.id}`);
    await expect(renderDelivery(waiting.find((d) => d.recipient.userId === gone)!, composers())).rejects.toThrow(NOT_SENT_TEXT['turned-off']);
  });
});
