import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { runOutOfDescriptors } from '../../test/support/out-of-descriptors.js';
import { REFUSED_HOST_MESSAGE, RefusedHostError, checkSavedSmtpHost, checkSmtpHost, isPublicAddress } from './host-guard.js';

describe('private SMTP host guard', () => {
  it('tells public addresses from loopback, private, link-local, CGNAT, ULA, mapped and metadata ones', () => {
    for (const ip of ['93.184.215.14', '8.8.8.8', '2606:4700::1111']) expect(isPublicAddress(ip), ip).toBe(true);
    for (const ip of [
      '127.0.0.1',
      '10.0.0.1',
      '172.16.5.4',
      '192.168.1.1',
      '169.254.169.254',
      '100.64.0.1',
      '0.0.0.0',
      '::1',
      '::',
      'fd00::1',
      'fe80::1',
      '::ffff:127.0.0.1',
      '::ffff:a00:1',
      '64:ff9b::7f00:1',
      // IPv4-compatible (deprecated) and IPv4-translated (SIIT) forms embed an IPv4 address too.
      '::127.0.0.1',
      '::a00:1',
      '::ffff:0:7f00:1',
      '::ffff:0:a9fe:a9fe',
      '224.0.0.1',
      'not an ip',
    ]) {
      expect(isPublicAddress(ip), ip).toBe(false);
    }
  });

  it('pins the checked address, and refuses with one message whatever the reason', async () => {
    expect(await checkSmtpHost('smtp.example.com', 587, async () => ['93.184.215.14'])).toBe('93.184.215.14');
    const reasons = [
      checkSmtpHost('smtp.example.com', 6379, async () => ['93.184.215.14']),
      checkSmtpHost('smtp.example.com', 25, async () => ['93.184.215.14', '10.0.0.1']),
      checkSmtpHost('smtp.example.com', 25, async () => []),
      checkSmtpHost('nowhere.example.com', 25, async () => Promise.reject(Object.assign(new Error('x'), { code: 'ENOTFOUND' }))),
      checkSmtpHost('127.0.0.1', 25),
    ];
    for (const attempt of reasons) {
      const err = await attempt.catch((e: unknown) => e);
      expect(err).toBeInstanceOf(RefusedHostError);
      expect((err as Error).message).toBe(REFUSED_HOST_MESSAGE);
    }
    const temporary = await checkSmtpHost('x.example.com', 25, async () => Promise.reject(Object.assign(new Error('x'), { code: 'EAI_AGAIN' }))).catch(
      (e: unknown) => e,
    );
    expect(temporary).toMatchObject({ retryable: true });
  });

  it('refuses when saved what a connection would refuse, checking every address, but saves a name that does not resolve', async () => {
    const unresolvable = async () => Promise.reject(Object.assign(new Error('x'), { code: 'ENOTFOUND' }));
    const inTime = () => AbortSignal.timeout(10_000);
    await expect(checkSavedSmtpHost('smtp.example.com', 587, inTime(), async () => ['93.184.215.14', '2606:4700::1111'])).resolves.toBeUndefined();
    await expect(checkSavedSmtpHost('not-yet.example.com', 587, inTime(), unresolvable)).resolves.toBeUndefined();
    await expect(checkSavedSmtpHost('93.184.215.14', 465, inTime())).resolves.toBeUndefined();
    for (const attempt of [
      checkSavedSmtpHost('smtp.example.com', 25, inTime(), async () => ['93.184.215.14', '10.0.0.1']),
      checkSavedSmtpHost('rebind.example.com', 25, inTime(), async () => ['169.254.169.254']),
      checkSavedSmtpHost('fe80::1', 25, inTime(), unresolvable),
      checkSavedSmtpHost('192.168.1.10', 587, inTime()),
      checkSavedSmtpHost('smtp.example.com', 6379, inTime(), async () => ['93.184.215.14']),
    ]) {
      await expect(attempt).rejects.toThrow(REFUSED_HOST_MESSAGE);
    }
  });

  it('resolves a name once and hands back that address to connect to, so a rebinding answer never counts', async () => {
    // A rebinding DNS: a public address first, loopback to every later question.
    const asked: string[] = [];
    const rebinding = async (host: string) => {
      asked.push(host);
      return asked.length === 1 ? ['93.184.215.14'] : ['127.0.0.1'];
    };
    expect(await checkSmtpHost('rebind.example.com', 587, rebinding)).toBe('93.184.215.14');
    expect(asked).toEqual(['rebind.example.com']);
    // The next connection asks again, and its loopback answer is refused.
    await expect(checkSmtpHost('rebind.example.com', 587, rebinding)).rejects.toThrow(REFUSED_HOST_MESSAGE);
  });

  it("fails a name looked up while this process has no file descriptor left (a real ulimit -n) as this process's shortage, worth retrying: the lookup's ENOTFOUND is no answer of DNS's", async () => {
    // glibc's lookup, out of descriptors, fails as for a name that does not exist: the email failed
    // for good, and mail health called the tenant's mail failing, with TOCSIN_ALLOW_PRIVATE_SMTP_HOSTS=false;
    // then the host was refused for now, which mail health still counted against the tenant's server.
    const guard = pathToFileURL(path.join(path.dirname(fileURLToPath(import.meta.url)), 'host-guard.ts')).href;
    const refusals = await runOutOfDescriptors<{ name: string; retryable: boolean }[]>(`
      const { checkSmtpHost } = await import(${JSON.stringify(guard)});
      const refusal = (err) => ({ name: err.name, retryable: err.retryable });
      const refusals = [await withoutDescriptors(() => checkSmtpHost('localhost', 587).catch(refusal))];
      for (const fd of taken.splice(0)) fs.closeSync(fd);
      refusals.push(await checkSmtpHost('localhost', 587).catch(refusal));
      console.log(JSON.stringify(refusals));`);
    // Once descriptors are free, it resolves, and its loopback address is refused for good.
    expect(refusals).toEqual([
      { name: 'LookupShortageError', retryable: true },
      { name: 'RefusedHostError', retryable: false },
    ]);
  }, 60_000);
});
