import { expect } from 'vitest';
import { UnsubscribeLinks } from '../../src/reports/unsubscribe/links.js';
import type { UnsubscribeTarget } from '../../src/reports/unsubscribe/token.js';
import type { Clock } from '../../src/shared/clock.js';
import type { TestApp } from './http.js';

/**
 * takeOneClick makes the unsubscribe link an email to `target` carries and takes it as a mail
 * client's Unsubscribe button does (RFC 8058: a POST of List-Unsubscribe=One-Click).
 */
export async function takeOneClick(t: TestApp, clock: Clock, target: UnsubscribeTarget, publicUrl = 'https://tocsin.example.com'): Promise<void> {
  const url = await new UnsubscribeLinks(t.tocsin.deps.storage.db, publicUrl, clock).url(target);
  const res = await t.tocsin.app.inject({
    method: 'POST',
    url: new URL(url).pathname,
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    payload: 'List-Unsubscribe=One-Click',
  });
  expect(res.statusCode, res.body).toBe(200);
}
