import type { H3Event } from 'h3'
import type { PluginServices, RouteServices, RouteSpec } from '../../contracts/plugin.ts'
import { OtpkiError } from '../../errors.ts'
import { AUDIT_KINDS, type AuditFilter, type AuditKind } from '../../audit/audit-log.ts'
import type { Permission } from '../../config/main-config.ts'
import type { Principal } from '../../sessions/session-service.ts'
import { authenticate } from '../authenticate.ts'
import { guarded, page, type Handler, type HttpContext } from '../http-context.ts'
import { jsonResponse } from '../respond.ts'

/** Whether a principal holds a permission (adminRoles hold every one). */
export function holds(ctx: HttpContext, principal: Principal, permission: Permission | 'admin'): boolean {
  const roles = permission === 'admin' ? ctx.adminRoles : ctx.permissions[permission]
  return principal.user.roles.some((r) => roles.includes(r))
}

/**
 * The administration routes: only for principals holding the permission (one
 * of its roles, or of `adminRoles`), by any sign-in method. A
 * session-authenticated change must come from OTPKI's own origin, so a
 * cross-site request cannot make it.
 */
export async function requirePermission(
  ctx: HttpContext,
  event: H3Event,
  permission: Permission | 'admin',
  changes: boolean,
): Promise<Principal> {
  const found = await authenticate(ctx, event)
  if (!found)
    throw new OtpkiError('SESSION_INVALID', 'administration without credentials', { publicMessage: 'Sign in first.' })
  if (!holds(ctx, found.principal, permission)) {
    throw new OtpkiError('FORBIDDEN', `${found.principal.user.username} lacks the ${permission} permission`, {
      publicMessage:
        permission === 'admin' ? 'Only administrators may do this.' : `This needs the ${permission} permission.`,
    })
  }
  if (changes && found.session) refuseCrossSite(ctx, event)
  return found.principal
}

/**
 * Refuses a post another site made. Pages send no referrer, so a browser's own form post
 * says `Origin: null`; the CSRF token decides then.
 */
export function refuseCrossSite(ctx: HttpContext, event: H3Event): void {
  const origin = event.req.headers.get('origin')
  const site = event.req.headers.get('sec-fetch-site')
  if (
    (origin !== null && origin !== 'null' && origin !== new URL(ctx.publicUrl).origin) ||
    (site !== null && site !== 'same-origin' && site !== 'none')
  ) {
    throw new OtpkiError('CSRF_INVALID', `cross-origin administration from ${(origin ?? site ?? '').slice(0, 100)}`, {
      publicMessage: 'Cross-site requests are refused.',
    })
  }
}

/** {@link requirePermission} for what only `adminRoles` may do. */
export function requireAdmin(ctx: HttpContext, event: H3Event, changes: boolean): Promise<Principal> {
  return requirePermission(ctx, event, 'admin', changes)
}

/** Every user with the columns plugins add (`certificates`, say), by user id. */
export async function usersWithFields(services: PluginServices, fields: HttpContext['userFields']) {
  const users = await services.users.list()
  const columns = await Promise.all(fields.map(async (f) => [f.name, await f.values(services)] as const))
  return users.map((u) => ({
    user: u,
    fields: Object.fromEntries(columns.map(([name, values]) => [name, values.get(u.id) ?? 0])),
  }))
}

/** `GET /admin/users`: users with their roles and the columns plugins add. */
export function listUsers(ctx: HttpContext): Handler {
  return guarded(
    ctx,
    'admin',
    async (event) => {
      await requirePermission(ctx, event, 'manageUsers', false)
      const rows = await usersWithFields(ctx.services, ctx.userFields)
      return jsonResponse({
        users: rows.map(({ user: u, fields }) => ({
          username: u.username,
          firstName: u.firstName ?? null,
          lastName: u.lastName ?? null,
          email: u.email ?? null,
          roles: u.roles,
          ...fields,
        })),
      })
    },
    { json: true },
  )
}

/** A plugin's route, answered as JSON when it throws, with the administration check at hand. */
export function pluginRoute(ctx: HttpContext, spec: RouteSpec): Handler {
  const services: RouteServices = {
    ...ctx.services,
    requireAdmin: (event, options) => requireAdmin(ctx, event, options.changes),
    requirePermission: (event, permission, options) => requirePermission(ctx, event, permission, options.changes),
    requireUser: (event, options) => requireUser(ctx, event, options.changes),
    render: (template, data, options = {}) =>
      page(ctx, template, data, {
        status: options.status ?? 200,
        ...(options.scripts ? { headers: { 'content-security-policy': SCRIPT_PAGE_CSP } } : {}),
      }),
  }
  return guarded(ctx, spec.path.split('/')[1] ?? 'plugin', (event) => spec.handler(event, services), {
    json: spec.answers !== 'page',
  })
}

/** The policy of a plugin's page that runs a script: scripts and requests to OTPKI's own origin only. */
export const SCRIPT_PAGE_CSP =
  "default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

/** The signed-in caller, by any method; a session-authenticated change must come from OTPKI's own origin. */
export async function requireUser(ctx: HttpContext, event: H3Event, changes: boolean): Promise<Principal> {
  const found = await authenticate(ctx, event)
  if (!found) throw new OtpkiError('SESSION_INVALID', 'no credentials', { publicMessage: 'Sign in first.' })
  if (changes && found.session) refuseCrossSite(ctx, event)
  return found.principal
}

/** A time in a query: ISO 8601 or epoch milliseconds. */
function queryTime(value: string | null, name: string): number | undefined {
  if (value === null || value === '') return undefined
  const ms = /^\d+$/.test(value) ? Number(value) : Date.parse(value)
  if (!Number.isFinite(ms))
    throw new OtpkiError('REQUEST_INVALID', `${name} is not a time: ${value.slice(0, 40)}`, {
      publicMessage: `${name} must be an ISO 8601 time or epoch milliseconds.`,
    })
  return ms
}

function queryInt(value: string | null, name: string, max: number): number | undefined {
  if (value === null || value === '') return undefined
  const n = Number(value)
  if (!Number.isInteger(n) || n < 1 || n > max)
    throw new OtpkiError('REQUEST_INVALID', `${name} out of range: ${value.slice(0, 40)}`, {
      publicMessage: `${name} must be a whole number from 1 to ${max}.`,
    })
  return n
}

/** Reads the audit filter from a query string (the JSON route and the console page). */
export function auditFilter(query: URLSearchParams): AuditFilter {
  const outcome = query.get('outcome') || undefined
  if (outcome !== undefined && outcome !== 'success' && outcome !== 'failure')
    throw new OtpkiError('REQUEST_INVALID', 'bad outcome', { publicMessage: 'outcome must be success or failure.' })
  const kind = query.get('kind') || undefined
  if (kind !== undefined && !(AUDIT_KINDS as readonly string[]).includes(kind))
    throw new OtpkiError('REQUEST_INVALID', 'bad kind', {
      publicMessage: `kind must be one of ${AUDIT_KINDS.join(', ')}.`,
    })
  return {
    user: query.get('user') || undefined,
    provider: query.get('provider') || undefined,
    outcome,
    kind: kind as AuditKind | undefined,
    since: queryTime(query.get('since'), 'since'),
    until: queryTime(query.get('until'), 'until'),
    before: queryInt(query.get('before'), 'before', Number.MAX_SAFE_INTEGER),
    limit: queryInt(query.get('limit'), 'limit', 1000),
  }
}

/** `GET /admin/audit`: audit events, newest first (permission readAudit). */
export function listAudit(ctx: HttpContext): Handler {
  return guarded(
    ctx,
    'admin',
    async (event) => {
      await requirePermission(ctx, event, 'readAudit', false)
      const events = await ctx.audit.query(auditFilter(event.url.searchParams))
      return jsonResponse({ events: events.map((e) => ({ ...e, at: new Date(e.at).toISOString() })) })
    },
    { json: true },
  )
}

/** `GET /admin/sessions`: active sessions, most recently used first (permission manageSessions). */
export function listSessions(ctx: HttpContext): Handler {
  return guarded(
    ctx,
    'admin',
    async (event) => {
      await requirePermission(ctx, event, 'manageSessions', false)
      const limit = queryInt(event.url.searchParams.get('limit'), 'limit', 1000)
      const sessions = await ctx.sessions.list({ limit: limit ?? 100 })
      return jsonResponse({
        sessions: sessions.map((s) => ({
          id: s.idHash,
          username: s.username,
          method: s.method,
          provider: s.provider,
          createdAt: new Date(s.createdAt).toISOString(),
          lastSeenAt: new Date(s.lastSeenAt).toISOString(),
          expiresAt: new Date(s.expiresAt).toISOString(),
        })),
      })
    },
    { json: true },
  )
}
