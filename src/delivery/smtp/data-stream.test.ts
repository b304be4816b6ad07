import { createRequire } from 'node:module';
import path from 'node:path';
import type { Transform } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { type TestSmtpServer, plainEndpointOf, startTestSmtpServer } from '../../../test/support/smtp-servers.js';
import { needsNoEscaping, speedUpDataStream } from './data-stream.js';
import { writeMime, prepareMime } from './mime.js';
import { SmtpSession } from './session.js';

// nodemailer's own DataStream, to compare with (its package exports do not name it).
const require = createRequire(import.meta.url);
const DataStream = require(path.join(path.dirname(require.resolve('nodemailer')), 'smtp-connection', 'data-stream.js')) as new () => Transform;

interface Written {
  readonly bytes: Buffer;
  readonly pushes: number;
  readonly counts: { inByteCount: number; outByteCount: number };
}

/** written runs chunks through a stream as SMTPConnection does (write each, then end) and collects what comes out. */
async function written(stream: Transform, chunks: readonly (Buffer | string)[]): Promise<Written> {
  const out: Buffer[] = [];
  stream.on('data', (chunk: Buffer) => out.push(chunk));
  const ended = new Promise((resolve) => stream.once('end', resolve));
  for (const chunk of chunks) stream.write(chunk);
  stream.end();
  await ended;
  const { inByteCount, outByteCount } = stream as unknown as Written['counts'];
  return { bytes: Buffer.concat(out), pushes: out.length, counts: { inByteCount, outByteCount } };
}

const MIME = writeMime(
  prepareMime({ subject: 'Robot R1 is not responding', text: 'Line one\n.hidden dot line\nend', html: '<p>a</p>\n.<p>b</p>', headers: {} }),
  { from: { address: 'alerts@example.com' }, to: { address: 'ops@example.com' }, messageId: '<1@tocsin.test>', date: new Date(0) },
);

describe('the message stream of an SMTP connection', () => {
  const cases: Record<string, (Buffer | string)[]> = {
    'MIME as smtp/mime.ts writes it': [MIME],
    'a line starting with a dot': [Buffer.from('a\r\n.b\r\n')],
    'a dot first in the message': [Buffer.from('.a\r\n')],
    'bare LF and bare CR': [Buffer.from('a\nb\rc\r\n')],
    'a CR, then a dot (SMTP smuggling)': [Buffer.from('a\r.\r\nb\r\n')],
    'no final line break': [Buffer.from('a\r\nb')],
    'a CRLF split across chunks': [Buffer.from('a\r'), Buffer.from('\n.b\r\n')],
    'a dot at the start of the next chunk': [Buffer.from('a\r\n'), Buffer.from('.b\r\n')],
    'clean chunks, then one that needs escaping': [Buffer.from('a\r\n'), Buffer.from('b\r\n'), Buffer.from('c\nd\r\n')],
    'a string chunk': ['a\r\n.b\n'],
    'an empty chunk': [Buffer.alloc(0), Buffer.from('a\r\n')],
  };
  for (const [name, chunks] of Object.entries(cases)) {
    it(`writes the same bytes and counts as nodemailer's own: ${name}`, async () => {
      const fast = await written(speedUpDataStream(new DataStream()), chunks);
      const own = await written(new DataStream(), chunks);
      expect(fast.bytes.toString('latin1')).toBe(own.bytes.toString('latin1'));
      expect(fast.counts).toEqual(own.counts);
    });
  }

  it('lets prepared MIME through unchanged, in one write with the final dot', async () => {
    expect(needsNoEscaping(MIME, false)).toBe(true);
    const fast = await written(speedUpDataStream(new DataStream()), [MIME]);
    expect(fast.pushes).toBe(1);
    expect(fast.bytes.subarray(0, MIME.length).equals(MIME)).toBe(true);
    expect(fast.bytes.subarray(MIME.length).toString()).toBe('.\r\n');
  });

  it('finds what needs escaping wherever it sits', () => {
    expect(needsNoEscaping(Buffer.from('a\r\nb\r\n'), false)).toBe(true);
    expect(needsNoEscaping(Buffer.from('.a\r\n'), 0x0a)).toBe(false);
    expect(needsNoEscaping(Buffer.from('.a\r\n'), 0x61)).toBe(true);
    expect(needsNoEscaping(Buffer.from('a\r\n'), 0x0d)).toBe(false);
    expect(needsNoEscaping(Buffer.from('a\r\n.'), false)).toBe(false);
    expect(needsNoEscaping(Buffer.from('a\rb\r\n'), false)).toBe(false);
    expect(needsNoEscaping(Buffer.from('a\nb\r\n'), false)).toBe(false);
    expect(needsNoEscaping(Buffer.from('a\r\nb\r'), false)).toBe(false);
  });
});

describe('a session sending to a real SMTP server', () => {
  let server: TestSmtpServer;
  afterAll(() => server?.close());

  it('delivers prepared MIME byte for byte, and still dot-stuffs bytes that need it', async () => {
    server = await startTestSmtpServer();
    const session = await SmtpSession.open(plainEndpointOf(server));
    try {
      await session.send({ from: 'alerts@example.com', to: ['ops@example.com'] }, MIME);
      await session.send({ from: 'alerts@example.com', to: ['ops@example.com'] }, Buffer.from('Subject: x\r\n\r\n.one\n..two\r\n'));
    } finally {
      session.quit();
    }
    expect(server.messages[0]!.raw).toBe(MIME.toString('utf8'));
    expect(server.messages[1]!.raw).toBe('Subject: x\r\n\r\n.one\r\n..two\r\n');
  });
});
