import { describe, expect, it } from 'vitest';
import { preferredLanguage } from './languages.js';

describe('preferredLanguage', () => {
  it.each([
    ['fr-CH, fr;q=0.9, en;q=0.8', 'fr'],
    ['de-AT', 'de'],
    ['pt-BR, es;q=0.5', 'es'],
    [undefined, 'en'],
    ['', 'en'],
    ['*', 'en'],
  ])('picks the first language Tocsin speaks of %j: %s', (header, language) => {
    expect(preferredLanguage(header)).toBe(language);
  });

  it('never picks a language the reader marked as not wanted (q=0)', () => {
    expect(preferredLanguage('fr;q=0, de;q=0.5')).toBe('de');
    expect(preferredLanguage('ja;q=0')).toBe('en');
  });

  it('follows the weights over the order, and the order between equal weights', () => {
    expect(preferredLanguage('en;q=0.2, ja;q=0.9')).toBe('ja');
    expect(preferredLanguage('es;q=0.7, fr;q=0.7')).toBe('es');
    expect(preferredLanguage('es;q=0.7, fr')).toBe('fr');
  });
});

describe('preferredLanguage, as browsers and proxies write the header', () => {
  it('reads a tag in capitals as the same language (FR-CA is French)', () => {
    expect(preferredLanguage('FR-CA, en;q=0.5')).toBe('fr');
    expect(preferredLanguage('DE')).toBe('de');
  });

  it('reads a weight written with spaces around it (`de; q=0.9`) as that weight', () => {
    expect(preferredLanguage('en; q=0.1, de; q=0.9')).toBe('de');
    expect(preferredLanguage('en;q = 0.1, ja')).toBe('ja');
  });
});
