import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** TestCertificates are a private CA, the server certificates it signed and a self-signed one, all PEM. */
export interface TestCertificates {
  /** The CA certificate: what a client passes as `endpoint.ca` to trust the servers below. */
  readonly ca: string;
  /** A key and certificate valid for `localhost`, 127.0.0.1 and the internationalized `smtp.bücher.example` (as certificates write it, in punycode). */
  readonly localhost: { key: string; cert: string };
  /** A key and certificate valid only for `wrong.example`, to prove the host name is checked. */
  readonly wrongHost: { key: string; cert: string };
  /** One valid for `localhost` and 127.0.0.1, signed by the CA, whose validity ended a day ago. */
  readonly expired: { key: string; cert: string };
  /** One valid for `localhost` and 127.0.0.1 that signed itself (no CA vouches for it). */
  readonly selfSigned: { key: string; cert: string };
}

/** IDN_HOST is an internationalized host name the localhost certificate is also valid for; IDN_HOST_ASCII is its punycode. */
export const IDN_HOST = 'smtp.bücher.example';
export const IDN_HOST_ASCII = 'smtp.xn--bcher-kva.example';

let cached: TestCertificates | undefined;

/**
 * testCertificates makes (once per process) a throwaway CA with the openssl CLI, so the TLS tests
 * verify certificates for real instead of switching verification off.
 */
export function testCertificates(): TestCertificates {
  if (cached) return cached;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tocsin-ca-'));
  try {
    const run = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
    // P-256 keys: each RSA-2048 key took openssl 0.2-0.3 CPU-seconds to find, 1.2 s for the five,
    // in every test process that starts a TLS server; TLS verifies either alike.
    const newKey = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1'];
    run('req', '-x509', ...newKey, '-nodes', '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '2', '-subj', '/CN=Tocsin Test CA');
    const pem = (name: string) => ({
      key: fs.readFileSync(path.join(dir, `${name}.key`), 'utf8'),
      cert: fs.readFileSync(path.join(dir, `${name}.crt`), 'utf8'),
    });
    const issue = (name: string, san: string, days = 2) => {
      run('req', ...newKey, '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${name}`);
      fs.writeFileSync(path.join(dir, `${name}.ext`), `subjectAltName=${san}\nbasicConstraints=CA:FALSE\n`);
      run(
        'x509',
        '-req',
        '-in',
        `${name}.csr`,
        '-CA',
        'ca.crt',
        '-CAkey',
        'ca.key',
        '-CAcreateserial',
        '-out',
        `${name}.crt`,
        '-days',
        // A negative count ends the validity before it begins: an expired certificate.
        String(days),
        '-extfile',
        `${name}.ext`,
      );
      return pem(name);
    };
    const LOCAL = 'DNS:localhost,IP:127.0.0.1';
    run(
      'req',
      '-x509',
      ...newKey,
      '-nodes',
      '-keyout',
      'self.key',
      '-out',
      'self.crt',
      '-days',
      '2',
      '-subj',
      '/CN=localhost',
      '-addext',
      `subjectAltName=${LOCAL}`,
    );
    cached = {
      ca: fs.readFileSync(path.join(dir, 'ca.crt'), 'utf8'),
      localhost: issue('localhost', `${LOCAL},DNS:${IDN_HOST_ASCII}`),
      wrongHost: issue('wrong', 'DNS:wrong.example'),
      expired: issue('expired', LOCAL, -1),
      selfSigned: pem('self'),
    };
    return cached;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
