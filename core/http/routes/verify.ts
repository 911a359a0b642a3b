import type { H3Event } from 'h3'
import { hostAllowed } from '../../config/main-config.ts'
import { isOtpkiError } from '../../errors.ts'
import type { Principal } from '../../sessions/session-service.ts'
import { authenticate, type Authenticated } from '../authenticate.ts'
import { statusOf } from '../error-table.ts'
import { guarded, type Handler, type HttpContext } from '../http-context.ts'
import { proxyResponse } from '../respond.ts'

/**
 * `GET /auth/verify`: forward authentication for nginx `auth_request`,
 * Traefik ForwardAuth and Caddy `forward_auth`. The proxy sends the visitor's
 * request headers; the answer is 200 with identity headers for a valid
 * session, bearer token or client certificate, 403 when `allowed_roles`
 * names none of the principal's roles, and otherwise 401, or, for a browser
 * behind a proxy that passes the answer on (it sends `X-Forwarded-Uri`), a
 * redirect to sign-in that comes back to the original URL when its host is in
 * `forwardAuth.allowedHosts`.
 */
export function verify(ctx: HttpContext): Handler {
  const identity = identityHeaders(ctx)
  /** Hosts already warned of (not allowed to redirect to): each is said once, at most 1,000. */
  const warnedHosts = new Set<string>()
  const ok = (principal: Principal, event: H3Event): Response => {
    const required = requiredRoles(event)
    if (required && !principal.user.roles.some((r) => required.includes(r))) {
      ctx.logger.debug(
        { route: 'verify', user: principal.user.username, required },
        'forward authentication refused: no required role',
      )
      return proxyResponse(403, [], 'forbidden: none of the required roles\n')
    }
    return proxyResponse(200, identity(principal))
  }
  const answer = (found: Authenticated | undefined, event: H3Event): Response =>
    found ? ok(found.principal, event) : unauthenticated(ctx, event, warnedHosts)
  return guarded(ctx, 'verify', (event) => {
    let found: ReturnType<typeof authenticate>
    try {
      found = authenticate(ctx, event)
    } catch (error) {
      return refused(ctx, event, error, warnedHosts)
    }
    if (!(found instanceof Promise)) return answer(found, event)
    return found.then(
      (authenticated) => answer(authenticated, event),
      (error: unknown) => refused(ctx, event, error, warnedHosts),
    )
  })
}

/** A credential that was refused counts as none (logged, and spent from the address's budget by authenticate). */
function refused(ctx: HttpContext, event: H3Event, error: unknown, warnedHosts: Set<string>): Response {
  if (!isOtpkiError(error) || statusOf(error) !== 401) throw error
  ctx.logger.info({ route: 'verify', code: error.code, reason: error.message }, `credential refused: ${error.message}`)
  return unauthenticated(ctx, event, warnedHosts)
}

/** `allowed_roles=a,b` (or repeated): any one of them is enough. */
function requiredRoles(event: H3Event): string[] | undefined {
  const values = event.url.searchParams.getAll('allowed_roles')
  if (values.length === 0) return undefined
  const roles = values
    .flatMap((v) => v.split(','))
    .map((r) => r.trim())
    .filter(Boolean)
  return roles.length > 0 ? roles : undefined
}

/** 401; or a redirect to sign-in, for a browser behind a proxy that passes the answer on, to an allowed host. */
function unauthenticated(ctx: HttpContext, event: H3Event, warnedHosts: Set<string>): Response {
  const headers = event.req.headers
  const uri = headers.get('x-forwarded-uri')
  const accept = headers.get('accept') ?? ''
  if (uri !== null && accept.includes('text/html') && (headers.get('x-forwarded-method') ?? 'GET') === 'GET') {
    const original = originalUrl(headers, uri)
    if (original && hostAllowed(original.hostname, ctx.forwardAuth.allowedHosts)) {
      const signIn = `${ctx.publicUrl}/auth/sign-in?returnTo=${encodeURIComponent(original.href)}`
      return proxyResponse(302, [['location', signIn]])
    }
    const host = original?.hostname ?? headers.get('x-forwarded-host') ?? '(none)'
    // Said once per host (a proxy sends every request of the host this way), at debug after that.
    const first = !warnedHosts.has(host) && warnedHosts.size < 1_000
    if (first) warnedHosts.add(host)
    ctx.logger[first ? 'warn' : 'debug'](
      { route: 'verify', host },
      'forward authentication: the original host is not in forwardAuth.allowedHosts; answering 401, not a redirect',
    )
  }
  return proxyResponse(401, [['www-authenticate', 'Cookie']], 'unauthenticated\n')
}

/** The URL the visitor asked the proxy for, from X-Forwarded-Proto, -Host and -Uri; undefined when they do not make one. */
function originalUrl(headers: Headers, uri: string): URL | undefined {
  const proto = (headers.get('x-forwarded-proto') ?? 'https').split(',')[0]!.trim().toLowerCase()
  const host = (headers.get('x-forwarded-host') ?? headers.get('host') ?? '').split(',')[0]!.trim()
  if ((proto !== 'https' && proto !== 'http') || host === '' || !uri.startsWith('/') || uri.startsWith('//'))
    return undefined
  if (/[\u0000-\u0020\u007f\\@]/.test(host)) return undefined
  try {
    const url = new URL(`${proto}://${host}${uri}`)
    return url.host.toLowerCase() === host.toLowerCase() ? url : undefined
  } catch {
    return undefined
  }
}

/**
 * The identity headers of a principal, written once per principal (a cached
 * session keeps its principal). A value outside printable ASCII is
 * percent-encoded (UTF-8), as header values cannot carry it. Every
 * configured header is sent, empty when the principal has no value for it.
 */
function identityHeaders(ctx: HttpContext): (principal: Principal) => readonly [string, string][] {
  const names = ctx.forwardAuth.headers
  const cache = new WeakMap<Principal, [string, string][]>()
  return (principal) => {
    let pairs = cache.get(principal)
    if (!pairs) {
      const { user, method, provider } = principal
      const name = [user.firstName, user.lastName].filter(Boolean).join(' ')
      const values: Record<keyof typeof names, string | undefined> = {
        user: user.username,
        email: user.email ?? undefined,
        name: name || undefined,
        roles: user.roles.join(','),
        method,
        provider: provider ?? undefined,
      }
      pairs = []
      for (const key of Object.keys(names) as (keyof typeof names)[]) {
        const header = names[key]
        const value = values[key]
        // Every header, empty when there is no value: a proxy that copies it then replaces a client's own of that name.
        if (header !== '') pairs.push([header, headerValue(value ?? '')])
      }
      cache.set(principal, pairs)
    }
    return pairs
  }
}

const headerValue = (value: string) => (/^[\x20-\x7e]*$/.test(value) ? value : encodeURIComponent(value))
