import crypto from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { signingKey } from './secrets.js';
import {
  decodeOrchestratorSignature,
  signOrchestrator,
  signStandardWebhook,
  secretDigest,
  verifyBearerOrBasic,
  verifyOrchestrator,
  verifyStandardWebhook,
} from './signatures.js';

const body = Buffer.from('{"Type":"job.faulted","EventId":"1"}');

describe('Orchestrator signatures', () => {
  const key = Buffer.from('orchestrator secret');
  const b64 = signOrchestrator(key, body);
  const hex = crypto.createHmac('sha256', key).update(body).digest('hex');

  it('accepts Base64, sha256=hex and bare hex of the HMAC of the raw body, the prefix in any case and before either, with any active key', () => {
    for (const header of [b64, `sha256=${hex}`, hex, ` ${b64} `, `sha256=${b64}`, `SHA256=${hex.toUpperCase()}`]) {
      expect(verifyOrchestrator(body, header, [key]).ok, header).toBe(true);
    }
    expect(verifyOrchestrator(body, b64, [Buffer.from('newer'), key]).ok).toBe(true);
    expect(verifyOrchestrator(body, b64, [key, Buffer.from('newer')]).ok).toBe(true);
  });

  it('refuses a missing, malformed, foreign or other-body signature', () => {
    expect(verifyOrchestrator(body, undefined, [key]).ok).toBe(false);
    expect(verifyOrchestrator(body, 'sha256=zz', [key]).ok).toBe(false);
    expect(verifyOrchestrator(body, b64, [Buffer.from('other')]).ok).toBe(false);
    expect(verifyOrchestrator(Buffer.from(`${body} `), b64, [key]).ok).toBe(false);
    expect(decodeOrchestratorSignature('AAAA')).toBeUndefined();
  });
});

describe('Standard Webhooks signatures', () => {
  // The example of the Standard Webhooks reference library (libraries/javascript, tests).
  const secret = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
  const id = 'msg_p5jXN8AQM9LWM0D4loKWxJek';
  const timestamp = '1614265330';
  const payload = Buffer.from('{"test": 2432232314}');
  const expected = 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=';
  const at = Number(timestamp) * 1000;

  it('reproduces the reference example: the key is the decoded bytes after whsec_', () => {
    expect(signStandardWebhook(signingKey('webhook', secret), id, timestamp, payload)).toBe(expected);
    expect(verifyStandardWebhook(payload, { id, timestamp, signature: expected }, [signingKey('webhook', secret)], at).ok).toBe(true);
  });

  it('finds its entry in a space-separated list, and refuses a stale or future timestamp either way', () => {
    const keys = [signingKey('webhook', secret)];
    expect(verifyStandardWebhook(payload, { id, timestamp, signature: `v1a,xyz v1,AAAA ${expected}` }, keys, at).ok).toBe(true);
    expect(verifyStandardWebhook(payload, { id, timestamp, signature: expected }, keys, at + 301_000).ok).toBe(false);
    expect(verifyStandardWebhook(payload, { id, timestamp, signature: expected }, keys, at - 301_000).ok).toBe(false);
    expect(verifyStandardWebhook(payload, { id: 'msg_other', timestamp, signature: expected }, keys, at).ok).toBe(false);
    expect(verifyStandardWebhook(payload, { id, timestamp: 'soon', signature: expected }, keys, at).ok).toBe(false);
    expect(verifyStandardWebhook(payload, { id, timestamp, signature: undefined }, keys, at).ok).toBe(false);
  });

  it('takes only v1 entries as HMAC signatures: the right HMAC under another version tag is refused', () => {
    const keys = [signingKey('webhook', secret)];
    const mac = expected.slice('v1,'.length);
    for (const signature of [`v2,${mac}`, `v1a,${mac}`, `x1,${mac}`]) {
      expect(verifyStandardWebhook(payload, { id, timestamp, signature }, keys, at).ok, signature).toBe(false);
    }
    expect(verifyStandardWebhook(payload, { id, timestamp, signature: `v2,${mac} v1,${mac}` }, keys, at).ok).toBe(true);
  });

  it('takes a timestamp 5 minutes old or ahead to the second, whatever part of that second it arrives in, as the reference library does', () => {
    // The header is in whole seconds: signed 300 s before the current second is not "over 5 minutes".
    const keys = [signingKey('webhook', secret)];
    for (const late of [300_000, 300_001, 300_999]) {
      expect(verifyStandardWebhook(payload, { id, timestamp, signature: expected }, keys, at + late).ok, `${late} ms late`).toBe(true);
    }
    expect(verifyStandardWebhook(payload, { id, timestamp, signature: expected }, keys, at - 300_000).ok).toBe(true);
    expect(verifyStandardWebhook(payload, { id, timestamp, signature: expected }, keys, at - 299_001).ok).toBe(true);
    // One second more is refused, either way.
    expect(verifyStandardWebhook(payload, { id, timestamp, signature: expected }, keys, at + 301_000)).toEqual({
      ok: false,
      reason: expect.stringMatching(/more than 5 minutes/),
    });
    expect(verifyStandardWebhook(payload, { id, timestamp, signature: expected }, keys, at - 300_001)).toEqual({
      ok: false,
      reason: expect.stringMatching(/more than 5 minutes/),
    });
  });
});

describe('Alertmanager authorization', () => {
  it('takes Bearer or Basic (any user) with the secret, and nothing else', () => {
    const secrets = [secretDigest('s3cret-token')];
    expect(verifyBearerOrBasic('Bearer s3cret-token', secrets).ok).toBe(true);
    expect(verifyBearerOrBasic(`Basic ${Buffer.from('am:s3cret-token').toString('base64')}`, secrets).ok).toBe(true);
    expect(verifyBearerOrBasic('bearer s3cret-token', ['old', 's3cret-token'].map(secretDigest)).ok).toBe(true);
    // Each active secret, wherever it stands among them (the previous one until the next rotation).
    expect(verifyBearerOrBasic('Bearer s3cret-token', ['s3cret-token', 'newer'].map(secretDigest)).ok).toBe(true);
    for (const header of [undefined, '', 'Bearer', 'Bearer s3cret-token-x', `Basic ${Buffer.from('s3cret-token').toString('base64')}`, 'Token s3cret-token']) {
      expect(verifyBearerOrBasic(header, secrets).ok, String(header)).toBe(false);
    }
  });
});
