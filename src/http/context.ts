import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { Logger } from 'pino';
import type { z } from 'zod';
import type { Authenticator } from '../access/credentials.js';
import type { LoginThrottle } from '../access/login-throttle.js';
import type { Permission } from '../access/permissions.js';
import type { Principal } from '../access/principal.js';
import type { AlertIngest } from '../alerts/ingest.js';
import type { AccessTables } from '../access/tables.js';
import type { Config } from '../config.js';
import type { CaughtMail } from '../delivery/catcher/mail-catcher.js';
import type { Metrics } from '../ops/metrics.js';
import type { SecretBox } from '../settings/secret-box.js';
import type { UrlSmtp } from '../settings/smtp-settings.js';
import type { Clock } from '../shared/clock.js';
import type { Storage } from '../storage/storage.js';

/** TenantRow is a tenant as stored. */
export type TenantRow = AccessTables['tenants'];

/**
 * RouteAccess says who may call a route: `public` (no credentials), `host` (the host
 * administrator), `authenticated` (anyone signed in) or `tenant` (a route under
 * /tenants/:tenant, optionally needing a permission). Routes with `:tenant` default to `tenant`.
 */
export interface RouteAccess {
  access?: 'public' | 'host' | 'authenticated' | 'tenant';
  /** The permission the caller needs, or a list of which any one will do (the handler then checks the rest). */
  permission?: Permission | readonly Permission[];
  /**
   * The route changes nothing the API keeps (principals, tenants, readers, mail settings): a source's
   * receive URL, which raises alerts and whose secret authenticates it, or a reader's read state. As
   * after the routes needing Alerts.Create, nothing kept is forgotten after it (forgetPrincipalsOnChange).
   */
  forgetsNothing?: true;
  /**
   * Error statuses this route answers beyond the ones every route may (400, 401, 403, 404, 413,
   * 415), such as 409 or 429, so that the OpenAPI document lists them.
   */
  problems?: readonly number[];
  /**
   * The success status of a route that declares no response schema for it, when not 200 (`204`
   * for a DELETE), so that the OpenAPI document does not promise a 200 the route never answers.
   */
  status?: 201 | 202 | 204;
  /**
   * The schema of the success answer (of `status`, else 200) as the OpenAPI document shows it,
   * for a route that does not declare it as a response schema: a response schema also rewrites
   * the answer (drops what it lacks, a 500 on what it refuses), this documents it only, and
   * openapi-answers.test.ts holds the real answers to it.
   */
  answer?: z.ZodType;
  /**
   * What a client does with a body over the route's bound, said after the 413's limit: POST /alerts
   * takes 1,000 alerts, but not every field of each at its bound in ideographs or emoji, and "over
   * 31,836,512 bytes" alone did not say that two batches are taken where one is not.
   */
  overLimit?: string;
  /** The route answers its 201 with the new object's address in Location (replyCreated), as the OpenAPI document then says. */
  created?: true;
  /**
   * The route's answer carries a credential shown only there (an API token, a source's secret, a
   * session): every answer of it says `Cache-Control: no-store` (app.ts), so that no browser or proxy
   * keeps a copy (RFC 9111 5.2.2.5; RFC 6749 5.1 asks it of token answers).
   */
  secret?: true;
  /**
   * Answers of other statuses whose body is not a problem (readiness's 503 `{status, reason}`),
   * documented only, as `answer` is.
   */
  otherAnswers?: Readonly<Partial<Record<number, z.ZodType>>>;
  /**
   * `false` for a route that answers without the database (liveness, metrics): every other route
   * reads it (a user's token, a session, the tenant), so the OpenAPI document lists the 503 its
   * outage answers.
   */
  database?: false;
  /**
   * The form fields (application/x-www-form-urlencoded or multipart) a route reads from a body it
   * takes as text, every one optional: documented only, as `answer` is, since a body schema would
   * refuse the text its own parser leaves.
   */
  form?: z.ZodObject;
  /** What the HTML page a route answers shows (the links in emails, previews), for the OpenAPI document. */
  page?: string;
  /**
   * The refusals a link's route answers a browser (Accept: text/html) as a page in its language,
   * beside the problem a script gets (answerLinkPage): documented only, as `answer` is.
   */
  refusalPages?: readonly number[];
  /**
   * The path and path parameters a route written with a wildcard has for its clients (Orchestrator's
   * `/odata/Settings('{key}')`, which the router can only hold as `/odata/Settings(*`), for the
   * OpenAPI document: documented only, as `answer` is, since the handler reads the wildcard.
   */
  documentedAs?: { readonly url: string; readonly params: z.ZodObject };
}

declare module 'fastify' {
  interface FastifyContextConfig extends RouteAccess {}
  interface FastifyRequest {
    principal?: Principal;
    tenant?: TenantRow;
    /**
     * Set when `tenant` was kept from an earlier request raising alerts (accessHook): reads the
     * tenant of the path again, checks the caller's access to it and sets `tenant`, for a write
     * that found the kept one deleted by another process (raiseInTenant).
     */
    readTenantAgain?: () => Promise<TenantRow>;
  }
}

/** AppDeps are the parts the HTTP layer is built from; tests pass their own clock. */
export interface AppDeps {
  readonly storage: Storage;
  readonly config: Config;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly authenticator: Authenticator;
  /** Failed sign-ins per account and address, shared by every password and admin-token login. */
  readonly loginThrottle: LoginThrottle;
  readonly metrics: Metrics;
  readonly secretBox: SecretBox;
  /** The built-in mail catcher, when this process runs one (npm start). */
  readonly mailCatcher?: CaughtMail;
  /** The system default SMTP URL in force, read once at start: TOCSIN_SMTP_URL, else the built-in catcher's (settings' DEFAULT_SYSTEM_SMTP_URL when absent). */
  readonly systemSmtp: UrlSmtp;
  /** The pipeline's ingest stage (src/pipeline.ts), which the alert routes hand their alerts to. */
  readonly ingest: AlertIngest;
  /** What this process's send path keeps of settings and access (ReadCache), forgotten after every change made through the API. */
  readonly kept?: { forget(): void };
  /** The pipeline's count of changes to who gets which email (ChangeCount), bumped after each such change made through the API. */
  readonly recipientChanges?: { bump(tenantId?: string): Promise<void> | undefined };
}

/** TocsinApp is the fastify instance with zod schemas as its type provider. */
export type TocsinApp = FastifyInstance<any, any, any, any, ZodTypeProvider>;

/** RouteModule registers one domain's routes. */
export type RouteModule = (app: TocsinApp, deps: AppDeps) => void;
