/**
 * ConfigError is thrown at start-up when an environment variable or what it names (the database,
 * the key file) cannot be used: the CLI prints its message alone, without a stack trace. It lives
 * apart from config.ts so that storage and settings can throw it without importing the
 * configuration, which reads defaults from their modules (an import cycle).
 */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}
