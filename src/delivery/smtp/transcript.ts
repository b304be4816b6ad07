import { format } from 'node:util';

const MASK = '********';
const MAX_LINES = 200;
const MAX_LINE_LENGTH = 500;

/** Transcript records an SMTP dialogue through nodemailer's logger, with every secret masked. */
export interface Transcript {
  /** The logger to pass to nodemailer (with `transactionLog: true`). */
  readonly logger: Record<'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal', (...args: unknown[]) => void>;
  lines(): string[];
  /** The last command the client sent (masked), to place a failure that nodemailer reports as CONN. */
  lastClientCommand(): string | undefined;
}

/**
 * maskLine hides credentials in one dialogue line: the argument of a client AUTH command, the
 * client's answers to AUTH challenges, and any occurrence of the given secrets (plain or base64).
 */
export function maskLine(line: string, secrets: readonly string[], inAuthExchange: boolean): string {
  let masked = line;
  const auth = /^(C: AUTH \S+)(\s.*)?$/i.exec(masked);
  if (auth) masked = auth[2] ? `${auth[1]} ${MASK}` : auth[1]!;
  else if (inAuthExchange && masked.startsWith('C: ')) masked = `C: ${MASK}`;
  for (const secret of secrets) {
    if (!secret) continue;
    for (const form of [secret, Buffer.from(secret).toString('base64')]) masked = masked.split(form).join(MASK);
  }
  return masked;
}

/** createTranscript starts an empty transcript that masks `secrets` wherever they appear. */
export function createTranscript(secrets: readonly (string | undefined)[]): Transcript {
  const known = secrets.filter((s): s is string => typeof s === 'string' && s.length > 0);
  const lines: string[] = [];
  let inAuth = false;
  const record = (data: unknown, message?: unknown, ...args: unknown[]) => {
    if (lines.length >= MAX_LINES) return;
    const tnx = (data as { tnx?: string } | undefined)?.tnx;
    const text = typeof message === 'string' ? format(message, ...args) : '';
    const prefix = tnx === 'client' ? 'C: ' : tnx === 'server' ? 'S: ' : tnx === 'network' ? '* ' : undefined;
    if (prefix === undefined || !text) return;
    for (const part of text.split(/\r?\n/)) {
      const line = maskLine(`${prefix}${part}`, known, inAuth);
      if (/^C: AUTH /i.test(`${prefix}${part}`)) inAuth = true;
      else if (prefix === 'S: ' && !part.startsWith('334')) inAuth = false;
      lines.push(line.length > MAX_LINE_LENGTH ? `${line.slice(0, MAX_LINE_LENGTH)}…` : line);
    }
  };
  return {
    logger: { trace: record, debug: record, info: record, warn: () => {}, error: () => {}, fatal: () => {} },
    lines: () => [...lines],
    lastClientCommand: () => lines.findLast((line) => line.startsWith('C: '))?.slice(3),
  };
}
