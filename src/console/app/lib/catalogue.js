import { useEffect, useState } from 'preact/hooks';
import { api, returnsSoFar } from './api.js';
import { currentLanguage } from './i18n.js';
import { useLoadWhenBack } from './polling.js';
import { tenantApi } from './session.js';
import { Code, html } from './ui.js';

/** @import { TenantSession } from './session.js' */

/**
 * @typedef {object} CatalogueEvent An event of the catalogue, named in the language shown.
 * @property {string} name its code, e.g. `Robot.StatusChanged.Offline`
 * @property {string} displayName
 * @property {string} [severity] its default severity
 */

/**
 * @typedef {object} CatalogueComponent A component of the catalogue with its events, named in the language shown.
 * @property {string} name its code, e.g. `Robots`
 * @property {string} displayName
 * @property {CatalogueEvent[]} events
 */

/**
 * localName is a catalogue name in a language: the API gives `{en, fr, de, es, ja}`; English, then
 * the code, stand in for a missing one.
 * @param {unknown} displayName
 * @param {string} language
 * @param {string} code
 */
function localName(displayName, language, code) {
  if (typeof displayName === 'string' && displayName) return displayName;
  if (displayName && typeof displayName === 'object') {
    const names = /** @type {Record<string, unknown>} */ (displayName);
    const name = names[language] ?? names.en;
    if (typeof name === 'string' && name) return name;
  }
  return code;
}

/**
 * normalizeCatalogue reads the alerts catalogue in the shapes the API may give it (components
 * with their events, or a flat list of events naming their component), naming each in `language`.
 * @param {any} data
 * @param {string} [language]
 * @returns {CatalogueComponent[]}
 */
export function normalizeCatalogue(data, language = 'en') {
  const list = Array.isArray(data) ? data : (data?.components ?? data?.items ?? []);
  /** @type {Map<string, CatalogueComponent>} */
  const components = new Map();
  /**
   * @param {string} name
   * @param {unknown} [displayName]
   * @returns {CatalogueComponent}
   */
  const add = (name, displayName) => {
    let component = components.get(name);
    if (!component) components.set(name, (component = { name, displayName: localName(displayName, language, name), events: [] }));
    return component;
  };
  /** @param {any} event */
  const eventOf = (event) => {
    const name = typeof event === 'string' ? event : (event.name ?? event.event);
    const severity = typeof event === 'string' ? undefined : (event.severity ?? event.defaultSeverity);
    return { name, displayName: localName(event.displayName, language, name), ...(severity ? { severity } : {}) };
  };
  for (const entry of list) {
    if (typeof entry === 'string') add(entry);
    else if (Array.isArray(entry.events)) {
      const component = add(entry.name ?? entry.component, entry.displayName);
      for (const event of entry.events) component.events.push(eventOf(event));
    } else if (entry.component) {
      add(entry.component).events.push(eventOf(entry));
    }
  }
  return [...components.values()].filter((component) => component.name);
}

/**
 * One read per tenant and language, shared by the pages that ask while Tocsin has not come back
 * since it began: a read in flight when Tocsin answers again may be one it is refusing (a 503 is
 * known by its status before its body is read), and a page that shared it would get its empty
 * answer with no refusal left to bring Tocsin's return once more.
 * @type {Map<string, { returns: number, catalogue: Promise<CatalogueComponent[]> }>}
 */
const loaded = new Map();

/**
 * loadCatalogue fetches the tenant's alerts catalogue named in the language shown, once per tenant
 * and language (and return of Tocsin); an empty list when the API has none.
 * @param {TenantSession} session
 * @returns {Promise<CatalogueComponent[]>}
 */
export function loadCatalogue(session) {
  const language = currentLanguage();
  const key = `${session.tenant.id}:${language}`;
  const returns = returnsSoFar();
  const kept = loaded.get(key);
  if (kept && kept.returns === returns) return kept.catalogue;
  const catalogue = api('GET', tenantApi(session, 'alerts/catalogue')).then(
    (data) => normalizeCatalogue(data, language),
    () => {
      if (loaded.get(key)?.catalogue === catalogue) loaded.delete(key);
      return [];
    },
  );
  loaded.set(key, { returns, catalogue });
  return catalogue;
}

/**
 * @typedef {object} CatalogueNames Component and event names in the language shown, by code.
 * @property {CatalogueComponent[]} components
 * @property {(code: string) => string} component the component's name, else its code
 * @property {(code: string) => string} event the event's name, else its code
 */

/**
 * catalogueNames looks names up by code.
 * @param {CatalogueComponent[]} components
 * @returns {CatalogueNames}
 */
export function catalogueNames(components) {
  /** @type {Map<string, string>} */
  const byCode = new Map();
  for (const c of components) {
    byCode.set(`c:${c.name}`, c.displayName);
    for (const e of c.events) byCode.set(`e:${e.name}`, e.displayName);
  }
  return {
    components,
    component: (code) => byCode.get(`c:${code}`) ?? code,
    event: (code) => byCode.get(`e:${code}`) ?? code,
  };
}

/**
 * useCatalogue is the tenant's catalogue for a page, with its lookups; codes stand for names until it
 * loads. It loads again in the language the user changes to: the bell stays on screen meanwhile.
 * @param {TenantSession} session
 * @returns {CatalogueNames}
 */
export function useCatalogue(session) {
  const [names, setNames] = useState(() => catalogueNames([]));
  const [reads, setReads] = useState(0);
  const language = currentLanguage();
  useEffect(() => {
    let current = true;
    loadCatalogue(session).then((components) => current && setNames(catalogueNames(components)));
    return () => {
      current = false;
    };
  }, [session.tenant.id, language, reads]);
  // Read while Tocsin could not answer (loadCatalogue then gives none and keeps none), the names
  // come once it answers again: the lists around them recover by themselves, the filters' choices too.
  useLoadWhenBack(() => setReads((n) => n + 1), names.components.length > 0);
  return names;
}

/**
 * Named shows a catalogue name with its code in a tooltip, or the code alone (breakable after its
 * dots) when the catalogue does not know it.
 * @param {{ name: string, code: string }} props
 */
export function Named({ name, code }) {
  if (!code) return null;
  if (name === code) return html`<${Code}>${code}<//>`;
  return html`<span class="named" title=${code}>${name}</span>`;
}
