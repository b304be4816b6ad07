import { parseArgs } from 'node:util';
import { loadConfig } from '../config.js';
import { startTocsin } from '../server.js';
import { displaySmtpUrl } from '../shared/redact.js';

/** How long a SIGTERM waits for in-flight work before the process exits anyway. */
const SHUTDOWN_GRACE_MS = 15_000;

/** serveCommand runs Tocsin until SIGTERM or SIGINT, then shuts down gracefully. */
export async function serveCommand(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: { role: { type: 'string' } }, strict: true });
  const config = loadConfig(values.role ? { ...process.env, TOCSIN_ROLE: values.role } : process.env);
  const tocsin = await startTocsin(config);
  const log = tocsin.deps.logger;
  log.info({ url: tocsin.url, database: tocsin.deps.storage.description, smtp: displaySmtpUrl(tocsin.systemSmtpUrl), role: config.role }, 'tocsin is serving');
  const lines = [
    '',
    `  Tocsin is running: ${tocsin.url}/`,
    `  Database:          ${tocsin.deps.storage.description}`,
    `  System SMTP:       ${tocsin.deps.mailCatcher ? 'built-in mail catcher at ' : ''}${displaySmtpUrl(tocsin.systemSmtpUrl)}`,
    tocsin.generatedAdminToken
      ? `  Admin token:       ${tocsin.generatedAdminToken}\n                     (shown once; set TOCSIN_ADMIN_TOKEN to choose your own)`
      : `  Admin token:       ${config.adminToken ? 'from TOCSIN_ADMIN_TOKEN' : 'generated on first start (set TOCSIN_ADMIN_TOKEN to replace it)'}`,
    '',
  ];
  process.stdout.write(`${lines.join('\n')}\n`);

  await new Promise<void>((resolve) => {
    const stop = (signal: string) => {
      log.info({ signal }, 'shutting down');
      const force = setTimeout(() => {
        log.error('shutdown took too long; exiting');
        process.exit(1);
      }, SHUTDOWN_GRACE_MS);
      force.unref();
      tocsin.close().then(resolve, (err: unknown) => {
        log.error({ err }, 'error while shutting down');
        resolve();
      });
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
  return 0;
}
