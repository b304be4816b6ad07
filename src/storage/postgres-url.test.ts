import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { postgresClientConfig } from './storage.js';

describe('the PostgreSQL URL as an operator writes it for libpq', () => {
  it('reads sslrootcert=system as libpq does: the certificate checked against the authorities Node trusts, not a file named system', () => {
    // PostgreSQL 16's keyword (psql, managed providers' examples): node-postgres opened a file named `system`,
    // and the start stopped with "ENOENT: no such file or directory, open 'system'".
    const client = new pg.Client(postgresClientConfig('postgres://tocsin:secret@db.example.com/tocsin?sslrootcert=system'));
    expect(client.ssl).toEqual({});
    const named = new pg.Client(
      postgresClientConfig('postgresql://tocsin:p%40ss@db.example.com:6432/tocsin?sslmode=verify-full&sslrootcert=system&application_name=ops'),
    );
    expect(named.ssl).toEqual({});
    expect(named).toMatchObject({ user: 'tocsin', password: 'p@ss', host: 'db.example.com', port: 6432, database: 'tocsin' });
    // A file of one's own is read as before.
    expect(() => new pg.Client(postgresClientConfig('postgres://tocsin@db.example.com/tocsin?sslmode=verify-full&sslrootcert=/nonexistent/ca.pem'))).toThrow(
      /ENOENT/,
    );
  });
});
