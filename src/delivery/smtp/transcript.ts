import { format } from 'node:util';
import { type KnownSecrets, maskDialogueLine } from '../../shared/redact.js';

const MAX_LINES = 200;
const MAX_LINE_LENGTH = 500;

/** Transcript records an SMTP dialogue through nodemailer's logger, with every secret masked. */
export interface Transcript {
  /** The logger to pass to nodemailer (with `transactionLog: true`). */
  readonly logger: Record<'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal', (...args: unknown[]) => void>;
  lines(): string[];
}

/** createTranscript starts an empty transcript that masks `known` secrets wherever they appear. */
export function createTranscript(known: KnownSecrets): Transcript {
  const lines: string[] = [];
  let inAuth = false;
  const record = (data: unknown, message?: unknown, ...args: unknown[]) => {
    if (lines.length >= MAX_LINES) return;
    const tnx = (data as { tnx?: string } | undefined)?.tnx;
    // A connection reset at once leaves nodemailer no address to name: "established to undefined:undefined".
    const text = typeof message === 'string' ? format(message, ...args).replace(/ to undefined:undefined$/, '') : '';
    const prefix = tnx === 'client' ? 'C: ' : tnx === 'server' ? 'S: ' : tnx === 'network' ? '* ' : undefined;
    if (prefix === undefined || !text) return;
    for (const part of text.split(/\r?\n/)) {
      const line = maskDialogueLine(`${prefix}${part}`, known, inAuth);
      if (/^C: AUTH /i.test(`${prefix}${part}`)) inAuth = true;
      else if (prefix === 'S: ' && !part.startsWith('334')) inAuth = false;
      lines.push(line.length > MAX_LINE_LENGTH ? `${line.slice(0, MAX_LINE_LENGTH)}…` : line);
    }
  };
  return {
    logger: { trace: record, debug: record, info: record, warn: () => {}, error: () => {}, fatal: () => {} },
    lines: () => [...lines],
  };
}
