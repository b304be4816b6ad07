import net from 'node:net';
import { describe, expect, it, vi } from 'vitest';
import SqliteDatabase from 'better-sqlite3';
import { failureMessage } from './failure.js';

/** listenError is what Node rejects a listen with, as a real server's would be. */
function listenError(code: string, port: number, syscall = 'listen'): Error {
  return Object.assign(new Error(`${syscall} ${code}: permission denied 127.0.0.1:${port}`), {
    code,
    errno: -13,
    syscall,
    address: '127.0.0.1',
    port,
  });
}

describe('a start that cannot listen', () => {
  it('says in one line, without a stack, that a port below 1024 needs privileges', () => {
    // Started as an ordinary user with PORT=80 (or TOCSIN_MAIL_CATCHER_PORT=25), the process printed
    // Node's stack trace, which names neither the variable nor what to do.
    const message = failureMessage(listenError('EACCES', 80));
    expect(message).not.toContain('\n');
    expect(message).not.toContain('    at ');
    expect(message).toContain('127.0.0.1:80');
    expect(message).toContain('PORT');
    expect(message).toContain('TOCSIN_MAIL_CATCHER_PORT');
  });

  it('says the same for an api process of --processes, whose port the primary binds', () => {
    const message = failureMessage(listenError('EACCES', 80, 'bind'));
    expect(message).not.toContain('\n');
    expect(message).toContain('127.0.0.1:80');
    expect(message).toContain('PORT');
  });

  it('says so in one line for another refusal of the listen too', () => {
    const message = failureMessage(listenError('EPERM', 8080));
    expect(message).not.toContain('\n');
    expect(message).toContain('127.0.0.1:8080');
    expect(message).toContain('EPERM');
  });

  it('still names a port in use', async () => {
    const holder = net.createServer();
    await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
    const port = (holder.address() as net.AddressInfo).port;
    const second = net.createServer();
    const error = await new Promise<Error>((resolve) => second.once('error', resolve).listen(port, '127.0.0.1'));
    holder.close();
    expect(failureMessage(error)).toBe(
      `127.0.0.1:${port} is already in use (another Tocsin?): stop that process, or choose another port with PORT (HTTP) or TOCSIN_MAIL_CATCHER_PORT (the mail catcher)`,
    );
  });

  it('says in one line that HOST names no address of this machine when it resolves to another address', () => {
    // HOST=1.2.3 (or a host name that resolves to another machine's address) is listened on as
    // the address it resolves to, 1.2.0.3: the error named that address, not HOST, and the start printed Node's stack.
    vi.stubEnv('HOST', '1.2.3');
    try {
      const error = Object.assign(new Error('listen EADDRNOTAVAIL: address not available 1.2.0.3:8080'), {
        code: 'EADDRNOTAVAIL',
        errno: -99,
        syscall: 'listen',
        address: '1.2.0.3',
        port: 8080,
      });
      const message = failureMessage(error);
      expect(message).not.toContain('\n');
      expect(message).toContain('HOST=1.2.3');
      expect(message).toContain('1.2.0.3');
    } finally {
      vi.unstubAllEnvs();
    }
  });

  it('says so in one line for an api process of --processes too, whose address the primary binds', () => {
    // `--role api --processes 2` with HOST=10.9.9.9 stopped with "Error: bind EADDRNOTAVAIL" and its stack.
    vi.stubEnv('HOST', '10.9.9.9');
    try {
      const error = Object.assign(new Error('bind EADDRNOTAVAIL 10.9.9.9:8080'), {
        code: 'EADDRNOTAVAIL',
        errno: -99,
        syscall: 'bind',
        address: '10.9.9.9',
        port: 8080,
      });
      const message = failureMessage(error);
      expect(message).not.toContain('\n');
      expect(message).toContain('HOST=10.9.9.9');
    } finally {
      vi.unstubAllEnvs();
    }
  });

  it('keeps the stack of an error no operator can fix, which is a bug to report', () => {
    const bug = new TypeError('x is undefined');
    expect(failureMessage(bug)).toContain('    at ');
  });
});

describe('a start on an SQLite file that may grow no more', () => {
  it('says in one line, without a stack, that its disk is full or failing and what to do', () => {
    // Started on a full disk (or past `ulimit -f`, a quota), the first write of the start (the admin
    // token's row) failed and the process printed better-sqlite3's stack trace.
    const db = new SqliteDatabase(':memory:');
    db.exec('create table t (v text)');
    db.pragma(`max_page_count = ${db.pragma('page_count', { simple: true }) as number}`);
    const full = ((): unknown => {
      try {
        db.prepare('insert into t values (?)').run('x'.repeat(100_000));
      } catch (err) {
        return err;
      }
    })();
    db.close();
    const failing = Object.assign(new Error('disk I/O error'), { name: 'SqliteError', code: 'SQLITE_IOERR_WRITE' });
    for (const err of [full, failing]) {
      const message = failureMessage(err);
      expect(message).not.toContain('\n');
      expect(message).not.toContain('    at ');
      expect(message).toMatch(/disk/);
      expect(message).toMatch(/free room/);
    }
  });
});
