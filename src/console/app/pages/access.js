import { useEffect, useState } from 'preact/hooks';
import { PERMISSIONS } from 'tocsin/permissions';
import { api, fieldErrors } from '../lib/api.js';
import { formatTime } from '../lib/format.js';
import { currentLanguage, isolated, listSeparator, t } from '../lib/i18n.js';
import { ChosenLanguage, ChosenTimeZone, LanguageField, TimeZoneField, languageAndZone } from '../lib/person-fields.js';
import { href } from '../lib/router.js';
import { can, tenantApi } from '../lib/session.js';
import {
  Banner,
  Copyable,
  Dialog,
  FieldError,
  TabPanel,
  Tabs,
  TextField,
  Toggle,
  gone,
  html,
  problemText,
  rowNameId,
  useOneAtATime,
  useSaver,
} from '../lib/ui.js';
import { useLastAsked } from '../lib/last-asked.js';
import { useLoadWhenBack } from '../lib/polling.js';

/** BUILT_IN_ROLES are the roles every tenant has; the console names them in the user's language. */
const BUILT_IN_ROLES = ['Administrator', 'Alerts Viewer', 'Robot'];

/**
 * roleName is a role's name as shown: a built-in role's in the user's language, others as named.
 * @param {string} name
 */
function roleName(name) {
  return BUILT_IN_ROLES.includes(name) ? t(`role.${name}`) : name;
}

/**
 * PermissionNames shows permissions in the user's language ("Consultation des alertes"), each with its
 * code (Alerts.View, as the API and the mail settings' hint name it) in a tooltip.
 * @param {{ permissions: string[] }} props
 */
function PermissionNames({ permissions }) {
  return permissions.map((code, i) => html`${i ? listSeparator() : ''}<span title=${code}>${permissionName(code)}</span>`);
}

/** permissionName is a permission's name in the user's language, else its code. */
const permissionName = (code) => (PERMISSIONS.includes(code) ? t(`permission.${code}`) : code);

/**
 * RoleNames lists roles by their shown names, each with its own name in a tooltip when it differs,
 * each isolated: a bidirectional override in one would turn the names after it backwards.
 * @param {{ roles: string[] }} props
 */
function RoleNames({ roles }) {
  return roles.map((role, i) => html`${i ? listSeparator() : ''}<bdi title=${roleName(role) === role ? undefined : role}>${roleName(role)}</bdi>`);
}

/**
 * heldBy is what the signed-in principal holds: the API lets a holder of Users.Edit grant only
 * that (roles, groups' roles, a role's permissions), and change no user who holds more.
 * @param {import('../lib/session.js').Session} session
 */
function heldBy(session) {
  const held = new Set(session.kind === 'host' ? PERMISSIONS : session.permissions);
  return (/** @type {string[]} */ permissions) => permissions.every((p) => held.has(p));
}

/**
 * CheckList is a labelled group of checkboxes choosing some of `options` ([value, text] pairs), with
 * an optional hint under its legend; an option [value, text, false] is one the user may not grant:
 * disabled unless chosen already (it may still be taken away).
 */
function CheckList({ id, legend, hint = '', options, value, onChange, error }) {
  const chosen = new Set(value);
  // Its error is read with the group, as a field's is with the field (a role or member deleted meanwhile).
  return html`<fieldset class=${`checklist${error ? ' invalid' : ''}`} aria-describedby=${error ? `${id}-error` : undefined}>
    <legend>${legend}</legend>
    ${hint ? html`<small class="hint">${hint}</small>` : null}
    ${options.length === 0 ? html`<p class="muted">—</p>` : null}
    ${options.map(
      ([optionValue, text, grantable = true]) => html`<${Toggle} id=${`${id}-${optionValue}`} label=${text} checked=${chosen.has(optionValue)}
      disabled=${!grantable && !chosen.has(optionValue)} onChange=${(on) => {
        const next = new Set(chosen);
        if (on) next.add(optionValue);
        else next.delete(optionValue);
        onChange([...next]);
      }} />`,
    )}
    <${FieldError} id=${`${id}-error`} error=${error} />
  </fieldset>`;
}

/**
 * roleOptions are the roles to choose in a CheckList, those granting what the user lacks not grantable, and the hint saying why.
 * @param {import('../lib/session.js').Session} session @param {{ name: string, permissions: string[] }[]} roles
 */
function roleOptions(session, roles) {
  const holds = heldBy(session);
  const options = roles.map((role) => [role.name, roleName(role.name), holds(role.permissions)]);
  return { options, hint: options.some((option) => !option[2]) ? t('access.grantOnlyHeld') : '' };
}

function UserDialog({ session, user, roles, onClose, onSaved }) {
  const [form, setForm] = useState({
    email: user?.email ?? '',
    name: user?.name ?? '',
    language: user?.language ?? '',
    timeZone: user?.timeZone ?? '',
    password: '',
    // A new user is an Alerts Viewer, when the user adding it may grant that.
    roles: user?.roles ?? roles.filter((role) => role.name === 'Alerts Viewer' && heldBy(session)(role.permissions)).map((role) => role.name),
    active: user?.active ?? true,
  });
  const { errors, message, run, busy } = useSaver(onSaved);
  const set = (name) => (value) => setForm({ ...form, [name]: value });
  const submit = (event) => {
    event.preventDefault();
    /** @type {Partial<typeof form> & { language: string | null, timeZone: string | null }} */
    const body = { ...form, ...languageAndZone(form) };
    if (!form.password) delete body.password;
    if (!user) {
      if (!body.language) delete body.language;
      if (!body.timeZone) delete body.timeZone;
    }
    run(() => (user ? api('PATCH', tenantApi(session, `users/${user.id}`), body) : api('POST', tenantApi(session, 'users'), body)));
  };
  return html`<${Dialog} title=${user ? t('access.editUser') : t('access.addUser')} onClose=${onClose} wide>
    <form onSubmit=${submit} class="grid-form">
      <${TextField} id="user-email" type="email" label=${t('access.email')} value=${form.email} onInput=${set('email')} error=${errors.email} required />
      <${TextField} id="user-name" label=${t('access.name')} value=${form.name} onInput=${set('name')} error=${errors.name} required />
      <${LanguageField} id="user-language" value=${form.language} onChange=${set('language')} error=${errors.language} />
      <${TimeZoneField} id="user-timeZone" value=${form.timeZone} onInput=${set('timeZone')} error=${errors.timeZone} tenantZone=${session.tenant.timeZone} />
      <${TextField} id="user-password" type="password" label=${user ? t('access.newPassword') : t('access.password')} value=${form.password}
        onInput=${set('password')} error=${errors.password} autocomplete="new-password" />
      <${Toggle} id="user-active" label=${t('access.active')} checked=${form.active} onChange=${set('active')} />
      <${CheckList} id="user-roles" legend=${t('access.roles')} ...${roleOptions(session, roles)} value=${form.roles} onChange=${set('roles')} error=${errors.roles} />
      <${Banner}>${message}<//>
      <div class="actions"><button type="button" class="link" onClick=${onClose}>${t('cancel')}</button><button type="submit" aria-busy=${busy}>${t('save')}</button></div>
    </form>
  <//>`;
}

/** TokenDialog lists a user's API tokens, each revocable, and makes a new one, shown once. */
function TokenDialog({ session, user, onClose }) {
  const [name, setName] = useState('');
  const [token, setToken] = useState(/** @type {any} */ (null));
  const [tokens, setTokens] = useState(/** @type {{ id: string, name: string, createdAt: string }[]} */ ([]));
  const [error, setError] = useState(/** @type {import('preact').ComponentChildren} */ (''));
  // A name the API refuses (spaces only, too long) is said beside the name, as in the other dialogs.
  const [nameError, setNameError] = useState(/** @type {string | undefined} */ (undefined));
  const tokensApi = tenantApi(session, `users/${user.id}/tokens`);
  // Each Revoke reads the tokens again: on a slow or loaded server, the read after an earlier Revoke,
  // answered after the one after a later Revoke, listed a token revoked since. Only the last read shows.
  const reads = useLastAsked();
  const load = () =>
    reads.read(
      () => api('GET', tokensApi),
      (answer) => setTokens(answer.items),
      (err) => setError(problemText(err)),
    );
  useEffect(() => {
    load();
  }, [user.id]);
  const { busy, once } = useOneAtATime();
  const create = (event) => {
    event.preventDefault();
    once(async () => {
      try {
        setToken(await api('POST', tokensApi, { name }));
      } catch (err) {
        setNameError(fieldErrors(err).name);
        setError(problemText(err));
      }
    });
  };
  const revoke = async (item) => {
    if (!confirm(t('access.confirmRevoke', { name: isolated(item.name) }))) return;
    try {
      await api('DELETE', `${tokensApi}/${item.id}`);
    } catch (err) {
      // Revoked meanwhile (by another administrator): done, as a second Delete on the Alerts page is.
      if (!gone(err)) {
        setError(problemText(err));
        return;
      }
    }
    load();
  };
  return html`<${Dialog} title=${t('access.newToken', { email: user.email })} onClose=${onClose}>
    ${
      token
        ? html`<p class="banner success">${t('access.tokenOnce')}</p>
          <${Copyable} id="token-value" label=${token.name} value=${token.token} />
          <div class="actions"><button type="button" class="secondary" onClick=${onClose}>${t('close')}</button></div>`
        : html`${
            tokens.length
              ? html`<h3>${t('access.tokensInUse')}</h3>
                <ul class="token-list">${tokens.map(
                  (item) => html`<li key=${item.id}><bdi>${item.name}</bdi> <span class="muted">${formatTime(item.createdAt)}</span>
                    <button type="button" class="link danger" onClick=${() => revoke(item)}>${t('access.revoke')}</button></li>`,
                )}</ul>`
              : null
          }<form onSubmit=${create}>
          <${TextField} id="token-name" label=${t('access.tokenName')} value=${name} onInput=${setName} error=${nameError} required />
          <${Banner}>${error}<//>
          <div class="actions"><button type="button" class="link" onClick=${onClose}>${t('cancel')}</button><button type="submit" aria-busy=${busy}>${t('access.createToken')}</button></div>
        </form>`
    }
  <//>`;
}

/**
 * kindNames lists kinds of email (a group mailbox's or a user's opt-outs) by their names in the user's language.
 * @param {string[]} kinds
 */
const kindNames = (kinds) => new Intl.ListFormat(currentLanguage(), { type: 'conjunction' }).format(kinds.map((kind) => t(`kind.${kind}`)));

/**
 * OptedOut says under an address the emails it unsubscribed from through their one-click links
 * (`unsubscribed`, as the Group and User answers list them), which stop until turned back on; nothing when none.
 * `label` is the key of its text, which French words for a mailbox or for a person; `hint`, what happened, on hover.
 */
function OptedOut({ unsubscribed, label, hint = undefined }) {
  return unsubscribed?.length ? html`<small class="opted-out" title=${hint}>${t(label, { kinds: kindNames(unsubscribed) })}</small>` : null;
}

function GroupDialog({ session, group, users, roles, onClose, onSaved }) {
  const [form, setForm] = useState({
    name: group?.name ?? '',
    email: group?.email ?? '',
    language: group?.language ?? '',
    members: group?.members ?? [],
    roles: group?.roles ?? [],
    expandMembers: group?.expandMembers ?? false,
    unsubscribed: group?.unsubscribed ?? [],
  });
  // Only what its mailbox had unsubscribed from when opened, to turn back on: sent only when changed,
  // so that saving the name does not undo an unsubscribe taken since.
  const optedOut = group?.unsubscribed ?? [];
  const { errors, message, run, busy } = useSaver(onSaved);
  const set = (name) => (value) => setForm({ ...form, [name]: value });
  const submit = (event) => {
    event.preventDefault();
    const { unsubscribed, ...fields } = form;
    const body = {
      ...fields,
      email: form.email.trim() || null,
      language: form.language || null,
      ...(unsubscribed.length !== optedOut.length ? { unsubscribed } : {}),
    };
    run(() => (group ? api('PATCH', tenantApi(session, `groups/${group.id}`), body) : api('POST', tenantApi(session, 'groups'), body)));
  };
  return html`<${Dialog} title=${group ? t('access.editGroup') : t('access.addGroup')} onClose=${onClose} wide>
    <form onSubmit=${submit} class="grid-form">
      <${TextField} id="group-name" label=${t('access.name')} value=${form.name} onInput=${set('name')} error=${errors.name} required />
      <${TextField} id="group-email" type="email" label=${t('access.groupEmail')} value=${form.email} onInput=${set('email')} error=${errors.email} />
      <${LanguageField} id="group-language" value=${form.language} onChange=${set('language')} error=${errors.language} />
      <${Toggle} id="group-expand" label=${t('access.expandMembers')} hint=${t('access.expandMembersHint')} checked=${form.expandMembers} onChange=${set('expandMembers')} />
      <${CheckList} id="group-members" legend=${t('access.members')} options=${users.map((user) => [user.id, user.email])} value=${form.members} onChange=${set('members')} error=${errors.members} />
      <${CheckList} id="group-roles" legend=${t('access.roles')} ...${roleOptions(session, roles)} value=${form.roles} onChange=${set('roles')} error=${errors.roles} />
      ${
        optedOut.length > 0
          ? html`<${CheckList} id="group-unsubscribed" legend=${t('access.unsubscribedLegend')} hint=${t('access.unsubscribedHint')}
          options=${optedOut.map((kind) => [kind, t(`kind.${kind}`)])} value=${form.unsubscribed} onChange=${set('unsubscribed')} error=${errors.unsubscribed} />`
          : null
      }
      <${Banner}>${message}<//>
      <div class="actions"><button type="button" class="link" onClick=${onClose}>${t('cancel')}</button><button type="submit" aria-busy=${busy}>${t('save')}</button></div>
    </form>
  <//>`;
}

function RoleDialog({ session, role, onClose, onSaved }) {
  const holds = heldBy(session);
  const [form, setForm] = useState({ name: role?.name ?? '', permissions: role?.permissions ?? ['Alerts.View'].filter((p) => holds([p])) });
  const options = PERMISSIONS.map((p) => [p, permissionName(p), holds([p])]);
  const { errors, message, run, busy } = useSaver(onSaved);
  return html`<${Dialog} title=${role ? t('access.editRole') : t('access.addRole')} onClose=${onClose}>
    <form onSubmit=${(event) => {
      event.preventDefault();
      run(() => (role ? api('PATCH', tenantApi(session, `roles/${role.id}`), form) : api('POST', tenantApi(session, 'roles'), form)));
    }}>
      <${TextField} id="role-name" label=${t('access.name')} value=${form.name} onInput=${(name) => setForm({ ...form, name })} error=${errors.name} required />
      <${CheckList} id="role-permissions" legend=${t('access.permissions')} options=${options} value=${form.permissions}
        hint=${options.some((option) => !option[2]) ? t('access.grantOnlyHeld') : ''}
        onChange=${(permissions) => setForm({ ...form, permissions })} error=${errors.permissions} />
      <${Banner}>${message}<//>
      <div class="actions"><button type="button" class="link" onClick=${onClose}>${t('cancel')}</button><button type="submit" aria-busy=${busy}>${t('save')}</button></div>
    </form>
  <//>`;
}

/**
 * AccessPage is Manage Access: users, groups and roles of the tenant, and users' API tokens.
 * `onUserChanged` gets the signed-in user's own row once saved, so its language and zone apply at once.
 */
export function AccessPage({ session, tab, onUserChanged = async (/** @type {any} */ _user) => {} }) {
  const [data, setData] = useState(/** @type {{ users: any[], groups: any[], roles: any[] }} */ ({ users: [], groups: [], roles: [] }));
  const [dialog, setDialog] = useState(/** @type {any} */ (null));
  const [error, setError] = useState(/** @type {unknown} */ (null));
  const edit = can(session, 'Users.Edit');
  // Another user's preferences and tokens need Users.Edit (the API answers 403); one's own do not.
  const self = (user) => session.user?.id === user.id;
  // A user, group or role granting what the signed-in user lacks is one it may not change (the API answers 403).
  const holds = heldBy(session);
  const granted = (roleNames) => data.roles.filter((role) => roleNames.includes(role.name)).flatMap((role) => role.permissions);
  const groupGrants = (group) => granted(group.roles);
  const mayChange = (user) =>
    edit && holds([...granted(user.roles), ...(user.groups ?? []).flatMap((id) => groupGrants(data.groups.find((group) => group.id === id) ?? { roles: [] }))]);

  const [loaded, setLoaded] = useState(false);
  // Each change (a save, a Delete) reads the page again, and on a slow or loaded server an older read answered
  // after a newer one brought back what was deleted since; the page does not refresh by itself, so it stayed
  // shown. Only the last read's answer (or error) is shown.
  const reads = useLastAsked();
  const load = () =>
    reads.read(
      () => Promise.all(['users', 'groups', 'roles'].map((name) => api('GET', tenantApi(session, name)))),
      ([users, groups, roles]) => {
        setData({ users: users.items, groups: groups.items, roles: roles.items });
        setLoaded(true);
      },
      setError,
    );
  useEffect(() => {
    load();
  }, [session.tenant.id]);
  useLoadWhenBack(() => {
    setError(null);
    load();
  }, loaded);
  const saved = async (item) => {
    setDialog(null);
    load();
    if (dialog?.kind === 'user' && item && self(item)) await onUserChanged(item);
  };
  const remove = async (kind, item) => {
    if (!confirm(t('access.confirmDelete', { name: isolated(item.email ?? item.name) }))) return;
    try {
      await api('DELETE', tenantApi(session, `${kind}/${item.id}`));
    } catch (err) {
      // Deleted meanwhile (by another administrator; the page does not refresh by itself): done, its row goes.
      if (!gone(err)) {
        setError(err);
        return;
      }
    }
    load();
  };
  // A group mailbox or a user that unsubscribed (anyone reading it may have pressed Unsubscribe) gets everything again.
  const subscribeAgain = async (kind, item) => {
    try {
      await api('PATCH', tenantApi(session, `${kind}/${item.id}`), { unsubscribed: [] });
      load();
    } catch (err) {
      setError(err);
    }
  };
  const userEmail = (id) => data.users.find((user) => user.id === id)?.email ?? id;
  // The API lists a user's groups by id; people know them by name.
  const groupName = (id) => data.groups.find((group) => group.id === id)?.name ?? id;

  return html`<section class="page">
    <h1>${t('access.title')}</h1>
    <${Tabs} panelId="access-panel" tabs=${['users', 'groups', 'roles'].map((name) => ({
      id: `access-tab-${name}`,
      text: t(`access.${name}`),
      selected: tab === name,
      href: href(`/access/${name}`),
    }))} />
    <${TabPanel} id="access-panel" tabId=${`access-tab-${tab}`}>
    <${Banner}>${problemText(error)}<//>
    ${
      tab === 'users'
        ? html`
      ${
        // Offered once the roles are read: Add user chooses Alerts Viewer among them when it opens, and opened
        // before, it chose none and added a user with no role, nothing said.
        edit && loaded
          ? html`<div class="toolbar"><button type="button" onClick=${() => setDialog({ kind: 'user' })}>${t('access.addUser')}</button></div>`
          : null
      }
      <div class="table-wrap"><table>
        <thead><tr><th scope="col">${t('access.email')}</th><th scope="col">${t('access.name')}</th><th scope="col">${t('language')}</th><th scope="col">${t('access.timeZone')}</th>
          <th scope="col">${t('access.roles')}</th><th scope="col">${t('access.active')}</th><th scope="col"><span class="sr-only">${t('actions')}</span></th></tr></thead>
        <tbody>${data.users.map(
          (user) => html`<tr key=${user.id}>
          <td><span id=${rowNameId('user', user)}>${user.email}</span><${OptedOut} unsubscribed=${user.unsubscribed} label="access.userUnsubscribedFrom" hint=${t('access.userUnsubscribedHint')} /></td><td>${user.name}</td><td><${ChosenLanguage} code=${user.language} /></td>
          <td><${ChosenTimeZone} zone=${user.timeZone} tenantZone=${session.tenant.timeZone} /></td>
          <td><${RoleNames} roles=${user.roles} />${(user.groups ?? []).map((id, i) => html`${user.roles.length || i ? listSeparator() : ''}(<bdi>${groupName(id)}</bdi>)`)}</td>
          <td>${user.active ? t('yes') : t('no')}</td>
          <td class="row-actions">
            ${
              // The user's own inbox: it may turn its notices back on itself, as the link's page does.
              (edit || self(user)) && user.unsubscribed?.length
                ? html`<button type="button" class="link" aria-describedby=${rowNameId('user', user)} onClick=${() => subscribeAgain('users', user)}>${t('access.subscribeAgain')}</button>`
                : null
            }
            ${mayChange(user) ? html`<button type="button" class="link" aria-describedby=${rowNameId('user', user)} onClick=${() => setDialog({ kind: 'user', item: user })}>${t('edit')}</button>` : null}
            ${edit || self(user) ? html`<a class="link" aria-describedby=${rowNameId('user', user)} href=${href(`/preferences/${user.id}`)}>${t('access.preferences')}</a>` : null}
            ${mayChange(user) || self(user) ? html`<button type="button" class="link" aria-describedby=${rowNameId('user', user)} onClick=${() => setDialog({ kind: 'token', item: user })}>${t('access.createToken')}</button>` : null}
            ${mayChange(user) ? html`<button type="button" class="link danger" aria-describedby=${rowNameId('user', user)} onClick=${() => remove('users', user)}>${t('delete')}</button>` : null}
          </td></tr>`,
        )}</tbody>
      </table></div>`
        : null
    }
    ${
      tab === 'groups'
        ? html`
      ${
        // Offered once the page is read, as Add user is: opened before, it had no member or role to offer.
        edit && loaded
          ? html`<div class="toolbar"><button type="button" onClick=${() => setDialog({ kind: 'group' })}>${t('access.addGroup')}</button></div>`
          : null
      }
      ${
        // Only a list that was read can be empty: a refused or failed read is told by the banner above.
        loaded && data.groups.length === 0 ? html`<p class="empty">${t('access.noGroups')}</p>` : null
      }
      <div class="table-wrap" hidden=${data.groups.length === 0}><table>
        <thead><tr><th scope="col">${t('access.name')}</th><th scope="col">${t('access.groupEmail')}</th><th scope="col">${t('language')}</th><th scope="col">${t('access.members')}</th>
          <th scope="col">${t('access.roles')}</th><th scope="col">${t('access.expandMembers')}</th><th scope="col"><span class="sr-only">${t('actions')}</span></th></tr></thead>
        <tbody>${data.groups.map(
          (group) => html`<tr key=${group.id}>
          <td id=${rowNameId('group', group)}>${group.name}</td><td>${group.email ?? ''}<${OptedOut} unsubscribed=${group.unsubscribed} label="access.unsubscribedFrom" /></td><td><${ChosenLanguage} code=${group.language} /></td>
          <td>${group.members.map(userEmail).join(listSeparator())}</td><td><${RoleNames} roles=${group.roles} /></td><td>${group.expandMembers ? t('yes') : t('no')}</td>
          <td class="row-actions"><a class="link" aria-describedby=${rowNameId('group', group)} href=${href(`/preferences/group/${group.id}`)}>${t('access.groupRules')}</a>
            ${
              edit
                ? html`${group.unsubscribed?.length ? html`<button type="button" class="link" aria-describedby=${rowNameId('group', group)} onClick=${() => subscribeAgain('groups', group)}>${t('access.subscribeAgain')}</button>` : null}
            ${
              // Deleting it takes from its members what it grants: refused (403) as an edit is, unless all held.
              holds(groupGrants(group))
                ? html`<button type="button" class="link" aria-describedby=${rowNameId('group', group)} onClick=${() => setDialog({ kind: 'group', item: group })}>${t('edit')}</button>
            <button type="button" class="link danger" aria-describedby=${rowNameId('group', group)} onClick=${() => remove('groups', group)}>${t('delete')}</button>`
                : null
            }`
                : null
            }</td></tr>`,
        )}</tbody>
      </table></div>`
        : null
    }
    ${
      tab === 'roles'
        ? html`
      ${edit ? html`<div class="toolbar"><button type="button" onClick=${() => setDialog({ kind: 'role' })}>${t('access.addRole')}</button></div>` : null}
      <div class="table-wrap"><table>
        <thead><tr><th scope="col">${t('access.name')}</th><th scope="col">${t('access.permissions')}</th><th scope="col">${t('access.builtIn')}</th><th scope="col"><span class="sr-only">${t('actions')}</span></th></tr></thead>
        <tbody>${data.roles.map(
          (
            role,
          ) => html`<tr key=${role.id}><td id=${rowNameId('role', role)}><${RoleNames} roles=${[role.name]} /></td><td><${PermissionNames} permissions=${role.permissions} /></td><td>${role.builtIn ? t('yes') : t('no')}</td>
          <td class="row-actions">${
            // Built-in roles cannot be changed (the API answers 409): only custom ones offer Edit and Delete.
            edit && !role.builtIn
              ? html`${
                  // Deleting it takes from its holders what it grants: refused (403) as an edit is, unless all held.
                  holds(role.permissions)
                    ? html`<button type="button" class="link" aria-describedby=${rowNameId('role', role)} onClick=${() => setDialog({ kind: 'role', item: role })}>${t('edit')}</button>
            <button type="button" class="link danger" aria-describedby=${rowNameId('role', role)} onClick=${() => remove('roles', role)}>${t('delete')}</button>`
                    : null
                }`
              : null
          }</td></tr>`,
        )}</tbody>
      </table></div>`
        : null
    }
    <//>
    ${dialog?.kind === 'user' ? html`<${UserDialog} session=${session} user=${dialog.item} roles=${data.roles} onClose=${() => setDialog(null)} onSaved=${saved} />` : null}
    ${dialog?.kind === 'token' ? html`<${TokenDialog} session=${session} user=${dialog.item} onClose=${() => setDialog(null)} />` : null}
    ${dialog?.kind === 'group' ? html`<${GroupDialog} session=${session} group=${dialog.item} users=${data.users} roles=${data.roles} onClose=${() => setDialog(null)} onSaved=${saved} />` : null}
    ${dialog?.kind === 'role' ? html`<${RoleDialog} session=${session} role=${dialog.item} onClose=${() => setDialog(null)} onSaved=${saved} />` : null}
  </section>`;
}
