import type { Config } from '../config.js';
import { ConfigError } from '../shared/config-error.js';
import { SecretBox } from './secret-box.js';

/** openSecretBox opens the key of this installation: TOCSIN_SECRET_KEY, else the key file in the data folder. */
export function openSecretBox(config: Pick<Config, 'secretKey' | 'dataDir'>): SecretBox {
  if (config.secretKey) return SecretBox.fromPassphrase(config.secretKey);
  try {
    return SecretBox.fromDataDir(config.dataDir);
  } catch (err) {
    // A key file holding no key, or a data folder that is a file: the start stops with this line, not a stack trace.
    throw new ConfigError(`TOCSIN_SECRET_KEY is unset and the key file of TOCSIN_DATA_DIR cannot be used: ${(err as Error).message}`);
  }
}
