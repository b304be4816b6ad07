/**
 * The help text of each command, in a module that imports nothing: `tocsin <command> --help` (and
 * `tocsin help <command>`) prints it without loading the command's modules (serve's whole server,
 * test-mail's mail sender and storage), which took a second of CPU and several on a busy machine
 * to print one line.
 */

/** SERVE_USAGE is the help text of `tocsin serve`. */
export const SERVE_USAGE = 'usage: tocsin serve [--role api|worker|all] [--processes N]   (or TOCSIN_ROLE, TOCSIN_API_PROCESSES)';

/** MIGRATE_USAGE is the help text of `tocsin migrate`. */
export const MIGRATE_USAGE = 'usage: tocsin migrate   (migrates DATABASE_URL; unset, the SQLite file in TOCSIN_DATA_DIR, ./data by default)';

/** RAISE_USAGE is the help text of `tocsin raise`. */
export const RAISE_USAGE = `usage: tocsin raise --tenant T --severity Error --component Jobs --message "…"
         [--event Process.RaiseAlert] [--dedup-key K] [--folder F] [--data '{"k":"v"}']
         [--process P] [--robot R] [--machine M] [--queue Q] [--job J] [--occurred-at 2026-11-30T08:15:00+01:00]
         [--url URL] [--token TOKEN]   (or TOCSIN_TOKEN, else the host administrator's TOCSIN_ADMIN_TOKEN; the URL
         defaults to TOCSIN_PUBLIC_URL, else http://HOST:PORT, http://127.0.0.1:8080 when unset, as the server's)`;

/** TEST_MAIL_USAGE is the help text of `tocsin test-mail`. */
export const TEST_MAIL_USAGE = 'usage: tocsin test-mail --tenant <name or id> --to <address>';
