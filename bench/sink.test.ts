import net from 'node:net';
import nodemailer from 'nodemailer';
import { SMTPServer } from 'smtp-server';
import { afterEach, describe, expect, it } from 'vitest';
import { testCertificates } from '../test/support/certificates.js';
import { FastSink, type SinkMessage, headerOf, messageIdOf, monotonicNow } from './sink.js';
import { startSinkProcess } from './sink-client.js';

const sinks: FastSink[] = [];
afterEach(async () => {
  await Promise.all(sinks.splice(0).map((s) => s.close()));
});

async function startSink(options: ConstructorParameters<typeof FastSink>[0] = {}) {
  const sink = new FastSink(options);
  sinks.push(sink);
  return { sink, port: await sink.listen() };
}

/** talk opens a raw connection, writes `chunks` one by one and returns everything the sink said. */
async function talk(port: number, chunks: string[]): Promise<string> {
  const socket = net.connect(port, '127.0.0.1');
  let heard = '';
  socket.on('data', (d) => (heard += d.toString()));
  await new Promise((r) => socket.once('data', r));
  for (const chunk of chunks) {
    socket.write(chunk);
    await new Promise((r) => setTimeout(r, 10));
  }
  await new Promise((r) => socket.once('close', r));
  return heard;
}

describe('FastSink', () => {
  it("stamps a message accepted in the sink's own process on the benchmark's clock: between its send and its answer", async () => {
    // The benchmark subtracts these stamps from its own times (latency, a run's window); each process's
    // performance.timeOrigin is the wall clock at its start, which moved between two starts on this machine.
    const sink = await startSinkProcess();
    const transport = nodemailer.createTransport({ host: '127.0.0.1', port: sink.port, secure: false, ignoreTLS: true });
    try {
      const accepted = sink.nextAccepted(10_000);
      const before = monotonicNow();
      await transport.sendMail({ from: 'a@example.com', to: 'b@example.com', subject: 'x', text: 'x', messageId: '<clock@bench>' });
      const after = monotonicNow();
      const { acceptedAt } = await accepted;
      expect(acceptedAt).toBeGreaterThanOrEqual(before);
      expect(acceptedAt).toBeLessThanOrEqual(after);
    } finally {
      transport.close();
      await sink.stop();
    }
  });

  it('greets sooner than smtp-server, which waits 100 ms before its greeting', async () => {
    const greetingTime = async (port: number) => {
      const started = performance.now();
      const socket = net.connect(port, '127.0.0.1');
      const greeting = await new Promise<string>((resolve) => socket.once('data', (d) => resolve(d.toString())));
      socket.destroy();
      expect(greeting).toMatch(/^220 /);
      return performance.now() - started;
    };
    const { port } = await startSink();
    const smtpServer = new SMTPServer({ authOptional: true, disableReverseLookup: true, logger: false });
    await new Promise<void>((resolve) => smtpServer.listen(0, '127.0.0.1', resolve));
    try {
      const theirs = await greetingTime((smtpServer.server.address() as net.AddressInfo).port);
      const ours = await greetingTime(port);
      expect(theirs).toBeGreaterThanOrEqual(100);
      expect(ours).toBeLessThan(theirs);
    } finally {
      await new Promise<void>((resolve) => smtpServer.close(() => resolve()));
    }
  });

  it('accepts mail from a nodemailer pool and counts Message-IDs and duplicates', async () => {
    const accepted: SinkMessage[] = [];
    const { sink, port } = await startSink({ onMessage: (m) => accepted.push(m) });
    const transport = nodemailer.createTransport({ host: '127.0.0.1', port, secure: false, ignoreTLS: true, pool: true, maxConnections: 2 });
    const send = (id: string) => transport.sendMail({ from: 'a@example.com', to: 'b@example.com', subject: 'x', text: 'hello\n.\nworld', messageId: id });
    await Promise.all(['<1@bench>', '<2@bench>', '<3@bench>', '<1@bench>'].map(send));
    transport.close();
    expect(sink.stats()).toMatchObject({ messages: 4, uniqueMessageIds: 3, duplicates: 1, withoutMessageId: 0 });
    expect(accepted.map((m) => m.messageId).sort()).toEqual(['<1@bench>', '<1@bench>', '<2@bench>', '<3@bench>']);
    sink.reset();
    expect(sink.stats()).toMatchObject({ messages: 0, uniqueMessageIds: 0 });
  });

  it('holds every reply, the greeting first, replyDelayMs before writing it, in order, as a server one link away', async () => {
    const { sink, port } = await startSink({ replyDelayMs: 30 });
    const started = performance.now();
    const socket = net.connect(port, '127.0.0.1');
    await new Promise((resolve) => socket.once('data', resolve));
    socket.destroy();
    expect(performance.now() - started).toBeGreaterThanOrEqual(29);
    const transport = nodemailer.createTransport({ host: '127.0.0.1', port, secure: false, ignoreTLS: true });
    const info = await transport.sendMail({ from: 'a@example.com', to: 'b@example.com', subject: 'x', text: 'hello', messageId: '<late@bench>' });
    expect(info.response).toMatch(/^250 /);
    expect(sink.stats()).toMatchObject({ messages: 1, uniqueMessageIds: 1 });
  });

  it('answers pipelined commands and finds a terminator split across packets', async () => {
    const accepted: SinkMessage[] = [];
    const { port } = await startSink({ onMessage: (m) => accepted.push(m) });
    const heard = await talk(port, [
      'EHLO me\r\nMAIL FROM:<a@x>\r\nRCPT TO:<b@x>\r\nDATA\r\n',
      'Message-ID: <split@bench>\r\n\r\nbody\r',
      '\n.',
      '\r\nMAIL FROM:<a@x>\r\nRCPT TO:<b@x>\r\nDATA\r\n.\r\nQUIT\r\n',
    ]);
    expect(heard).toContain('250-PIPELINING');
    expect(heard.match(/^250 2\.0\.0 Ok: queued/gm)).toHaveLength(2);
    expect(heard).toMatch(/221 .*\r\n$/);
    expect(accepted.map((m) => m.messageId)).toEqual(['<split@bench>', null]);
    expect(accepted[0]!.bytes).toBe('Message-ID: <split@bench>\r\n\r\nbody\r\n'.length);
  });

  it('offers STARTTLS when given a certificate, and nodemailer can require it', async () => {
    const certs = testCertificates();
    const { sink, port } = await startSink({ tls: certs.localhost });
    const transport = nodemailer.createTransport({ host: '127.0.0.1', port, secure: false, requireTLS: true, tls: { ca: certs.ca, servername: 'localhost' } });
    await transport.sendMail({ from: 'a@example.com', to: 'b@example.com', subject: 'x', text: 'over TLS', messageId: '<tls@bench>' });
    transport.close();
    expect(sink.stats()).toMatchObject({ messages: 1, uniqueMessageIds: 1 });
  });

  it('reads a folded Message-ID header in any case, and only from the headers', () => {
    expect(messageIdOf(Buffer.from('Subject: x\r\nMessage-Id:\r\n <a@b>\r\n\r\nMessage-ID: <body@b>\r\n'))).toBe('<a@b>');
    expect(messageIdOf(Buffer.from('Subject: x\r\n\r\nMessage-ID: <body@b>\r\n'))).toBeNull();
    expect(headerOf(Buffer.from('X-Tocsin-Kind: immediate\r\n\r\nbody'), 'x-tocsin-kind')).toBe('immediate');
  });
});
