import { isLinkBase, serverUrlFromEnv } from '../config.js';
import type { CommandIo } from './io.js';
import { RAISE_ARGUMENTS, parseCommandArgs, raiseToken } from './arguments.js';
import { RAISE_USAGE } from './usage.js';

const REQUEST_TIMEOUT_MS = 30_000;
/** SOURCE_PARTS are the fields of an AlertInput's source, each an option of the same name. */
const SOURCE_PARTS = ['process', 'robot', 'machine', 'queue', 'job'] as const;

/**
 * raiseCommand raises one alert through the HTTP API (so it works against any Tocsin, local or
 * remote) and prints its id; a refusal prints the server's problem and exits 1, bad usage exits 2.
 */
export async function raiseCommand(args: string[], io: CommandIo = { env: process.env, stdout: process.stdout, stderr: process.stderr }): Promise<number> {
  const parsed = parseCommandArgs(RAISE_ARGUMENTS, args, io.env);
  if (parsed.refusal !== undefined) {
    io.stderr.write(parsed.refusal);
    return 2;
  }
  const { values } = parsed;
  // Given: RAISE_ARGUMENTS refuse its absence.
  const token = raiseToken(values, io.env)!;
  // A path is appended to it: '127.0.0.1:8080' failed as an unreachable server ('Invalid URL', exit 1),
  // and a '?x' made the path part of the query (a 405 from the console's root), as TOCSIN_PUBLIC_URL refuses.
  if (values.url !== undefined && !isLinkBase(values.url.trim())) {
    io.stderr.write(
      `tocsin raise: --url must be an http:// or https:// address without ? or #, spaces or a user and password, such as http://127.0.0.1:8080\n${RAISE_USAGE}\n`,
    );
    return 2;
  }
  // A JSON object: RAISE_ARGUMENTS refuse any other --data.
  const data: unknown = values.data === undefined ? undefined : JSON.parse(values.data);
  // The alert's source, of the parts given: each is an option of its own, as scripts have them in variables.
  const sourceParts = SOURCE_PARTS.filter((part) => values[part]).map((part) => [part, values[part]]);
  const body = {
    severity: values.severity,
    component: values.component,
    message: values.message,
    ...(values.event ? { event: values.event } : {}),
    ...(values['dedup-key'] ? { dedupKey: values['dedup-key'] } : {}),
    ...(values.folder ? { folder: values.folder } : {}),
    ...(data === undefined ? {} : { data }),
    ...(sourceParts.length > 0 ? { source: Object.fromEntries(sourceParts) } : {}),
    ...(values['occurred-at'] ? { occurredAt: values['occurred-at'] } : {}),
  };
  // Without --url, the server the same knobs describe: a PORT=9000 in the environment meant 8080 here.
  // The API's own base (…/api/v1) names the same server: it was asked for /api/v1/api/v1/….
  const base = (values.url?.trim() ?? serverUrlFromEnv(io.env)).replace(/\/+$/, '').replace(/\/api\/v1$/, '');
  const url = `${base}/api/v1/tenants/${encodeURIComponent(values.tenant!)}/alerts`;
  let response: Response;
  try {
    response = await fetch(url, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
  } catch (err) {
    io.stderr.write(`tocsin raise: cannot reach ${base}: ${whyUnreachable(err)}\n`);
    return 1;
  }
  const answer = (await response.json().catch(() => ({}))) as { ids?: string[]; detail?: string; errors?: { path: string; message: string }[] };
  if (response.status !== 202) {
    // The detail is the first field error when there is one: listed again below it, it was said twice.
    const details = (answer.errors ?? [])
      .map((e) => `${e.path}: ${e.message}`)
      .filter((line) => line !== answer.detail)
      .map((line) => `\n  ${line}`)
      .join('');
    io.stderr.write(`tocsin raise: ${response.status} ${answer.detail ?? response.statusText}${details}\n`);
    return 1;
  }
  // A 202 without an alert's id is no Tocsin's (another service at --url, a proxy's page): printing an
  // empty line and exiting 0 told a script its alert was stored.
  const id = answer.ids?.[0];
  if (typeof id !== 'string' || id === '') {
    io.stderr.write(`tocsin raise: ${base} answered 202 without an alert's id: is it Tocsin's address?\n`);
    return 1;
  }
  io.stdout.write(`${id}\n`);
  return 0;
}

/**
 * whyUnreachable says why fetch failed: its own message is 'fetch failed' whatever happened, and the
 * reason (connection refused, unknown host, a certificate refused) is in its cause, an AggregateError
 * with an empty message when each address of a name was tried.
 */
function whyUnreachable(err: unknown): string {
  const error = err as Error & { cause?: Error & { code?: string; errors?: Error[] } };
  const cause = error.cause;
  if (!(cause instanceof Error)) return error.message;
  return cause.message || cause.errors?.[0]?.message || cause.code || error.message;
}
