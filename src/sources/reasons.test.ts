import { describe, expect, it } from 'vitest';
import { orchestratorStaleness } from './mapping/orchestrator.js';
import { reasonCode } from './reasons.js';
import { secretDigest, signStandardWebhook, verifyBearerOrBasic, verifyOrchestrator, verifyStandardWebhook } from './signatures.js';

const body = Buffer.from('{"Type":"job.faulted"}');
const key = Buffer.from('the secret');
const now = Date.parse('2026-01-12T10:00:00Z');
/** refused is how receive.ts records a failed verdict. */
const refused = (verdict: { ok: boolean; reason?: string }) => `refused: ${verdict.reason}`;

describe('the codes of the reasons a source records', () => {
  it('names every refusal of a signature or an Authorization by a code of its own, as the verifiers word them', () => {
    const seconds = String(Math.floor(now / 1000));
    const webhook = (headers: { id?: string; timestamp?: string; signature?: string }) =>
      refused(verifyStandardWebhook(body, { id: 'msg_1', timestamp: seconds, signature: 'v1,AAAA', ...headers }, [key], now));
    const codes = {
      [refused(verifyOrchestrator(body, undefined, [key]))]: 'signature-missing',
      [refused(verifyOrchestrator(body, 'not a signature', [key]))]: 'signature-unreadable',
      [refused(verifyOrchestrator(body, Buffer.alloc(32).toString('base64'), [key]))]: 'signature-mismatch',
      [webhook({ signature: '' })]: 'signature-missing',
      [webhook({ timestamp: 'noon' })]: 'timestamp-unreadable',
      [webhook({ timestamp: String(Number(seconds) - 301) })]: 'timestamp-stale',
      [webhook({ signature: 'v2,AAAA' })]: 'signature-unreadable',
      [webhook({ signature: `v1,${signStandardWebhook(Buffer.from('another'), 'msg_1', seconds, body)}` })]: 'signature-mismatch',
      [refused(verifyBearerOrBasic(undefined, [secretDigest('s')]))]: 'authorization-missing',
      [refused(verifyBearerOrBasic('Digest abc', [secretDigest('s')]))]: 'authorization-unreadable',
      [refused(verifyBearerOrBasic('Bearer other', [secretDigest('s')]))]: 'authorization-mismatch',
      [`refused: ${orchestratorStaleness({ Timestamp: '2026-01-12T09:00:00Z' }, now)}`]: 'timestamp-stale',
      [`refused: ${orchestratorStaleness({ EventTime: '2026-01-12T09:00:00Z' }, now)}`]: 'timestamp-stale',
    };
    for (const [error, code] of Object.entries(codes)) expect(reasonCode(error, 'webhook'), error).toBe(code);
  });

  it("names a body's field errors and an upstream's words by whose they are, and no error by none", () => {
    expect(reasonCode('the body is over 1 MB', 'alertmanager')).toBe('too-large');
    expect(reasonCode('the body is over 1 MB once inflated', 'alertmanager')).toBe('too-large-inflated');
    expect(reasonCode('alerts[0].severity: must be one of Info, Warn, Error, Fatal', 'webhook')).toBe('malformed');
    expect(reasonCode('/odata/Alerts answered HTTP 401: Invalid credentials', 'orchestrator-pull')).toBe('upstream');
    expect(reasonCode('the alerts could not be stored', 'orchestrator-pull')).toBe('storage-unavailable');
    expect(reasonCode(null, 'webhook')).toBeNull();
  });
});
