/**
 * The sink in a process of its own, so that the CPU it spends accepting mail is not taken from
 * the client being measured. Driven over IPC by SinkProcess (sink-client.ts).
 */
import { testCertificates } from '../test/support/certificates.js';
import { FastSink, type SinkMessage } from './sink.js';

/** SinkRequest is what the parent asks: stats, a reset, or whether to stream every accepted message. */
export type SinkRequest = { readonly id: number; readonly op: 'stats' | 'reset' | 'watch' | 'unwatch' };

let watching = false;
const send = (message: unknown) => process.send?.(message);
const sink = new FastSink({
  tls: process.env.SINK_TLS === '1' ? testCertificates().localhost : undefined,
  replyDelayMs: Number(process.env.SINK_REPLY_DELAY_MS ?? 0),
  onMessage: (message: SinkMessage) => {
    if (watching) send({ event: 'accepted', message });
  },
});

process.on('message', (request: SinkRequest) => {
  switch (request.op) {
    case 'stats':
      return send({ id: request.id, stats: sink.stats() });
    case 'reset':
      sink.reset();
      return send({ id: request.id });
    case 'watch':
    case 'unwatch':
      watching = request.op === 'watch';
      return send({ id: request.id });
  }
});
process.on('disconnect', () => void sink.close().then(() => process.exit(0)));

const port = await sink.listen(Number(process.env.SINK_PORT ?? 0));
send({ event: 'listening', port, ca: process.env.SINK_TLS === '1' ? testCertificates().ca : undefined });
