import { describe, expect, it } from 'vitest';
import { ConfigError } from '../shared/config-error.js';
import { serveCommand } from './serve.js';

describe('tocsin serve given a bad option value', () => {
  it('names the option typed, --processes or --role, and the variable it stands for, and starts nothing', async () => {
    for (const [args, named] of [
      [['--role', 'api', '--processes', '0'], /\n {2}--processes \(TOCSIN_API_PROCESSES\): Too small/],
      [['--role', 'api', '--processes', 'two'], /\n {2}--processes \(TOCSIN_API_PROCESSES\): /],
      [['--role', 'API'], /\n {2}--role \(TOCSIN_ROLE\): Invalid option/],
    ] as const) {
      const failure = await serveCommand([...args]).catch((err: unknown) => err);
      expect(failure, args.join(' ')).toBeInstanceOf(ConfigError);
      expect((failure as Error).message, args.join(' ')).toMatch(named);
    }
  });
});
