import pino, { type DestinationStream, type Logger } from 'pino';
import { redactSecrets, scrubCredentials } from '../shared/redact.js';

/**
 * createLogger returns the process's pino JSON logger. Every logged object passes through
 * redactSecrets and every message through scrubCredentials, so a password or token that reaches a
 * log call by accident is not written, however deep it sits.
 */
export function createLogger(level: string, destination?: DestinationStream): Logger {
  return pino(
    {
      level,
      formatters: { log: (object) => redactSecrets(object) as Record<string, unknown> },
      hooks: {
        logMethod(args, method) {
          const scrubbed = args.map((arg) => (typeof arg === 'string' ? scrubCredentials(arg) : arg)) as typeof args;
          return method.apply(this, scrubbed);
        },
      },
    },
    destination,
  );
}
