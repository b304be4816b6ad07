import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { makeFolder } from '../shared/make-folder.js';
import { StageError } from '../shared/stage-error.js';

const VERSION = 'v1';
const IV_BYTES = 12;
const TAG_BYTES = 16;
/** KEY_FILE is the secret key's file in the data folder, where `test-mail` looks for it too. */
export const KEY_FILE = 'secret.key';

/** SecretDecryptError means a stored secret cannot be opened: wrong key, wrong owner, or tampered. */
export class SecretDecryptError extends StageError {
  override readonly name = 'SecretDecryptError';
  readonly retryable = false;
}

/**
 * SecretBox encrypts secrets at rest with AES-256-GCM. Each secret is bound to its owner through
 * the additional authenticated data (for example `tenant:<id>:smtp-password`), so a ciphertext
 * copied into another tenant's row does not decrypt.
 */
export class SecretBox {
  readonly #key: Buffer;

  constructor(key: Buffer) {
    if (key.length !== 32) throw new Error('SecretBox needs a 32-byte key');
    this.#key = Buffer.from(key);
  }

  /** fromPassphrase derives the key from TOCSIN_SECRET_KEY (any string; start-up warns below 16 characters). */
  static fromPassphrase(passphrase: string): SecretBox {
    return new SecretBox(crypto.createHash('sha256').update(`tocsin-secret-key:${passphrase}`).digest());
  }

  /**
   * fromDataDir reads the key kept in the data folder, creating it (mode 0600) on first start. A
   * key file that others may read (restored from a backup, copied by hand) is narrowed to 0600.
   * Processes starting together on an empty folder all end up with the one key that won.
   */
  static fromDataDir(dataDir: string): SecretBox {
    const file = path.join(dataDir, KEY_FILE);
    makeFolder(dataDir);
    if (!fs.existsSync(file)) createKeyFile(file);
    if ((fs.statSync(file).mode & 0o077) !== 0) fs.chmodSync(file, 0o600);
    const key = Buffer.from(fs.readFileSync(file, 'utf8').trim(), 'base64');
    if (key.length !== 32) throw new Error(`${file} does not hold a 32-byte base64 key; restore it or remove it to start afresh`);
    return new SecretBox(key);
  }

  /** seal encrypts a secret for one owner; the result is text safe to store. */
  seal(plaintext: string, owner: string): string {
    const iv = crypto.randomBytes(IV_BYTES);
    const cipher = crypto.createCipheriv('aes-256-gcm', this.#key, iv);
    cipher.setAAD(Buffer.from(owner, 'utf8'));
    const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return `${VERSION}:${Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64')}`;
  }

  /** open decrypts what seal produced for the same owner, or throws SecretDecryptError. */
  open(sealed: string, owner: string): string {
    const [version, payload] = sealed.split(':', 2);
    if (version !== VERSION || !payload) throw new SecretDecryptError('unknown secret format');
    const raw = Buffer.from(payload, 'base64');
    if (raw.length < IV_BYTES + TAG_BYTES) throw new SecretDecryptError('secret is truncated');
    try {
      const decipher = crypto.createDecipheriv('aes-256-gcm', this.#key, raw.subarray(0, IV_BYTES));
      decipher.setAAD(Buffer.from(owner, 'utf8'));
      decipher.setAuthTag(raw.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
      return Buffer.concat([decipher.update(raw.subarray(IV_BYTES + TAG_BYTES)), decipher.final()]).toString('utf8');
    } catch {
      throw new SecretDecryptError('secret does not decrypt for this owner and key');
    }
  }

  /**
   * deriveKey gives a 32-byte key for one purpose (HKDF-SHA256 of the secret key), so that links
   * are signed or sealed with keys of their own, never with the key that encrypts secrets.
   */
  deriveKey(purpose: string): Buffer {
    return Buffer.from(crypto.hkdfSync('sha256', this.#key, Buffer.alloc(0), `tocsin:${purpose}`, 32));
  }

  /** toJSON keeps the key out of anything that serialises a SecretBox by accident. */
  toJSON(): string {
    return '[SecretBox]';
  }
}

/** What link(2) answers on a filesystem without hard links (some SMB/CIFS and FUSE volumes). */
const NO_HARD_LINKS = new Set(['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS']);

/**
 * createKeyFile makes the key file appear whole and durable, or not at all: the key is written and
 * flushed under a name of its own, then linked to its real name, which fails for every process but
 * the first. Creating the real name and then writing it let a process starting at the same moment
 * read it empty and refuse to start; and a key lost to a power cut after secrets were sealed with
 * it would leave every stored password unreadable. A filesystem without hard links gets the key
 * written under its real name (created exclusively, then flushed): durable, but with that race.
 */
function createKeyFile(file: string): void {
  const key = crypto.randomBytes(32).toString('base64');
  const draft = `${file}.${process.pid}.${crypto.randomBytes(6).toString('hex')}`;
  writeFlushed(draft, key);
  try {
    fs.linkSync(draft, file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? '';
    if (code === 'EEXIST') return;
    if (!NO_HARD_LINKS.has(code)) throw err;
    try {
      writeFlushed(file, key);
    } catch (again) {
      if ((again as NodeJS.ErrnoException).code !== 'EEXIST') throw again;
      return;
    }
  } finally {
    fs.rmSync(draft, { force: true });
  }
  syncFolder(path.dirname(file));
}

/** writeFlushed creates `file` (mode 0600; EEXIST if it is there) holding `text`, flushed to the disk. */
function writeFlushed(file: string, text: string): void {
  const fd = fs.openSync(file, 'wx', 0o600);
  try {
    fs.writeSync(fd, text);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/** syncFolder flushes a folder's entries, so that a file linked into it survives a power cut. */
function syncFolder(folder: string): void {
  const fd = fs.openSync(folder, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}
