import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** TestCertificates are a private CA and two server certificates it signed, all PEM. */
export interface TestCertificates {
  /** The CA certificate: what a client passes as `endpoint.ca` to trust the servers below. */
  readonly ca: string;
  /** A key and certificate valid for `localhost` and 127.0.0.1. */
  readonly localhost: { key: string; cert: string };
  /** A key and certificate valid only for `wrong.example`, to prove the host name is checked. */
  readonly wrongHost: { key: string; cert: string };
}

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
    run('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '2', '-subj', '/CN=Tocsin Test CA');
    const issue = (name: string, san: string) => {
      run('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${name}`);
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
        '2',
        '-extfile',
        `${name}.ext`,
      );
      return { key: fs.readFileSync(path.join(dir, `${name}.key`), 'utf8'), cert: fs.readFileSync(path.join(dir, `${name}.crt`), 'utf8') };
    };
    cached = {
      ca: fs.readFileSync(path.join(dir, 'ca.crt'), 'utf8'),
      localhost: issue('localhost', 'DNS:localhost,IP:127.0.0.1'),
      wrongHost: issue('wrong', 'DNS:wrong.example'),
    };
    return cached;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
