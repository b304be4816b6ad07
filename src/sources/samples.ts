import { ALERTMANAGER_DEFAULTS, type SourceKind } from './model.js';
import { signingKey } from './secrets.js';
import { signOrchestrator, signStandardWebhook } from './signatures.js';

/** SignedRequest is a body with the headers that authenticate it for one source. */
export interface SignedRequest {
  readonly headers: Record<string, string>;
  readonly body: string;
}

const MESSAGE = 'Test event sent by Tocsin to check this source';

/**
 * signedSample is a sample event in the format of a source's kind, signed with its secret the way
 * its sender signs: what "Send a test event" posts to the receive URL. `id` makes it a new event.
 */
export function signedSample(kind: SourceKind, secret: string, nowMs: number, id: string): SignedRequest {
  const json = { 'content-type': 'application/json' };
  switch (kind) {
    case 'orchestrator-webhook': {
      const body = JSON.stringify({
        Type: 'custom',
        EventId: id,
        Timestamp: new Date(nowMs).toISOString(),
        EventData: { severity: 'Info', message: MESSAGE },
        TenantId: 1,
      });
      return { headers: { ...json, 'x-uipath-signature': signOrchestrator(signingKey(kind, secret), body) }, body };
    }
    case 'alertmanager': {
      const startsAt = new Date(nowMs).toISOString();
      const labels = { alertname: 'TocsinTestEvent', [ALERTMANAGER_DEFAULTS.severityLabel]: 'info' };
      const body = JSON.stringify({
        version: '4',
        groupKey: '{}:{alertname="TocsinTestEvent"}',
        truncatedAlerts: 0,
        status: 'firing',
        receiver: 'tocsin',
        groupLabels: { alertname: 'TocsinTestEvent' },
        commonLabels: labels,
        commonAnnotations: { summary: MESSAGE },
        externalURL: 'http://alertmanager.invalid',
        alerts: [
          {
            status: 'firing',
            labels,
            annotations: { summary: MESSAGE },
            startsAt,
            endsAt: '0001-01-01T00:00:00Z',
            generatorURL: '',
            fingerprint: id.replace(/-/g, '').slice(0, 16),
          },
        ],
      });
      return { headers: { ...json, authorization: `Bearer ${secret}` }, body };
    }
    default: {
      const body = JSON.stringify({ severity: 'Info', component: 'Process', event: 'Source.Test', message: MESSAGE });
      const timestamp = String(Math.floor(nowMs / 1000));
      const signature = signStandardWebhook(signingKey(kind, secret), id, timestamp, body);
      return { headers: { ...json, 'webhook-id': id, 'webhook-timestamp': timestamp, 'webhook-signature': signature }, body };
    }
  }
}
