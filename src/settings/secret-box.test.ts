import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import util from 'node:util';
import { Worker } from 'node:worker_threads';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ConfigError } from '../shared/config-error.js';
import { openSecretBox } from './open-secret-box.js';
import { SecretBox, SecretDecryptError } from './secret-box.js';

const starterFile = new URL('../../test/support/processes/key-file-starter.ts', import.meta.url);

describe('SecretBox', () => {
  const dirs: string[] = [];
  const tempDir = () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tocsin-secret-'));
    dirs.push(dir);
    return dir;
  };
  afterEach(() => {
    for (const dir of dirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
  });

  const box = SecretBox.fromPassphrase('a passphrase of some length');
  const owner = 'tenant:0193:smtp-password';

  it('opens what it sealed, for the same owner, including unicode and empty secrets', () => {
    for (const secret of ['hunter2', '', 'pässwörd 🔑 with spaces', 'x'.repeat(10_000)]) {
      expect(box.open(box.seal(secret, owner), owner)).toBe(secret);
    }
  });

  it('never produces the same ciphertext twice, and never contains the secret', () => {
    const a = box.seal('hunter2', owner);
    const b = box.seal('hunter2', owner);
    expect(a).not.toBe(b);
    expect(a).toMatch(/^v1:[A-Za-z0-9+/=]+$/);
    expect(Buffer.from(a.slice(3), 'base64').toString('latin1')).not.toContain('hunter2');
  });

  it("refuses to open another owner's secret (a row copied to another tenant)", () => {
    const sealed = box.seal('hunter2', 'tenant:A:smtp-password');
    expect(() => box.open(sealed, 'tenant:B:smtp-password')).toThrow(SecretDecryptError);
  });

  it('refuses a tampered, truncated or foreign ciphertext', () => {
    const sealed = box.seal('hunter2', owner);
    const raw = Buffer.from(sealed.slice(3), 'base64');
    for (const index of [0, 12, 20, raw.length - 1]) {
      const flipped = Buffer.from(raw);
      flipped[index]! ^= 0x01;
      expect(() => box.open(`v1:${flipped.toString('base64')}`, owner)).toThrow(SecretDecryptError);
    }
    expect(() => box.open(`v1:${raw.subarray(0, 20).toString('base64')}`, owner)).toThrow(SecretDecryptError);
    expect(() => box.open('v2:AAAA', owner)).toThrow(SecretDecryptError);
    expect(() => box.open('hunter2', owner)).toThrow(SecretDecryptError);
    expect(() => SecretBox.fromPassphrase('another passphrase entirely').open(sealed, owner)).toThrow(SecretDecryptError);
  });

  it('creates the key file with mode 0600 on first start and reuses it afterwards', () => {
    const dir = path.join(tempDir(), 'data');
    const first = SecretBox.fromDataDir(dir);
    const file = path.join(dir, 'secret.key');
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    const key = fs.readFileSync(file, 'utf8');
    expect(Buffer.from(key.trim(), 'base64')).toHaveLength(32);
    const sealed = first.seal('hunter2', owner);
    const second = SecretBox.fromDataDir(dir);
    expect(fs.readFileSync(file, 'utf8')).toBe(key);
    expect(second.open(sealed, owner)).toBe('hunter2');
  });

  it('creates the key file on a filesystem without hard links (an SMB or FUSE volume), where the start failed with EPERM', () => {
    const dir = path.join(tempDir(), 'data');
    const refused = Object.assign(new Error('EPERM: operation not permitted, link'), { code: 'EPERM' });
    const link = vi.spyOn(fs, 'linkSync').mockImplementation(() => {
      throw refused;
    });
    try {
      const first = SecretBox.fromDataDir(dir);
      expect(link).toHaveBeenCalled();
      const file = path.join(dir, 'secret.key');
      expect(fs.statSync(file).mode & 0o777).toBe(0o600);
      expect(Buffer.from(fs.readFileSync(file, 'utf8').trim(), 'base64')).toHaveLength(32);
      expect(SecretBox.fromDataDir(dir).open(first.seal('hunter2', owner), owner)).toBe('hunter2');
      // No draft is left beside the key.
      expect(fs.readdirSync(dir)).toEqual(['secret.key']);
    } finally {
      link.mockRestore();
    }
  });

  it('gives processes starting at once on an empty data folder one complete key, where those that lost the race read it empty and stopped', async () => {
    const signal = new SharedArrayBuffer(4);
    const go = new Int32Array(signal);
    const starters = Array.from(
      { length: 6 },
      // A worker does not inherit tsx's loader: it registers it, then loads the TypeScript starter.
      () =>
        new Worker(`import('tsx/esm/api').then((tsx) => { tsx.register(); return import(${JSON.stringify(starterFile.href)}); })`, {
          eval: true,
          workerData: { signal },
        }),
    );
    const next = (worker: Worker) => new Promise<unknown>((resolve) => worker.once('message', resolve));
    try {
      for (let round = 0; round < 20; round++) {
        const dir = tempDir();
        await Promise.all(
          starters.map((worker) => {
            const waiting = next(worker);
            worker.postMessage(dir);
            return waiting;
          }),
        );
        const answers = starters.map(next);
        Atomics.add(go, 0, 1);
        Atomics.notify(go, 0);
        const results = (await Promise.all(answers)) as { sealed?: string; error?: string }[];
        expect(
          results.filter((r) => r.error),
          `round ${round}`,
        ).toEqual([]);
        const key = SecretBox.fromDataDir(dir);
        for (const { sealed } of results) expect(key.open(sealed!, 'race')).toBe('hunter2');
        expect(fs.readdirSync(dir)).toEqual(['secret.key']);
      }
    } finally {
      await Promise.all(starters.map((worker) => worker.terminate()));
    }
  });

  it('narrows a key file that others could read to 0600, and refuses one that holds no key', () => {
    const dir = tempDir();
    const file = path.join(dir, 'secret.key');
    fs.writeFileSync(file, Buffer.alloc(32, 7).toString('base64'), { mode: 0o644 });
    fs.chmodSync(file, 0o644);
    SecretBox.fromDataDir(dir);
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    fs.writeFileSync(file, 'not a key');
    expect(() => SecretBox.fromDataDir(dir)).toThrow(/does not hold a 32-byte base64 key/);
  });

  it('stops the start naming TOCSIN_SECRET_KEY and the data folder when the key file cannot be used, where it was a stack trace', () => {
    const dir = tempDir();
    fs.writeFileSync(path.join(dir, 'secret.key'), 'not a key');
    const notAFolder = path.join(tempDir(), 'a-file');
    fs.writeFileSync(notAFolder, '');
    for (const dataDir of [dir, notAFolder]) {
      expect(() => openSecretBox({ secretKey: undefined, dataDir }), dataDir).toThrow(ConfigError);
      expect(() => openSecretBox({ secretKey: undefined, dataDir }), dataDir).toThrow(/TOCSIN_SECRET_KEY.*TOCSIN_DATA_DIR/);
    }
    expect(() => openSecretBox({ secretKey: 'a passphrase of some length', dataDir: notAFolder })).not.toThrow();
  });

  it('says the data folder is a file, not a folder, where it was a bare EEXIST or ENOTDIR from mkdir', () => {
    const file = path.join(tempDir(), 'a-file');
    fs.writeFileSync(file, '');
    for (const dataDir of [file, path.join(file, 'data')]) {
      const failure = (() => {
        try {
          openSecretBox({ secretKey: undefined, dataDir });
        } catch (err) {
          return (err as Error).message;
        }
      })();
      expect(failure, dataDir).toBe(`TOCSIN_SECRET_KEY is unset and the key file of TOCSIN_DATA_DIR cannot be used: ${file} is a file, not a folder`);
    }
  });

  it('derives the same key from the same TOCSIN_SECRET_KEY, so several processes agree', () => {
    const sealed = SecretBox.fromPassphrase('shared secret key value').seal('hunter2', owner);
    expect(SecretBox.fromPassphrase('shared secret key value').open(sealed, owner)).toBe('hunter2');
  });

  it('keeps its key out of JSON and inspection', () => {
    expect(JSON.stringify({ box })).toBe('{"box":"[SecretBox]"}');
    const dir = tempDir();
    const fromDir = SecretBox.fromDataDir(dir);
    const key = fs.readFileSync(path.join(dir, 'secret.key'), 'utf8').trim();
    expect(JSON.stringify(fromDir)).not.toContain(key);
    expect(util.inspect(fromDir, { showHidden: true, depth: 5 })).not.toContain(key);
    expect(util.inspect(fromDir, { showHidden: true, depth: 5 })).not.toContain(Buffer.from(key, 'base64').toString('hex').slice(0, 16));
  });
});
