import { afterAll, beforeAll, expect, it } from 'vitest';
import { startBlocked, whileDeleting, whileWriting } from '../../test/support/lost-race.js';
import type { Db } from '../storage/database.js';
import { TEST_PG_URL, describeEachDialect } from '../../test/support/storage.js';
import { sql } from 'kysely';
import { newAlert } from '../../test/support/alerts.js';
import { insertAlerts } from '../alerts/store.js';
import { lockAccessChanges } from '../access/access-changes.js';
import { holdAlertTimeFloor } from '../alerts/time-floor.js';
import { until } from '../../test/support/until.js';
import { ADMIN_TOKEN, type TestApp, startTestApp } from '../../test/support/http.js';

describeEachDialect('a change that loses a race with a deletion', (dialect) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp(dialect);
  });
  afterAll(() => t.close());
  const db = () => t.tocsin.deps.storage.db;
  const detail = (res: { statusCode: number; json(): { detail?: string } }) => `${res.statusCode} ${res.json().detail}`;

  it('answers 404 naming the user, group or tenant deleted meanwhile, as when deleted before, not 409', async () => {
    const { tenantId } = await t.tenantWithUser('racing');
    const base = '/api/v1/tenants/racing';
    const user = (await t.call('POST', `${base}/users`, { email: 'gone@example.com', name: 'Gone' })).json<{ id: string }>();
    const patched = await whileDeleting(dialect, db(), 'users', user.id, () => t.call('PATCH', `${base}/users/${user.id}`, { roles: ['Robot'] }));
    expect.soft(detail(patched)).toBe('404 User not found.');

    // The mail-health notices it unsubscribed from are set by its address, read again in the write: a 500 on PostgreSQL.
    const unsubscribing = (await t.call('POST', `${base}/users`, { email: 'unsubscribing@example.com', name: 'Unsubscribing' })).json<{ id: string }>();
    const optedOut = await whileDeleting(dialect, db(), 'users', unsubscribing.id, () =>
      t.call('PATCH', `${base}/users/${unsubscribing.id}`, { unsubscribed: ['mail-health'] }),
    );
    expect.soft(detail(optedOut)).toBe('404 User not found.');

    const other = (await t.call('POST', `${base}/users`, { email: 'other@example.com', name: 'Other' })).json<{ id: string }>();
    const token = await whileDeleting(dialect, db(), 'users', other.id, () => t.call('POST', `${base}/users/${other.id}/tokens`, { name: 'late' }));
    expect.soft(detail(token)).toBe('404 User not found.');

    const group = (await t.call('POST', `${base}/groups`, { name: 'Gone' })).json<{ id: string }>();
    const regrouped = await whileDeleting(dialect, db(), 'groups', group.id, () => t.call('PATCH', `${base}/groups/${group.id}`, { roles: ['Robot'] }));
    expect.soft(detail(regrouped)).toBe('404 Group not found.');

    const role = await whileDeleting(dialect, db(), 'tenants', tenantId, () => t.call('POST', `${base}/roles`, { name: 'Late', permissions: ['Alerts.View'] }));
    expect.soft(detail(role)).toBe('404 Tenant not found.');
  });

  it('answers 404 to a DELETE or PATCH of a role deleted meanwhile, as when deleted before, not 204 or 200 for a role that is gone', async () => {
    await t.tenantWithUser('unroling');
    const base = '/api/v1/tenants/unroling/roles';
    const dropRole = (id: string) => (tx: Db) => tx.deleteFrom('roles').where('id', '=', id).execute();
    const role = async (name: string) => (await t.call('POST', base, { name, permissions: ['Alerts.View'] })).json<{ id: string }>().id;
    const gone = await role('Gone');
    const deleted = await whileWriting(dialect, db(), dropRole(gone), () => t.call('DELETE', `${base}/${gone}`));
    expect.soft(`${deleted.statusCode} ${deleted.body && deleted.json().detail}`).toBe('404 Role not found.');
    const goneToo = await role('Gone too');
    const patched = await whileWriting(dialect, db(), dropRole(goneToo), () => t.call('PATCH', `${base}/${goneToo}`, { permissions: ['Users.View'] }));
    expect.soft(`${patched.statusCode} ${patched.json().detail}`).toBe('404 Role not found.');
  });

  it('refuses a member or role deleted while being given with the 400 naming it, as when deleted before, not 409', async () => {
    const { tenantId } = await t.tenantWithUser('referring');
    const base = '/api/v1/tenants/referring';
    const user = async (email: string) => (await t.call('POST', `${base}/users`, { email, name: email })).json<{ id: string }>().id;
    const group = (await t.call('POST', `${base}/groups`, { name: 'Team' })).json<{ id: string }>().id;
    const member = await user('member@example.com');
    const regrouped = await whileDeleting(dialect, db(), 'users', member, () => t.call('PATCH', `${base}/groups/${group}`, { members: [member] }));
    expect.soft(regrouped.json()).toMatchObject({ status: 400, errors: [{ path: 'members.0', message: `no user ${member} in this tenant` }] });
    const newcomer = await user('newcomer@example.com');
    const grouped = await whileDeleting(dialect, db(), 'users', newcomer, () => t.call('POST', `${base}/groups`, { name: 'New', members: [newcomer] }));
    expect.soft(grouped.json()).toMatchObject({ status: 400, errors: [{ path: 'members.0' }] });

    const dropRole = (name: string) => (tx: Db) => tx.deleteFrom('roles').where('tenant_id', '=', tenantId).where('name', '=', name).execute();
    const role = async (name: string) => expect((await t.call('POST', `${base}/roles`, { name, permissions: ['Alerts.View'] })).statusCode).toBe(201);
    await role('Gone');
    const holder = await user('holder@example.com');
    const given = await whileWriting(dialect, db(), dropRole('Gone'), () => t.call('PATCH', `${base}/users/${holder}`, { roles: ['Gone'] }));
    expect.soft(given.json()).toMatchObject({ status: 400, errors: [{ path: 'roles.0', message: 'no role named "Gone" in this tenant' }] });
    await role('Gone too');
    const created = await whileWriting(dialect, db(), dropRole('Gone too'), () =>
      t.call('POST', `${base}/users`, { email: 'late@example.com', name: 'Late', roles: ['Robot', 'Gone too'] }),
    );
    expect.soft(created.json()).toMatchObject({ status: 400, errors: [{ path: 'roles.1' }] });
    await role('Gone three');
    const grantedGroup = await whileWriting(dialect, db(), dropRole('Gone three'), () => t.call('PATCH', `${base}/groups/${group}`, { roles: ['Gone three'] }));
    expect.soft(grantedGroup.json()).toMatchObject({ status: 400, errors: [{ path: 'roles.0' }] });
  });

  it('marks an alert read or unread while it is deleted, as one deleted before: 200, the other alerts marked', async () => {
    const { token } = await t.tenantWithUser('marking', ['Alerts Viewer']);
    const url = '/api/v1/tenants/marking/alerts';
    const raised = (
      await t.call('POST', url, { alerts: ['kept', 'gone', 'gone too'].map((message) => ({ severity: 'Error', component: 'Jobs', message })) })
    ).json<{ ids: string[] }>().ids;
    const [kept, gone, goneToo] = raised as [string, string, string];
    const read = await whileDeleting(dialect, db(), 'alerts', gone, () => t.call('POST', `${url}/mark-read`, { ids: [kept, gone] }, token));
    expect.soft(`${read.statusCode} ${read.body}`).toBe('200 {"unread":1}');
    const unread = await whileDeleting(dialect, db(), 'alerts', goneToo, () => t.call('POST', `${url}/mark-unread`, { ids: [kept, goneToo] }, token));
    expect.soft(`${unread.statusCode} ${unread.body}`).toBe('200 {"unread":1}');
  });

  it('answers 401, as a moment later, a caller whose user or tenant was deleted while its change was written, not 409', async () => {
    const base = '/api/v1/tenants/leaving';
    const snooze = { scope: 'user', match: { robot: 'R1' }, until: '2999-01-01T00:00:00Z' };
    const caller = await t.tenantWithUser('leaving', ['Alerts Viewer']);
    const snoozed = await whileDeleting(dialect, db(), 'users', caller.userId, () => t.call('POST', `${base}/mutes`, snooze, caller.token));
    expect.soft(detail(snoozed)).toBe('401 A valid bearer token or session is required.');
    const reader = await t.tenantWithUser('leaving', ['Alerts Viewer']);
    const read = await whileDeleting(dialect, db(), 'users', reader.userId, () => t.call('POST', `${base}/alerts/mark-read`, { all: true }, reader.token));
    expect.soft(detail(read)).toBe('401 A valid bearer token or session is required.');
    // Orchestrator's routes name no tenant in their path: the caller went with its tenant.
    const raiser = await t.tenantWithUser('leaving', ['Administrator']);
    const raise = { processAlert: { Message: 'm', Severity: 'Error', ProcessName: 'p', RobotName: 'r' } };
    const raised = await whileDeleting(dialect, db(), 'tenants', raiser.tenantId, () =>
      t.call('POST', '/odata/Alerts/UiPath.Server.Configuration.OData.RaiseProcessAlert', raise, raiser.token),
    );
    expect.soft(detail(raised)).toBe('401 A valid bearer token or session is required.');
  });

  it("answers 404 to the host administrator's Orchestrator call whose X-Tocsin-Tenant was deleted meanwhile, as when deleted before, not 409", async () => {
    const hostCall = (url: string, payload: object) =>
      t.tocsin.app.inject({ method: 'POST', url, headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'x-tocsin-tenant': 'vanishing' }, payload });
    const raise = { processAlert: { Message: 'm', Severity: 'Error', ProcessName: 'p', RobotName: 'r' } };
    const settings = { settings: [{ Name: 'Alerts.Email.Enabled', Value: 'true' }] };
    for (const [url, payload] of [
      ['/odata/Alerts/UiPath.Server.Configuration.OData.RaiseProcessAlert', raise],
      ['/odata/Settings/UiPath.Server.Configuration.OData.UpdateBulk', settings],
    ] as const) {
      const { tenantId } = await t.tenantWithUser('vanishing');
      const answer = await whileDeleting(dialect, db(), 'tenants', tenantId, () => hostCall(url, payload));
      expect.soft(`${url} ${detail(answer)}`).toBe(`${url} 404 Tenant not found.`);
    }
  });

  it('refuses a name or address another request took meanwhile with the 409 naming the field, as when taken before', async () => {
    const { tenantId } = await t.tenantWithUser('taking');
    const base = '/api/v1/tenants/taking';
    const row = { tenant_id: tenantId, created_at: 0, updated_at: 0 };
    const takeUser = (email: string) => (tx: Db) =>
      tx
        .insertInto('users')
        .values({ ...row, id: `u-${email}`, email, email_key: email, name: 'First', language: null, time_zone: null, active: 1, password_hash: null })
        .execute();
    const user = await whileWriting(dialect, db(), takeUser('same@example.com'), () =>
      t.call('POST', `${base}/users`, { email: 'Same@example.com', name: 'Second' }),
    );
    expect
      .soft(`${user.statusCode} ${user.body}`)
      .toContain(
        '409 {"type":"https://tocsin.dev/problems/409","title":"Conflict","status":409,"detail":"A user with the email Same@example.com already exists.","errors":[{"path":"email"',
      );
    const other = (await t.call('POST', `${base}/users`, { email: 'other@example.com', name: 'Other' })).json<{ id: string }>();
    const renamed = await whileWriting(dialect, db(), takeUser('taken@example.com'), () =>
      t.call('PATCH', `${base}/users/${other.id}`, { email: 'taken@example.com' }),
    );
    expect.soft(renamed.json()).toMatchObject({ status: 409, errors: [{ path: 'email' }] });

    const takeSource = (tx: Db) =>
      tx
        .insertInto('sources')
        .values({
          ...row,
          id: 'first-source',
          name: 'hook',
          kind: 'webhook',
          enabled: 1,
          mapping: '{}',
          pull: null,
          pull_password: null,
          pull_client_secret: null,
          pull_state: null,
          last_received_at: null,
          accepted: 0,
          rejected: 0,
          receptions: 0,
          last_error: null,
          last_error_at: null,
        })
        .execute();
    const source = await whileWriting(dialect, db(), takeSource, () => t.call('POST', `${base}/sources`, { name: 'hook', kind: 'webhook' }));
    expect.soft(source.json()).toMatchObject({ status: 409, detail: 'A source named "hook" already exists.', errors: [{ path: 'name' }] });

    const takeTenant = (tx: Db) =>
      tx
        .insertInto('tenants')
        .values({ id: 'first-tenant', name: 'wanted', display_name: 'wanted', time_zone: 'UTC', language: 'en', retention_days: 30, created_at: 0 })
        .execute();
    const tenant = await whileWriting(dialect, db(), takeTenant, () => t.call('POST', '/api/v1/tenants', { name: 'wanted' }));
    expect.soft(tenant.json()).toMatchObject({ status: 409, detail: 'A tenant named "wanted" already exists.', errors: [{ path: 'name' }] });
  });

  it('refuses an address that a request sent at the same time took while its password was hashed with the 409 naming email, on SQLite too', async () => {
    // The check of the address and the insert are a password hash apart: on SQLite every request of a burst passed the
    // check, and all but one got the generic "Another request created the same thing" 409 with no field named.
    await t.tenantWithUser('hashing');
    const base = '/api/v1/tenants/hashing/users';
    const burst = (body: (i: number) => object, url: (i: number) => string, method: 'POST' | 'PATCH') =>
      Promise.all(Array.from({ length: 4 }, (_, i) => t.call(method, url(i), body(i))));
    const created = await burst(
      () => ({ email: 'burst@example.com', name: 'Burst', password: 'a long enough password' }),
      () => base,
      'POST',
    );
    expect(created.filter((res) => res.statusCode === 201)).toHaveLength(1);
    for (const res of created.filter((r) => r.statusCode !== 201)) {
      expect(res.json()).toMatchObject({ status: 409, detail: 'A user with the email burst@example.com already exists.', errors: [{ path: 'email' }] });
    }
    const others = await burst(
      (i) => ({ email: `other-${i}@example.com`, name: 'Other' }),
      () => base,
      'POST',
    );
    const renamed = await burst(
      () => ({ email: 'renamed@example.com', password: 'another long password' }),
      (i) => `${base}/${others[i]!.json<{ id: string }>().id}`,
      'PATCH',
    );
    expect(renamed.filter((res) => res.statusCode === 200)).toHaveLength(1);
    for (const res of renamed.filter((r) => r.statusCode !== 200)) {
      expect(res.json()).toMatchObject({ status: 409, detail: 'A user with the email renamed@example.com already exists.', errors: [{ path: 'email' }] });
    }
  });
});

/**
 * deletingWhileReplaced answers `deletion` sent while a transaction replacing the rows that refer to
 * what it deletes (a PATCH of a user's roles, a group's members) has deleted them and not yet
 * written them again: once the deletion waits on that transaction, the rows are written again and
 * it commits. Taking the deleted row first and its rows then (the cascade), the deletion
 * deadlocked with it.
 */
async function deletingWhileReplaced(
  db: Db,
  replaced: {
    readonly table: 'user_roles' | 'group_members';
    readonly column: 'user_id' | 'group_id';
    readonly row: { user_id: string; role_id: string } | { group_id: string; user_id: string };
  },
  deletion: () => Promise<{ statusCode: number; body: string }>,
): Promise<string> {
  const { table, column, row } = replaced;
  let deleting!: Promise<{ statusCode: number; body: string }>;
  await db.transaction().execute(async (tx) => {
    await tx
      .deleteFrom(table)
      .where(column, '=', (row as Record<string, string>)[column]!)
      .execute();
    ({ answer: deleting } = await startBlocked(db, tx, deletion, 'the deletion waiting on the rows being replaced'));
    await tx
      .insertInto(table)
      .values(row as never)
      .execute();
  });
  const answer = await deleting;
  return `${answer.statusCode} ${answer.body}`;
}

it.runIf(TEST_PG_URL)(
  "deletes a role, a user, a group or their tenant while a user's roles or a group's members are being replaced with it, without a deadlock [postgres]",
  async () => {
    const t = await startTestApp('postgres');
    try {
      const base = '/api/v1/tenants/replacing';
      const db = t.tocsin.deps.storage.db;
      const { userId } = await t.tenantWithUser('replacing');
      const role = (await t.call('POST', `${base}/roles`, { name: 'Held', permissions: ['Alerts.View'] })).json<{ id: string }>().id;
      expect((await t.call('PATCH', `${base}/users/${userId}`, { roles: ['Held'] })).statusCode).toBe(200);
      const userRoles = { table: 'user_roles', column: 'user_id', row: { user_id: userId, role_id: role } } as const;
      expect(await deletingWhileReplaced(db, userRoles, () => t.call('DELETE', `${base}/roles/${role}`))).toBe('204 ');
      expect((await t.call('GET', `${base}/users/${userId}`)).json().roles).toEqual([]);

      const group = async (name: string) =>
        (await t.call('POST', `${base}/groups`, { name, members: [userId], roles: ['Alerts Viewer'] })).json<{ id: string }>().id;
      const desk = await group('Desk');
      const members = { table: 'group_members', column: 'group_id', row: { group_id: desk, user_id: userId } } as const;
      expect(await deletingWhileReplaced(db, members, () => t.call('DELETE', `${base}/groups/${desk}`))).toBe('204 ');
      expect((await t.call('GET', `${base}/groups/${desk}`)).statusCode).toBe(404);

      const ops = await group('Ops');
      const leaving = { table: 'group_members', column: 'group_id', row: { group_id: ops, user_id: userId } } as const;
      expect(await deletingWhileReplaced(db, leaving, () => t.call('DELETE', `${base}/users/${userId}`))).toBe('204 ');
      expect((await t.call('GET', `${base}/groups/${ops}`)).json().members).toEqual([]);

      // The whole tenant, with its users, groups and roles.
      const gone = await t.tenantWithUser('replaced');
      const team = (await t.call('POST', '/api/v1/tenants/replaced/groups', { name: 'Team', members: [gone.userId] })).json<{ id: string }>().id;
      const teamMembers = { table: 'group_members', column: 'group_id', row: { group_id: team, user_id: gone.userId } } as const;
      expect(await deletingWhileReplaced(db, teamMembers, () => t.call('DELETE', '/api/v1/tenants/replaced'))).toBe('204 ');
    } finally {
      await t.close();
    }
  },
);

it.runIf(TEST_PG_URL)(
  'deletes a tenant while one of its users is being deleted, its memberships gone and its row not yet, without a deadlock [postgres]',
  async () => {
    // DELETE /users/{id} takes the tenant's lock on access changes, deletes the user's memberships,
    // then the user. The tenant's deletion locked its users, then deleted their memberships: each
    // waited on the other, and PostgreSQL aborted one of them (DELETE /tenants answered 503).
    const t = await startTestApp('postgres');
    try {
      const db = t.tocsin.deps.storage.db;
      const leaving = await t.tenantWithUser('leaving');
      expect((await t.call('POST', '/api/v1/tenants/leaving/groups', { name: 'Desk', members: [leaving.userId] })).statusCode).toBe(201);
      let deleting!: Promise<{ statusCode: number; body: string }>;
      await db.transaction().execute(async (tx) => {
        // As deleteUser does, step by step.
        await lockAccessChanges(tx, leaving.tenantId, undefined);
        await tx.deleteFrom('group_members').where('user_id', '=', leaving.userId).execute();
        ({ answer: deleting } = await startBlocked(
          db,
          tx,
          () => t.call('DELETE', '/api/v1/tenants/leaving'),
          'the tenant deletion waiting on the user deletion',
        ));
        await tx.deleteFrom('users').where('id', '=', leaving.userId).execute();
      });
      const answer = await deleting;
      expect(`${answer.statusCode} ${answer.body}`).toBe('204 ');
      expect((await t.call('GET', '/api/v1/tenants/leaving')).statusCode).toBe(404);
    } finally {
      await t.close();
    }
  },
);

it.runIf(TEST_PG_URL)('deletes a tenant while a reader marks every alert read behind a commit storing alerts, without a deadlock [postgres]', async () => {
  // A commit storing alerts holds the time floor, then checks its tenant's row. The mark waited for
  // the floor holding its reader's key; the tenant's deletion held the tenant's row, its cascade
  // waiting on that key: a circle, and PostgreSQL aborted one of them (DELETE /tenants answered 503).
  const t = await startTestApp('postgres');
  try {
    const db = t.tocsin.deps.storage.db;
    const reader = await t.tenantWithUser('floored', ['Alerts Viewer']);
    let marking!: Promise<{ statusCode: number; body: string }>;
    let deleting!: Promise<{ statusCode: number; body: string }>;
    await db.transaction().execute(async (tx) => {
      await holdAlertTimeFloor(tx);
      ({ answer: marking } = await startBlocked(
        db,
        tx,
        () => t.call('POST', '/api/v1/tenants/floored/alerts/mark-read', { all: true }, reader.token),
        'the mark waiting for the floor',
      ));
      let deleted = false;
      deleting = t.call('DELETE', '/api/v1/tenants/floored').finally(() => (deleted = true));
      await until(
        async () =>
          deleted ||
          (
            await sql<{
              n: number;
            }>`select count(*)::int as n from pg_stat_activity where wait_event_type = 'Lock' and query ilike 'delete from "tenants"%'`.execute(db)
          ).rows[0]!.n > 0,
        'the deletion answered, or waiting',
      );
      // As a commit storing alerts checks its tenant (insertAlerts).
      await tx.selectFrom('tenants').select('id').where('id', '=', reader.tenantId).forKeyShare().execute();
    });
    const [deleted, marked] = [await deleting, await marking];
    expect(`${deleted.statusCode} ${deleted.body}`).toBe('204 ');
    expect(`${marked.statusCode} ${JSON.parse(marked.body).detail}`).toBe('401 A valid bearer token or session is required.');
  } finally {
    await t.close();
  }
});

it.runIf(TEST_PG_URL)('lifts a mute while its tenant is being deleted, without a deadlock: the lift answers 404 [postgres]', async () => {
  // The lift held the mute's row, then its audit entry checked the tenant's key, which the deletion
  // held while its cascade waited on that mute's row: PostgreSQL aborted one of them (a 503).
  const t = await startTestApp('postgres');
  try {
    const db = t.tocsin.deps.storage.db;
    const admin = await t.tenantWithUser('lifting');
    const mute = await t.call(
      'POST',
      '/api/v1/tenants/lifting/mutes',
      { scope: 'tenant', match: { component: 'Jobs' }, until: new Date(Date.now() + 3_600_000).toISOString() },
      admin.token,
    );
    let lifting!: Promise<{ statusCode: number; body: string }>;
    await db.transaction().execute(async (tx) => {
      // As the deletion's `delete from tenants` locks the row before its cascade.
      await tx.selectFrom('tenants').select('id').where('id', '=', admin.tenantId).forUpdate().execute();
      ({ answer: lifting } = await startBlocked(
        db,
        tx,
        () => t.call('DELETE', `/api/v1/tenants/lifting/mutes/${mute.json<{ id: string }>().id}`, undefined, admin.token),
        'the lift waiting on the tenant being deleted',
      ));
      await tx.deleteFrom('tenants').where('id', '=', admin.tenantId).execute();
    });
    const lifted = await lifting;
    expect(`${lifted.statusCode} ${JSON.parse(lifted.body).detail}`).toBe('404 Mute not found.');
  } finally {
    await t.close();
  }
});

it.runIf(TEST_PG_URL)('deletes a tenant while a reader marks every alert read, without a deadlock: the mark answers 401 [postgres]', async () => {
  // The mark held its reader's key, then its watermark's row checked the tenant's key, which the
  // deletion held while its cascade waited on that reader's key: PostgreSQL aborted one (a 503).
  const t = await startTestApp('postgres');
  try {
    const db = t.tocsin.deps.storage.db;
    const reader = await t.tenantWithUser('unmarked', ['Alerts Viewer']);
    let marking!: Promise<{ statusCode: number; body: string }>;
    await db.transaction().execute(async (tx) => {
      // As the deletion's `delete from tenants` locks the row before its cascade.
      await tx.selectFrom('tenants').select('id').where('id', '=', reader.tenantId).forUpdate().execute();
      ({ answer: marking } = await startBlocked(
        db,
        tx,
        () => t.call('POST', '/api/v1/tenants/unmarked/alerts/mark-read', { all: true }, reader.token),
        'the mark waiting on the tenant being deleted',
      ));
      await tx.deleteFrom('tenants').where('id', '=', reader.tenantId).execute();
    });
    const marked = await marking;
    expect(`${marked.statusCode} ${JSON.parse(marked.body).detail}`).toBe('401 A valid bearer token or session is required.');
  } finally {
    await t.close();
  }
});

it.runIf(TEST_PG_URL)('deletes a tenant while a user saves its alert preferences, without a deadlock [postgres]', async () => {
  // The upsert held the user's key, then checked the tenant's, which the deletion held while its
  // cascade waited on that user: PostgreSQL aborted one of them (a 503).
  const t = await startTestApp('postgres');
  try {
    const db = t.tocsin.deps.storage.db;
    const user = await t.tenantWithUser('choosing', ['Alerts Viewer']);
    let saving!: Promise<{ statusCode: number; body: string }>;
    await db.transaction().execute(async (tx) => {
      // As the deletion's `delete from tenants` locks the row before its cascade.
      await tx.selectFrom('tenants').select('id').where('id', '=', user.tenantId).forUpdate().execute();
      ({ answer: saving } = await startBlocked(
        db,
        tx,
        () => t.call('PUT', '/api/v1/tenants/choosing/me/alert-preferences', { email: { fatalImmediately: true } }, user.token),
        'the save waiting on the tenant being deleted',
      ));
      await tx.deleteFrom('tenants').where('id', '=', user.tenantId).execute();
    });
    const saved = await saving;
    expect(`${saved.statusCode} ${JSON.parse(saved.body).detail}`).toBe('401 A valid bearer token or session is required.');
  } finally {
    await t.close();
  }
});

it.runIf(TEST_PG_URL)('deletes a user while it marks every alert read, without a deadlock: the mark answers 401 [postgres]', async () => {
  // The mark moves the user's watermark row, then (an alert stored since it began) moves it again,
  // which checks the row's foreign key: it waited on the user locked by the deletion, whose cascade
  // waited on that row. PostgreSQL aborted one of them, a 503.
  const t = await startTestApp('postgres');
  try {
    const base = '/api/v1/tenants/marking';
    const db = t.tocsin.deps.storage.db;
    const reader = await t.tenantWithUser('marking', ['Alerts Viewer']);
    expect((await t.call('POST', `${base}/alerts/mark-read`, { all: true }, reader.token)).statusCode).toBe(200);
    // Stored later than the mark begins, as by a commit under way meanwhile.
    await insertAlerts(
      db,
      reader.tenantId,
      [newAlert({ severity: 'Error', component: 'Jobs', event: 'Process.RaiseAlert', message: 'later' })],
      Date.now() + 3_600_000,
    );
    let marking!: Promise<{ statusCode: number; body: string }>;
    await db.transaction().execute(async (tx) => {
      await tx.selectFrom('users').select('id').where('id', '=', reader.userId).forUpdate().execute();
      ({ answer: marking } = await startBlocked(
        db,
        tx,
        () => t.call('POST', `${base}/alerts/mark-read`, { all: true }, reader.token),
        'the mark waiting on the user being deleted',
      ));
      await tx.deleteFrom('users').where('id', '=', reader.userId).execute();
    });
    const marked = await marking;
    expect(`${marked.statusCode} ${JSON.parse(marked.body).detail}`).toBe('401 A valid bearer token or session is required.');
  } finally {
    await t.close();
  }
});
/**
 * deletingWhileSaved is deletingWhileReplaced as a PATCH really writes: saveGroup and updateUser
 * write the group's or user's own row first (its name, updated_at), then replace its rows. Taking
 * the rows first and the group or user then, the deletion waited on that row while the PATCH waited
 * on the rows it had taken: a deadlock.
 */
async function deletingWhileSaved(
  db: Db,
  saved: { readonly table: 'groups' | 'users'; readonly id: string },
  replaced: Parameters<typeof deletingWhileReplaced>[1],
  deletion: () => Promise<{ statusCode: number; body: string }>,
): Promise<string> {
  const { table, column, row } = replaced;
  let deleting!: Promise<{ statusCode: number; body: string }>;
  await db.transaction().execute(async (tx) => {
    await sql`update ${sql.table(saved.table)} set tenant_id = tenant_id where id = ${saved.id}`.execute(tx);
    ({ answer: deleting } = await startBlocked(db, tx, deletion, 'the deletion waiting on the row being saved'));
    await tx
      .deleteFrom(table)
      .where(column, '=', (row as Record<string, string>)[column]!)
      .execute();
    await tx
      .insertInto(table)
      .values(row as never)
      .execute();
  });
  const answer = await deleting;
  return `${answer.statusCode} ${answer.body}`;
}

it.runIf(TEST_PG_URL)(
  "deletes a group or its tenant while a PATCH that writes the group's or a user's own row first is replacing its members or roles, without a deadlock [postgres]",
  async () => {
    const t = await startTestApp('postgres');
    try {
      const db = t.tocsin.deps.storage.db;
      const { userId } = await t.tenantWithUser('saving');
      const desk = (await t.call('POST', '/api/v1/tenants/saving/groups', { name: 'Desk', members: [userId] })).json<{ id: string }>().id;
      const members = { table: 'group_members', column: 'group_id', row: { group_id: desk, user_id: userId } } as const;
      // A PATCH of the group's name and members, as the console saves a group.
      expect(await deletingWhileSaved(db, { table: 'groups', id: desk }, members, () => t.call('DELETE', `/api/v1/tenants/saving/groups/${desk}`))).toBe(
        '204 ',
      );

      const held = await t.tenantWithUser('held');
      const role = (await t.call('POST', '/api/v1/tenants/held/roles', { name: 'Held', permissions: ['Alerts.View'] })).json<{ id: string }>().id;
      expect((await t.call('PATCH', `/api/v1/tenants/held/users/${held.userId}`, { roles: ['Held'] })).statusCode).toBe(200);
      const userRoles = { table: 'user_roles', column: 'user_id', row: { user_id: held.userId, role_id: role } } as const;
      // A PATCH of the user's roles: updateUser writes its row (updated_at) before its roles.
      expect(await deletingWhileSaved(db, { table: 'users', id: held.userId }, userRoles, () => t.call('DELETE', '/api/v1/tenants/held'))).toBe('204 ');
    } finally {
      await t.close();
    }
  },
);
