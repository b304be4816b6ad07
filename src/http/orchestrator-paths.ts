import type { FastifyReply, FastifyRequest } from 'fastify';

/** ORCHESTRATOR_TENANT_HEADER is how the host administrator names the tenant on Orchestrator-compatible routes. */
export const ORCHESTRATOR_TENANT_HEADER = 'x-tocsin-tenant';

/** UIPATH_TENANT_HEADER is Orchestrator's: the host administrator may name the tenant with it when ORCHESTRATOR_TENANT_HEADER is left out. */
export const UIPATH_TENANT_HEADER = 'x-uipath-tenantname';

/** The paths of the Orchestrator-compatible subset (API.md): `/odata` (the service document), `/odata/…`, `/api/Account` and `/api/Account/…`. */
const ORCHESTRATOR_PATH = /^\/(?:odata(?:[/?]|$)|api\/account(?:[/?]|$))/i;

/**
 * OrchestratorPaths lets the Orchestrator-compatible routes match a path in any case, as
 * Orchestrator's own (ASP.NET) routes do: UiPath's documentation writes `POST
 * /api/account/authenticate`, its client libraries `/api/Account/Authenticate`, and scripts carry
 * either. It learns each such route's spelling as it is registered and gives a request URL back
 * with its path in that spelling (the query untouched); every other URL is returned as it is.
 */
export class OrchestratorPaths {
  readonly #spelling = new Map<string, string>();
  /** The routes ending in a wildcard (`/odata/Settings(*`): their fixed start, by its lower case. */
  readonly #prefixes = new Map<string, string>();

  /** learn notes a registered route's path, if it is one of the subset's. */
  learn(path: string): void {
    if (!ORCHESTRATOR_PATH.test(path)) return;
    if (path.endsWith('*')) this.#prefixes.set(path.slice(0, -1).toLowerCase(), path.slice(0, -1));
    else this.#spelling.set(path.toLowerCase(), path);
  }

  /** canonical is `url` with its path spelt as the route that matches it whatever the case, without a trailing slash. */
  canonical(url: string): string {
    if (!ORCHESTRATOR_PATH.test(url)) return url;
    const query = url.indexOf('?');
    const written = query < 0 ? url : url.slice(0, query);
    // ASP.NET ignores a trailing slash (`$url/api/Account/Authenticate/`); `/odata/` is a route of its own.
    const path = written.length > 1 && written.endsWith('/') && !this.#spelling.has(written.toLowerCase()) ? written.slice(0, -1) : written;
    const spelt = this.#spelling.get(path.toLowerCase()) ?? this.#spelledStart(path);
    const canonical = spelt ?? path;
    return canonical === written ? url : `${canonical}${query < 0 ? '' : url.slice(query)}`;
  }

  /** #spelledStart is `path` with the start a wildcard route fixes spelt as that route has it (the rest, a key, as written). */
  #spelledStart(path: string): string | undefined {
    const lower = path.toLowerCase();
    for (const [start, spelt] of this.#prefixes) if (lower.startsWith(start)) return `${spelt}${path.slice(start.length)}`;
    return undefined;
  }
}

const ODATA_PATH = /^\/odata(?:[/?]|$)/i;

/**
 * sayODataVersion is an onSend hook: every answer on an `/odata` path (errors too) says
 * `OData-Version: 4.0`, the version its $metadata declares, which OData clients (Power Query,
 * Microsoft.OData.Client) read from each answer to know how to read it.
 */
export async function sayODataVersion(request: FastifyRequest, reply: FastifyReply): Promise<void> {
  if (ODATA_PATH.test(request.url)) void reply.header('odata-version', '4.0');
}

const ACCOUNT_PATH = /^\/api\/account(?:[/?]|$)/i;

/** OrchestratorError is what Orchestrator's clients read in an error: `message`, `errorCode` and `traceId`, and ABP's envelope on sign-in. */
export type OrchestratorError = Record<string, unknown>;

/**
 * orchestratorError is what a problem answered on an Orchestrator-compatible path carries besides
 * RFC 9457's members, none elsewhere: Orchestrator's `message` and `errorCode` (the HTTP status,
 * Tocsin having no codes of Orchestrator's own), which UiPath's PowerShell module and scripts read
 * to say what failed, and `traceId` (the request's id, as its log lines carry it), which UiPath's
 * SDK reports as the request's; on `/api/Account…` ABP's AjaxResponse around them, as the
 * sign-in's success has it (`success: false`, `error: {code, message}`).
 */
export function orchestratorError(url: string, status: number, detail: string, traceId: string): OrchestratorError {
  if (!ORCHESTRATOR_PATH.test(url)) return {};
  const members = { message: detail, errorCode: status, traceId };
  if (!ACCOUNT_PATH.test(url)) return members;
  return {
    ...members,
    result: null,
    targetUrl: null,
    success: false,
    error: { code: status, message: detail, details: null },
    unAuthorizedRequest: status === 401,
    __abp: true,
  };
}
