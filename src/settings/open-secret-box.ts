import type { Config } from '../config.js';
import { SecretBox } from './secret-box.js';

/** openSecretBox opens the key of this installation: TOCSIN_SECRET_KEY, else the key file in the data folder. */
export function openSecretBox(config: Pick<Config, 'secretKey' | 'dataDir'>): SecretBox {
  return config.secretKey ? SecretBox.fromPassphrase(config.secretKey) : SecretBox.fromDataDir(config.dataDir);
}
