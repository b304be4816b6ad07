import pino, { type DestinationStream, type Logger } from 'pino';

/**
 * REDACTED_PATHS are removed from every log line wherever they appear, so a password or token
 * that reaches a log call by accident is not written.
 */
export const REDACTED_PATHS = [
  'password',
  '*.password',
  '*.*.password',
  'accessToken',
  '*.accessToken',
  '*.*.accessToken',
  'token',
  '*.token',
  'req.headers.authorization',
  'req.headers.cookie',
  'res.headers["set-cookie"]',
];

/** createLogger returns the process's pino JSON logger. */
export function createLogger(level: string, destination?: DestinationStream): Logger {
  return pino({ level, redact: { paths: REDACTED_PATHS, censor: '[redacted]' } }, destination);
}
