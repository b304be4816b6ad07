import { describe, expect, it } from 'vitest';

// The console's modules are plain JavaScript for the browser; their decisions are pure functions,
// tested here in Node. A computed specifier keeps TypeScript from looking for their types.
const load = (file: string): Promise<any> => import(`./app/${file}`);

describe('console decisions', () => {
  it('sends the SMTP password only when it was typed or cleared, and empty optional fields as null', async () => {
    const { smtpFormOf, smtpPayload } = await load('lib/smtp-form.js');
    const stored = smtpFormOf({ host: 'smtp.gmail.com', port: 465, security: 'tls', passwordSet: true, fromAddress: 'a@b.example', timeoutMs: 15000 });
    expect(stored.password).toBeUndefined();
    expect(stored.timeoutSeconds).toBe('15');
    const kept = smtpPayload(stored);
    expect(kept).not.toHaveProperty('password');
    expect(kept).toMatchObject({ host: 'smtp.gmail.com', port: 465, security: 'tls', domain: null, username: null, fromDisplayName: null, timeoutMs: 15000 });
    expect(smtpPayload({ ...stored, password: 'new-secret' }).password).toBe('new-secret');
    expect(smtpPayload({ ...stored, password: null }).password).toBeNull();
    expect(smtpPayload({ ...stored, password: '' })).not.toHaveProperty('password');
    // A port that is not a number goes as typed, so the API names the field.
    expect(smtpPayload({ ...stored, port: 'abc' }).port).toBe('abc');
  });

  it('says when the form would send credentials without TLS, and whether that is allowed', async () => {
    const { smtpFormOf, smtpPayload, plaintextAuthOf } = await load('lib/smtp-form.js');
    const plain = smtpFormOf({ host: 'relay.example.com', port: 25, security: 'none', username: 'robot', passwordSet: true, fromAddress: 'a@b.example' });
    expect(plain.allowPlaintextAuth).toBe(false);
    expect(plaintextAuthOf(plain)).toBe('refused');
    expect(plaintextAuthOf({ ...plain, allowPlaintextAuth: true })).toBe('allowed');
    expect(smtpPayload({ ...plain, allowPlaintextAuth: true }).allowPlaintextAuth).toBe(true);
    expect(plaintextAuthOf({ ...plain, security: 'starttls' })).toBeNull();
    expect(plaintextAuthOf({ ...plain, username: '', password: null })).toBeNull();
    expect(plaintextAuthOf({ ...plain, username: '', password: 'typed' })).toBe('refused');
  });

  it("maps the seed's Enable SSL box to a security mode and its ports", async () => {
    const { smtpFormOf, withSsl } = await load('lib/smtp-form.js');
    const empty = smtpFormOf(null);
    expect(withSsl({ ...empty, port: '' }, true)).toMatchObject({ port: '465', security: 'tls' });
    expect(withSsl({ ...empty, port: '465' }, false)).toMatchObject({ port: '587', security: 'none' });
    expect(withSsl({ ...empty, port: '2525' }, true)).toMatchObject({ port: '2525', security: 'starttls' });
    expect(withSsl({ ...empty, port: '2525' }, false)).toMatchObject({ port: '2525', security: 'none' });
    const { withPort } = await load('lib/smtp-form.js');
    expect(withPort({ ...empty, port: '2525', security: 'starttls' }, '465')).toMatchObject({ security: 'tls' });
    expect(withPort({ ...empty, port: '465', security: 'tls' }, '587')).toMatchObject({ security: 'starttls' });
    expect(withPort({ ...empty, port: '25', security: 'none' }, '465')).toMatchObject({ security: 'none' });
  });

  it('counts a test as covering the form only when it ran the values shown', async () => {
    const { testsWhatIsShown } = await load('pages/mail-settings.js');
    expect(testsWhatIsShown({ useCustom: true }, { useCustom: false })).toBe(true);
    expect(testsWhatIsShown({ useCustom: false }, { useCustom: false })).toBe(true);
    // "Default" on screen while custom is saved: a test would run the saved custom values.
    expect(testsWhatIsShown({ useCustom: false }, { useCustom: true })).toBe(false);
  });

  it('reads field errors of a problem under a prefix', async () => {
    const { fieldErrors } = await load('lib/api.js');
    const error = {
      problem: {
        errors: [
          { path: 'custom.port', message: 'too big' },
          { path: 'dailyReportTime', message: 'HH:MM' },
        ],
      },
    };
    expect(fieldErrors(error, ['custom.', ''])).toEqual({ port: 'too big', dailyReportTime: 'HH:MM' });
    expect(fieldErrors(error, ['settings.'])).toEqual({});
  });

  it('keeps alert filters in the hash route, as email links give them', async () => {
    const { parseHash, href } = await load('lib/router.js');
    const { filtersOf } = await load('pages/alerts.js');
    const route = parseHash('#/alerts?severity=Warning&component=Robots&unread=true&other=x');
    expect(route.path).toBe('/alerts');
    expect(filtersOf(route.query)).toEqual({ severity: 'Warn', component: 'Robots', unread: 'true' });
    expect(filtersOf(parseHash('#/alerts?robot=R7&process=Invoices&queue=Q1').query)).toEqual({ robot: 'R7', process: 'Invoices', queue: 'Q1' });
    expect(href('/alerts', { severity: 'Error', component: '', unread: false })).toBe('#/alerts?severity=Error');
    expect(parseHash('')).toEqual({ path: '/', query: {} });
  });

  it('lets an event override its component, and a component switch send its events back to following it', async () => {
    const { subscribed, toggleComponent } = await load('pages/preferences.js');
    const robots = { name: 'Robots', events: [{ name: 'Robot.StatusChanged.NotResponding' }] };
    expect(subscribed({}, 'Robots')).toBe(true);
    expect(subscribed({ Robots: false, 'Robot.StatusChanged.NotResponding': true }, 'Robots', 'Robot.StatusChanged.NotResponding')).toBe(true);
    expect(subscribed({ Robots: false }, 'Robots', 'Robot.StatusChanged.NotResponding')).toBe(false);
    const shown = { Robots: true, 'Robot.StatusChanged.NotResponding': true, Jobs: true };
    expect(toggleComponent(shown, { Jobs: false }, robots, false)).toEqual({
      shown: { Robots: false, 'Robot.StatusChanged.NotResponding': false, Jobs: true },
      patch: { Jobs: false, Robots: false, 'Robot.StatusChanged.NotResponding': null },
    });
  });

  it('reads the alerts catalogue grouped by component or as a flat list of events', async () => {
    const { normalizeCatalogue } = await load('lib/catalogue.js');
    const grouped = normalizeCatalogue({
      components: [{ name: 'Jobs', displayName: 'Jobs', events: [{ name: 'Process.JobExecution.Faulted', defaultSeverity: 'Error' }] }],
    });
    expect(grouped).toEqual([{ name: 'Jobs', displayName: 'Jobs', events: [{ name: 'Process.JobExecution.Faulted', severity: 'Error' }] }]);
    const flat = normalizeCatalogue({ items: [{ component: 'Queues', event: 'Queue.ItemFailed', severity: 'Warn' }] });
    expect(flat[0]).toMatchObject({ name: 'Queues', events: [{ name: 'Queue.ItemFailed', severity: 'Warn' }] });
    expect(normalizeCatalogue(null)).toEqual([]);
  });

  it("reads and shows the time filters in the user's time zone, not the browser's", async () => {
    const { setTimeZone, localInputToIso, isoToLocalInput, timeZone } = await load('lib/format.js');
    setTimeZone('Mars/Olympus');
    setTimeZone('Europe/Paris');
    expect(timeZone()).toBe('Europe/Paris');
    expect(localInputToIso('2026-07-01T10:00')).toBe('2026-07-01T10:00:00.000+02:00');
    expect(isoToLocalInput('2026-11-27T09:30:00Z')).toBe('2026-11-27T10:30');
    expect(localInputToIso('')).toBe('');
  });

  it('picks the first supported language', async () => {
    const { pickLanguage } = await load('lib/i18n.js');
    expect(pickLanguage(null, 'fr-CA')).toBe('fr');
    expect(pickLanguage(['pt-BR', 'ja'])).toBe('ja');
    expect(pickLanguage(undefined, 'xx')).toBe('en');
  });
});
