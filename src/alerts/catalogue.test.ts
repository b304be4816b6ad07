import { describe, expect, it } from 'vitest';
import { LANGUAGES } from '../i18n/languages.js';
import { COMPONENTS, EVENTS, componentDisplayName, eventDisplayName, findComponent, findEvent } from './catalogue.js';
import { loadConfig } from '../config.js';
import { SEVERITIES, parseSeverity } from './severity.js';
import { ORCHESTRATOR_RULES } from '../sources/mapping/orchestrator.js';

describe('event catalogue', () => {
  it("holds every event of the reference's section 2 with its component and default severity", () => {
    const expected: [string, string, string][] = [
      ['Robot.StatusChanged.Offline', 'Robots', 'Fatal'],
      ['Robot.StatusChanged.Offline.Attended', 'Robots', 'Fatal'],
      ['Robot.StatusChanged.NotResponding', 'Robots', 'Error'],
      ['Robot.StatusChanged.Available', 'Robots', 'Info'],
      ['Process.JobExecution.Faulted', 'Jobs', 'Error'],
      ['Queue.TransactionStatus.FailedWithApplicationException', 'Transactions', 'Error'],
      ['Queue.TransactionStatus.FailedWithBusinessException', 'Transactions', 'Warn'],
      ['Schedule.NoJobCreated', 'Schedules', 'Error'],
      ['Schedule.MaxNumberOfJobsAlreadyExist', 'Schedules', 'Error'],
      ['Process.RaiseAlert', 'Process', 'Success'],
    ];
    for (const [name, component, severity] of expected) {
      expect(findEvent(name), name).toMatchObject({ component, defaultSeverity: severity });
    }
    expect(EVENTS.length).toBeGreaterThanOrEqual(20);
  });

  it('knows every event the Orchestrator webhook mapping raises, under its component and with its severity, so that preferences list it and emails name it', () => {
    // An event outside the catalogue is listed by no preferences page and shown by its code in every
    // language ("[Erreur] Process.Custom"): these are Tocsin's own names, not a sender's.
    for (const rule of ORCHESTRATOR_RULES) {
      expect(findEvent(rule.event), rule.event).toMatchObject({ component: rule.component, defaultSeverity: rule.severity });
      for (const language of LANGUAGES) expect(eventDisplayName(rule.event, language), `${rule.event} ${language}`).not.toBe(rule.event);
    }
  });

  it('names every component and event in all five languages, under a known component', () => {
    for (const item of [...COMPONENTS, ...EVENTS]) {
      for (const language of LANGUAGES) expect(item.displayName[language], `${item.name} ${language}`).toMatch(/\S/);
    }
    for (const event of EVENTS) expect(findComponent(event.component), event.name).toBeDefined();
  });

  it('gives every component a name of its own in each language, so that no two read alike in a list', () => {
    for (const language of LANGUAGES) {
      const names = COMPONENTS.map((component) => component.displayName[language].toLowerCase());
      expect(
        names.filter((name, i) => names.indexOf(name) !== i),
        language,
      ).toEqual([]);
    }
  });

  it('writes the French names with the typographic apostrophe the emails use, so that a line of an email never mixes the two', () => {
    for (const item of [...COMPONENTS, ...EVENTS]) expect(item.displayName.fr, item.name).not.toContain("'");
  });

  it('shows unknown events and components by their own name, and unknown languages in English', () => {
    expect(eventDisplayName('Robot.StatusChanged.Offline', 'fr')).toBe('Robot hors ligne');
    expect(eventDisplayName('robot.statuschanged.offline', 'ja')).toBe('ロボットがオフライン');
    expect(eventDisplayName('Robot.StatusChanged.Offline', 'xx')).toBe('Robot offline');
    expect(eventDisplayName('Custom.Thing', 'de')).toBe('Custom.Thing');
    expect(componentDisplayName('Queues', 'fr')).toBe('Files d’attente');
    expect(componentDisplayName('Elsewhere', 'fr')).toBe('Elsewhere');
  });
});

describe('severities', () => {
  it('reads names in any case and Warning for Warn, in ladder order', () => {
    expect(SEVERITIES).toEqual(['Info', 'Success', 'Warn', 'Error', 'Fatal']);
    expect(parseSeverity('warning')).toBe('Warn');
    expect(parseSeverity('FATAL')).toBe('Fatal');
    expect(parseSeverity('Critical')).toBeUndefined();
  });
});

describe('flood window setting', () => {
  it('defaults to ten minutes and refuses nonsense', () => {
    expect(loadConfig({}).floodWindowMs).toBe(600_000);
    expect(loadConfig({ TOCSIN_FLOOD_WINDOW_SECONDS: '' }).floodWindowMs).toBe(600_000);
    expect(loadConfig({ TOCSIN_FLOOD_WINDOW_SECONDS: '60' }).floodWindowMs).toBe(60_000);
    expect(() => loadConfig({ TOCSIN_FLOOD_WINDOW_SECONDS: 'soon' })).toThrow(/TOCSIN_FLOOD_WINDOW_SECONDS/);
    expect(() => loadConfig({ TOCSIN_FLOOD_WINDOW_SECONDS: '1.5' })).toThrow(/TOCSIN_FLOOD_WINDOW_SECONDS/);
  });
});
