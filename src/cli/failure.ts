/** failureMessage says why a command failed: a sentence for what an operator can fix, else the stack. */
export function failureMessage(err: unknown): string {
  const error = err as (Error & { code?: string; address?: string; port?: number; syscall?: string; hostname?: string }) | undefined;
  // Known by its name: main loads none of the service's modules (config.ts among them) before a command runs.
  if (error?.name === 'ConfigError') return error.message;
  if (error?.code === 'EADDRINUSE') {
    return `${error.address}:${error.port} is already in use (another Tocsin?): stop that process, or choose another port with PORT (HTTP) or TOCSIN_MAIL_CATCHER_PORT (the mail catcher)`;
  }
  // A port the process may not take: below 1024 (or ip_unprivileged_port_start) without privileges, or
  // refused by a security policy. Node's stack names neither the variable nor what to do. An api process
  // of `--processes` has the primary bind the port for it: its error's syscall is `bind`.
  if ((error?.code === 'EACCES' || error?.code === 'EPERM') && (error.syscall === 'listen' || error.syscall === 'bind')) {
    return `cannot listen on ${error.address}:${error.port} (${error.code}): this user may not take that port (below 1024 needs privileges): choose another with PORT (HTTP) or TOCSIN_MAIL_CATCHER_PORT (the mail catcher), or let a reverse proxy serve the low port`;
  }
  // HOST names no address of this machine, or a name that does not resolve.
  // A link-local IPv6 address without its zone (fe80::1) is EINVAL. The primary of `--processes` binds for its api processes.
  const unlistenable = (error?.code === 'EADDRNOTAVAIL' || error?.code === 'EINVAL') && (error.syscall === 'listen' || error.syscall === 'bind');
  const host = unlistenable ? error.address : error?.syscall === 'getaddrinfo' ? error.hostname : undefined;
  // HOST may name an IPv6 address in brackets, as URLs write it (config.ts takes it without them).
  const hostVariable = process.env.HOST?.trim().replace(/^\[(.*)\]$/, '$1');
  // A name (or a short form such as 1.2.3) is listened on as the address it resolves to, which the error names.
  const resolvedTo = unlistenable && host !== hostVariable && hostVariable ? `, which is ${host}` : '';
  if (host !== undefined && (host === hostVariable || resolvedTo)) {
    return `cannot listen on HOST=${process.env.HOST}${resolvedTo} (${error!.code}): choose an address of this machine with HOST, such as 127.0.0.1, or 0.0.0.0 for all of them`;
  }
  // SQLite's disk cannot take the start's first writes (the admin token's row, a migration): full,
  // or the file at its size limit (`ulimit -f`) or quota, which SQLite says as an I/O error.
  if (error?.name === 'SqliteError' && typeof error.code === 'string' && /^SQLITE_(FULL|IOERR)/.test(error.code)) {
    return `the disk of the SQLite database is full or failing (${error.code}: ${error.message}): free room on it (or raise the file size limit or quota of this user) and start again`;
  }
  return String(error?.stack ?? err);
}
