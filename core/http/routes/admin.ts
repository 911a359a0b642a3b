import type { H3Event } from 'h3'
import type { PluginServices, RouteServices, RouteSpec } from '../../contracts/plugin.ts'
import { OtpkiError } from '../../errors.ts'
import type { Principal } from '../../sessions/session-service.ts'
import { authenticate } from '../authenticate.ts'
import { guarded, type Handler, type HttpContext } from '../http-context.ts'
import { jsonResponse } from '../respond.ts'

/**
 * The administration routes: only for principals holding one of `adminRoles`
 * (any sign-in method). A session-authenticated change must come from OTPKI's
 * own origin with a JSON body, so a cross-site form cannot make it.
 */
export async function requireAdmin(ctx: HttpContext, event: H3Event, changes: boolean): Promise<Principal> {
  const found = await authenticate(ctx, event)
  if (!found)
    throw new OtpkiError('SESSION_INVALID', 'administration without credentials', { publicMessage: 'Sign in first.' })
  if (!found.principal.user.roles.some((r) => ctx.adminRoles.includes(r))) {
    throw new OtpkiError('FORBIDDEN', `${found.principal.user.username} is not an administrator`, {
      publicMessage: 'Only administrators may do this.',
    })
  }
  if (changes && found.session) {
    const origin = event.req.headers.get('origin')
    if (origin !== null && origin !== new URL(ctx.publicUrl).origin) {
      throw new OtpkiError('CSRF_INVALID', `cross-origin administration from ${origin.slice(0, 100)}`, {
        publicMessage: 'Cross-site requests are refused.',
      })
    }
  }
  return found.principal
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
      await requireAdmin(ctx, event, false)
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
  }
  return guarded(ctx, spec.path.split('/')[1] ?? 'plugin', (event) => spec.handler(event, services), { json: true })
}
