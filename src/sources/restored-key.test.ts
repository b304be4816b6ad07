import crypto from 'node:crypto';
import { afterAll, beforeAll, expect, it, vi } from 'vitest';
import { type TestApp, startTestApp } from '../../test/support/http.js';
import { captureWarnings } from '../../test/support/log-capture.js';
import { describeEachDialect } from '../../test/support/storage.js';
import { SecretBox } from '../settings/secret-box.js';
import type { SourceKind } from './model.js';
import { signedSample } from './samples.js';
import { pullSecretOwner, sourceSecretOwner } from './secrets.js';
import { PUSH_SECRET_UNREADABLE, unreadableIsNews } from './store.js';

/** The key of the installation whose backup was restored: not the one this Tocsin started with (README: Backups). */
const BACKUP_KEY = SecretBox.fromPassphrase('the key the backup was made under');

describeEachDialect("sources of a backup restored under another secret key (the operator's way back: rotate, save again)", (dialect) => {
  let t: TestApp;
  const { log, entries } = captureWarnings();
  const tenant = 'restored-keys';
  const base = `/api/v1/tenants/${tenant}/sources`;

  beforeAll(async () => {
    // The connector looks for due pull sources every 100 ms, so a poll the test waits for starts at once.
    t = await startTestApp(dialect, {}, { timings: { pullTickMs: 100 }, logger: log });
    await t.call('POST', '/api/v1/tenants', { name: tenant });
  });
  afterAll(() => t.close());

  /** sealedElsewhere makes a push source whose secret rows were all sealed under BACKUP_KEY, as a restored database's are. */
  const sealedElsewhere = async (kind: SourceKind) => {
    const created = (await t.call('POST', base, { name: `${kind}-${crypto.randomUUID().slice(0, 8)}`, kind })).json<{ id: string; secret: string }>();
    await t.tocsin.deps.storage.db
      .updateTable('source_secrets')
      .set({ sealed: BACKUP_KEY.seal(created.secret, sourceSecretOwner(created.id)) })
      .where('source_id', '=', created.id)
      .execute();
    return created;
  };
  const receive = (id: string, kind: SourceKind, secret: string) => {
    const sample = signedSample(kind, secret, Date.now(), crypto.randomUUID());
    return t.tocsin.app.inject({ method: 'POST', url: `/api/v1/sources/${id}/receive`, headers: sample.headers, payload: sample.body });
  };

  it("answers a test of a push source whose secret no longer opens with what is wrong, not a 500, and takes the sender's events once the secret is rotated", async () => {
    const source = await sealedElsewhere('webhook');
    const test = await t.call('POST', `${base}/${source.id}/test`);
    expect(test.statusCode, test.body).toBe(200);
    expect(test.json()).toEqual({
      ok: false,
      alertIds: [],
      status: 503,
      detail: "The source's secret no longer decrypts (the secret key changed): rotate it and give the sender the new one.",
    });
    // The sender's events wait (503, retried) for the key that opens the secret, or for a rotation.
    expect((await receive(source.id, 'webhook', source.secret)).statusCode).toBe(503);

    // The rotation start-up advises: the new secret is taken at once, though the previous one,
    // kept valid until the next rotation, still does not open (it answered 503 to the new one too).
    const rotated = (await t.call('POST', `${base}/${source.id}/rotate-secret`)).json<{ secret: string }>().secret;
    expect((await receive(source.id, 'webhook', rotated)).statusCode).toBe(202);
    expect((await receive(source.id, 'webhook', source.secret)).statusCode).toBe(401);
    expect((await t.call('POST', `${base}/${source.id}/test`)).json()).toMatchObject({ ok: true, status: 202 });
  });

  it("records on a push source whose secret no longer opens why its sender's events wait, once for all of them, logs it once without a stack, and its rotation clears it", async () => {
    const source = await sealedElsewhere('alertmanager');
    const said = "the source's secret no longer decrypts (the secret key changed): rotate it and give the sender the new one";
    // Alertmanager retries: one after the other, then several at once.
    const answers = [await receive(source.id, 'alertmanager', source.secret), await receive(source.id, 'alertmanager', source.secret)];
    answers.push(...(await Promise.all([1, 2, 3].map(() => receive(source.id, 'alertmanager', source.secret)))));
    for (const answer of answers) {
      expect(answer.statusCode, answer.body).toBe(503);
      expect(answer.headers['retry-after']).toMatch(/^\d+$/);
    }
    const { stats } = (await t.call('GET', `${base}/${source.id}`)).json();
    expect(stats).toMatchObject({ lastError: said, lastErrorCode: 'secret-unreadable', lastErrorAt: expect.any(String) });
    // One write for the incident, not one per request: the receive path is hot.
    const receptions = (await t.call('GET', `${base}/${source.id}/receptions`)).json().items;
    expect(receptions).toEqual([expect.objectContaining({ outcome: 'unavailable', status: 503, error: said })]);
    const told = entries.filter((e) => e.sourceId === source.id);
    expect(told).toEqual([expect.objectContaining({ level: 40, msg: `push source: ${said}` })]);
    expect(told[0]).not.toHaveProperty('err');

    const rotated = (await t.call('POST', `${base}/${source.id}/rotate-secret`)).json<{ secret: string }>().secret;
    expect((await t.call('GET', `${base}/${source.id}`)).json().stats).toMatchObject({ lastError: null, lastErrorCode: null });
    expect((await receive(source.id, 'alertmanager', rotated)).statusCode).toBe(202);
  });

  it("answers a test of a pull source whose password no longer opens with what is wrong, not a 500, and its polls say so, not 'the alerts could not be stored'", async () => {
    const created = await t.call('POST', base, {
      name: `pull-${crypto.randomUUID().slice(0, 8)}`,
      kind: 'orchestrator-pull',
      pull: { baseUrl: 'http://127.0.0.1:9', tenancyName: 'plant', username: 'poller', password: 'upstream password', intervalSeconds: 1 },
    });
    expect(created.statusCode, created.body).toBe(201);
    const id = created.json<{ id: string }>().id;
    await t.tocsin.deps.storage.db
      .updateTable('sources')
      .set({ pull_password: BACKUP_KEY.seal('upstream password', pullSecretOwner.password(id)) })
      .where('id', '=', id)
      .execute();
    const said = 'the saved password or client secret no longer decrypts (the secret key changed): enter it again';

    const test = await t.call('POST', `${base}/${id}/test`);
    expect(test.statusCode, test.body).toBe(200);
    expect(test.json()).toEqual({ ok: false, alertIds: [], status: 0, detail: said });
    await vi.waitFor(
      async () => expect((await t.call('GET', `${base}/${id}`)).json().stats).toMatchObject({ lastError: said, lastErrorCode: 'secret-unreadable' }),
      { timeout: 20_000, interval: 100 },
    );
  });
});

it("records a push source's unreadable secret again only when its last error says otherwise or an event was taken since", () => {
  const told = { last_error: PUSH_SECRET_UNREADABLE, last_error_at: 2_000, last_received_at: null };
  expect(unreadableIsNews(told)).toBe(false);
  expect(unreadableIsNews({ ...told, last_received_at: 1_000 })).toBe(false);
  // The right key came back, events were taken, and then it was lost again: a new incident.
  expect(unreadableIsNews({ ...told, last_received_at: 3_000 })).toBe(true);
  expect(unreadableIsNews({ ...told, last_error: 'over its rate' })).toBe(true);
  expect(unreadableIsNews({ last_error: null, last_error_at: null, last_received_at: null })).toBe(true);
});
