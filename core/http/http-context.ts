import type { H3Event } from 'h3'
import { getCookie } from 'h3'
import type { Clock } from '../clock.ts'
import type { RequestAuthenticator } from '../contracts/request-authenticator.ts'
import type { ProviderDefaults } from '../config/provider-loader.ts'
import type { ProviderDefinition } from '../contracts/provider.ts'
import type { ForwardAuthConfig } from '../config/main-config.ts'
import type { ProviderRegistry } from '../config/provider-registry.ts'
import { isOtpkiError, type OtpkiError } from '../errors.ts'
import type { Logger } from '../logger.ts'
import type { Renderer } from '../render/renderer.ts'
import type { SessionService } from '../sessions/session-service.ts'
import type { TransactionStore } from '../sessions/transaction-store.ts'
import type { SignInService } from '../sign-in-service.ts'
import type {
  AccountLinkSpec,
  AdminSectionSpec,
  PluginServices,
  RouteSpec,
  UserFieldSpec,
} from '../contracts/plugin.ts'
import type { RateLimiter } from './rate-limit.ts'
import type { InFlight } from './in-flight.ts'
import type { AuditLog } from '../audit/audit-log.ts'
import type { Metrics } from '../observability/metrics.ts'
import type { Permission } from '../config/main-config.ts'
import type { Orm } from '../store/orm.ts'
import type { CookieJar } from './cookies.ts'
import type { Csrf } from './csrf.ts'
import { answerFor } from './error-table.ts'
import { htmlResponse, jsonResponse, type ResponseOptions } from './respond.ts'

/** What the routes need; assembled once by the composition root. */
export interface HttpContext {
  readonly publicUrl: string
  readonly transactionTtl: number
  readonly registry: ProviderRegistry
  readonly sessions: SessionService
  readonly transactions: TransactionStore
  readonly signIn: SignInService
  readonly clock: Clock
  /** Per-request authenticators (client certificates), in order. */
  readonly requestAuthenticators: readonly RequestAuthenticator[]
  /** Roles whose members may use the administration routes. */
  readonly adminRoles: readonly string[]
  readonly renderer: Renderer
  readonly csrf: Csrf
  readonly cookies: CookieJar
  readonly logger: Logger
  readonly orm: Orm
  /** Per-client-address limits: sign-in starts, callbacks, refused bearer or certificate attempts. */
  readonly limits: { readonly signIn: RateLimiter; readonly callback: RateLimiter; readonly failedAuth: RateLimiter }
  /** The client's address: the TCP peer, or what a trusted proxy's X-Forwarded-For names. */
  clientAddress(event: H3Event): string
  /** What plugins' code gets (users, entity manager, logger, clock). */
  readonly services: PluginServices
  /** Routes and user-list columns plugins added. */
  readonly routes: readonly RouteSpec[]
  readonly userFields: readonly UserFieldSpec[]
  /** Sections plugins add to a user's console page. */
  readonly adminSections: readonly AdminSectionSpec[]
  /** Links plugins add to the signed-in page. */
  readonly accountLinks: readonly AccountLinkSpec[]
  /** Roles per permission (adminRoles in each). */
  readonly permissions: Readonly<Record<Permission, readonly string[]>>
  /** The audit trail. */
  readonly audit: AuditLog
  /** Prometheus metrics, when enabled. */
  readonly metrics: Metrics | undefined
  /** The requests being answered (a shutdown waits for them before it closes the database). */
  readonly inFlight: InFlight
  /** Where the console's provider forms read and write: the main providers directory, the defaults files get. */
  readonly providerFiles: {
    readonly dir: string
    readonly writable: boolean
    readonly defaults: ProviderDefaults
    /** Whether an administrator could still sign in with these providers (the last-provider warning). */
    canAdministrate(providers: readonly ProviderDefinition[]): Promise<boolean>
  }
  /** Bearer token /metrics requires, if any. */
  readonly metricsToken: string | undefined
  /** Forward authentication (`GET /auth/verify`). */
  readonly forwardAuth: ForwardAuthConfig
  /** Whether the public listener serves /metrics (else none, or its own port). */
  readonly metricsOnPublicListener: boolean
}

export type Handler = (event: H3Event) => Promise<Response> | Response

/** Renders a page inside the layout. */
export function page(
  ctx: HttpContext,
  template: string,
  data: Record<string, unknown>,
  options: ResponseOptions = {},
): Response {
  return htmlResponse(ctx.renderer.render(template, { publicUrl: ctx.publicUrl, ...data }), options)
}

/**
 * Wraps a route: any error becomes a neutral error page (never a stack,
 * token or secret) and a log line that says why.
 */
export function guarded(
  ctx: HttpContext,
  route: string,
  handler: Handler,
  options: { clearOnError?: string[]; json?: boolean } = {},
): Handler {
  const cookies = (options.clearOnError ?? []).map((name) => ctx.cookies.clear(name))
  const fail = (event: H3Event, error: unknown): Response => {
    const known = isOtpkiError(error) ? error : undefined
    if (known)
      ctx.logger.warn(
        { route, code: known.code, reason: known.message },
        `${route} refused: ${known.code}: ${known.message}`,
      )
    else ctx.logger.error({ route, err: error }, `${route} failed`)
    const { status, title, message: neutral } = answerFor(known)
    const message = known?.publicMessage ?? neutral
    const headers = errorHeaders(known, hasBody(event))
    if (options.json)
      return jsonResponse({ error: known?.code.toLowerCase() ?? 'internal', message }, { status, headers })
    return page(ctx, 'error', { title, message }, { status, cookies, headers })
  }
  const timer = ctx.metrics?.route(route)
  const logRequests = ctx.logger.isLevelEnabled('debug')
  // No async frame of its own: a handler that answers synchronously stays synchronous.
  if (!timer && !logRequests)
    return (event) => {
      try {
        const result = handler(event)
        return result instanceof Promise
          ? ctx.inFlight.track(result.catch((error: unknown) => fail(event, error)))
          : result
      } catch (error) {
        return fail(event, error)
      }
    }
  return (event) => {
    const started = performance.now()
    const done = (response: Response) => {
      const seconds = (performance.now() - started) / 1000
      timer?.observe(seconds)
      if (logRequests)
        ctx.logger.debug(
          { route, method: event.req.method, path: event.url.pathname, status: response.status, ms: seconds * 1000 },
          'request',
        )
      return response
    }
    try {
      const result = handler(event)
      return result instanceof Promise
        ? ctx.inFlight.track(result.catch((error: unknown) => fail(event, error)).then(done))
        : done(result)
    } catch (error) {
      return done(fail(event, error))
    }
  }
}

/**
 * A refused request that came with a body closes its connection, so the rest
 * of a body nobody reads is never received (413 always); 429 and 503 say when
 * to come back.
 */
function errorHeaders(error: OtpkiError | undefined, withBody = true): Record<string, string> {
  const headers: Record<string, string> = {}
  if (withBody || error?.code === 'BODY_TOO_LARGE') headers.connection = 'close'
  if (error?.retryAfter !== undefined) headers['retry-after'] = String(error.retryAfter)
  return headers
}

/** Whether a request announced a body (a length, or chunks). */
function hasBody(event: H3Event): boolean {
  const headers = event.req.headers
  return headers.has('transfer-encoding') || Number(headers.get('content-length') ?? 0) > 0
}

/**
 * The session cookie's value, if any. On the per-request auth path: finds the
 * one cookie in the header without parsing all of them (session ids are
 * base64url, so no decoding is needed).
 */
export function sessionCookie(ctx: HttpContext, event: H3Event): string | undefined {
  return sessionCookieValue(ctx.cookies, event)
}

/** {@link sessionCookie}, given the cookie jar. */
export function sessionCookieValue(cookies: CookieJar, event: H3Event): string | undefined {
  const header = event.req.headers.get('cookie')
  if (!header) return undefined
  const name = cookies.session
  let at = header.startsWith(`${name}=`) ? 0 : header.indexOf(`; ${name}=`)
  if (at < 0) return getCookie(event, name)
  at += header.startsWith(`${name}=`, at) ? name.length + 1 : name.length + 3
  const end = header.indexOf(';', at)
  const value = header.slice(at, end < 0 ? undefined : end).trim()
  return /^[\w-]+$/.test(value) ? value : undefined
}
