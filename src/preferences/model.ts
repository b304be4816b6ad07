import type { EmailKind } from '../delivery/contract.js';

/** EmailChoices are the three kinds of alert email a person can turn on or off. */
export interface EmailChoices {
  readonly tenMinuteSummary: boolean;
  readonly dailyReport: boolean;
  readonly fatalImmediately: boolean;
}

/** EmailChoice names one of EmailChoices. */
export type EmailChoice = keyof EmailChoices;

/** DEFAULT_EMAIL_CHOICES are API.md's defaults: both reports on, Fatal-immediately off. */
const DEFAULT_EMAIL_CHOICES: EmailChoices = Object.freeze({
  tenMinuteSummary: true,
  dailyReport: true,
  fatalImmediately: false,
});

/** EMAIL_CHOICE_OF maps each alert email kind to the choice that turns it off (test mail has none). */
export const EMAIL_CHOICE_OF: Readonly<Partial<Record<EmailKind, EmailChoice>>> = Object.freeze({
  summary: 'tenMinuteSummary',
  daily: 'dailyReport',
  immediate: 'fatalImmediately',
});

/**
 * PreferenceLayer is what one user or group set explicitly: subscriptions keyed by component or
 * event name, and the email choices it decided (an absent choice inherits).
 */
export interface PreferenceLayer {
  readonly subscriptions: Readonly<Record<string, boolean>>;
  readonly email: Partial<EmailChoices>;
}

/**
 * Preferences are the layers that decide for one recipient: its own (if it set any) over the
 * union of its groups' default rules, over the defaults.
 */
export interface Preferences {
  readonly own: PreferenceLayer | undefined;
  readonly groups: readonly PreferenceLayer[];
}

/** NO_PREFERENCES is a recipient that set nothing and belongs to no group with rules. */
export const NO_PREFERENCES: Preferences = Object.freeze({ own: undefined, groups: Object.freeze([]) });

/** layerOpinion is one layer's say on an event: its event entry, else its component entry, else none. */
function layerOpinion(layer: PreferenceLayer, component: string, event: string): boolean | undefined {
  return entryOf(layer, event) ?? entryOf(layer, component);
}

// Own entries only: an event may be named `toString` or `constructor`, which every object inherits.
function entryOf(layer: PreferenceLayer, name: string): boolean | undefined {
  return Object.hasOwn(layer.subscriptions, name) ? layer.subscriptions[name] : undefined;
}

/**
 * unionOpinion combines several groups' say: subscribed when any group subscribes, unsubscribed
 * when every group that has a say unsubscribes, no say when none has one.
 */
function unionOpinion(opinions: readonly (boolean | undefined)[]): boolean | undefined {
  let result: boolean | undefined;
  for (const opinion of opinions) {
    if (opinion === true) return true;
    if (opinion === false) result = false;
  }
  return result;
}

/**
 * isSubscribed decides whether a recipient wants alerts of an event: the recipient's own choice
 * wins over its groups' rules, which win over the default (every component subscribed); within
 * one layer an event entry overrides its component's entry.
 */
export function isSubscribed(prefs: Preferences, component: string, event: string): boolean {
  const own = prefs.own ? layerOpinion(prefs.own, component, event) : undefined;
  if (own !== undefined) return own;
  return unionOpinion(prefs.groups.map((g) => layerOpinion(g, component, event))) ?? true;
}

/** wantsEmail decides one email choice with the same precedence as isSubscribed. */
export function wantsEmail(prefs: Preferences, choice: EmailChoice): boolean {
  return prefs.own?.email[choice] ?? unionOpinion(prefs.groups.map((g) => g.email[choice])) ?? DEFAULT_EMAIL_CHOICES[choice];
}

/** effectiveEmail resolves all three email choices. */
export function effectiveEmail(prefs: Preferences): EmailChoices {
  return {
    tenMinuteSummary: wantsEmail(prefs, 'tenMinuteSummary'),
    dailyReport: wantsEmail(prefs, 'dailyReport'),
    fatalImmediately: wantsEmail(prefs, 'fatalImmediately'),
  };
}

/** SubscriptionCatalogue is what a preferences page lists: components, and events with their component. */
export interface SubscriptionCatalogue {
  readonly components: readonly string[];
  readonly events: readonly { readonly name: string; readonly component: string }[];
}

/**
 * effectiveSubscriptions resolves every component and event of the catalogue, and every other
 * name a layer mentions, so a client sees the whole picture and not only the explicit entries.
 */
export function effectiveSubscriptions(prefs: Preferences, catalogue: SubscriptionCatalogue): Record<string, boolean> {
  const result: Record<string, boolean> = {};
  for (const component of catalogue.components) result[component] = isSubscribed(prefs, component, component);
  for (const event of catalogue.events) result[event.name] = isSubscribed(prefs, event.component, event.name);
  for (const layer of [...(prefs.own ? [prefs.own] : []), ...prefs.groups]) {
    // A name outside the catalogue is an event of unknown component: only its own entries apply.
    for (const name of Object.keys(layer.subscriptions)) if (!Object.hasOwn(result, name)) result[name] = isSubscribed(prefs, name, name);
  }
  return result;
}

/** PreferencePatch is a PUT body: left out keeps, null clears (back to inherited). */
export interface PreferencePatch {
  readonly subscriptions?: Readonly<Record<string, boolean | null>> | null | undefined;
  readonly email?: Readonly<Partial<Record<EmailChoice, boolean | null>>> | null | undefined;
}

/** applyPatch returns the layer after a PUT, following API.md's "left out keeps, null clears". */
export function applyPatch(layer: PreferenceLayer | undefined, patch: PreferencePatch): PreferenceLayer {
  const subscriptions: Record<string, boolean> = patch.subscriptions === null ? {} : { ...layer?.subscriptions };
  for (const [name, value] of Object.entries(patch.subscriptions ?? {})) {
    if (value === null) delete subscriptions[name];
    else subscriptions[name] = value;
  }
  const email: Partial<Record<EmailChoice, boolean>> = patch.email === null ? {} : { ...layer?.email };
  for (const [choice, value] of Object.entries(patch.email ?? {}) as [EmailChoice, boolean | null | undefined][]) {
    if (value === null) delete email[choice];
    else if (value !== undefined) email[choice] = value;
  }
  return { subscriptions, email };
}

/** PreferencesShown is a preferences answer's two parts: every subscription and email choice in force. */
export interface PreferencesShown {
  readonly subscriptions: Readonly<Record<string, boolean>>;
  readonly email: EmailChoices;
}

/**
 * editsOf is what a GET answer sent back as a PUT changes: the entries and choices whose value
 * differs from what is in force (`shown`, as a GET answers now), and those it clears (null). Its
 * other entries only repeat what was read: set, each event the answer lists would be pinned, so
 * that turning a component off there left every one of its events on.
 */
export function editsOf(patch: PreferencePatch, shown: PreferencesShown): PreferencePatch {
  // A name no layer mentions and outside the catalogue is not listed: it is subscribed, as by default.
  const inForce = (name: string) => (Object.hasOwn(shown.subscriptions, name) ? shown.subscriptions[name] : true);
  const changed = (entries: Readonly<Record<string, boolean | null | undefined>>, current: (name: string) => boolean | undefined) => {
    const edits: Record<string, boolean | null> = {};
    for (const [name, value] of Object.entries(entries)) if (value !== undefined && value !== current(name)) edits[name] = value;
    return edits;
  };
  return {
    subscriptions: patch.subscriptions && changed(patch.subscriptions, inForce),
    email: patch.email && changed(patch.email, (choice) => shown.email[choice as EmailChoice]),
  };
}
