import type { H3Event } from 'h3'
import { readJsonObject } from '../body.ts'
import { OtpkiError } from '../../errors.ts'
import { authenticate } from '../authenticate.ts'
import { guarded, type Handler, type HttpContext } from '../http-context.ts'
import { jsonResponse } from '../respond.ts'

/**
 * The administration routes: only for principals holding one of `adminRoles`
 * (any sign-in method). A session-authenticated change must come from OTPKI's
 * own origin with a JSON body, so a cross-site form cannot make it.
 */
async function requireAdmin(ctx: HttpContext, event: H3Event, changes: boolean): Promise<void> {
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
}

function username(event: H3Event): string {
  return decodeURIComponent(event.context.params?.username ?? '')
}

/** `GET /admin/users`: users with their roles and how many certificates they hold. */
export function listUsers(ctx: HttpContext): Handler {
  return guarded(
    ctx,
    'admin',
    async (event) => {
      await requireAdmin(ctx, event, false)
      const users = await ctx.users.list()
      return jsonResponse({
        users: users.map((u) => ({
          username: u.username,
          firstName: u.firstName ?? null,
          lastName: u.lastName ?? null,
          email: u.email ?? null,
          roles: u.roles,
          certificates: u.certificates,
        })),
      })
    },
    { json: true },
  )
}

/** `GET /admin/users/:username/certificates` */
export function listCertificates(ctx: HttpContext): Handler {
  return guarded(
    ctx,
    'admin',
    async (event) => {
      await requireAdmin(ctx, event, false)
      return jsonResponse({ certificates: await ctx.users.certificates(username(event)) })
    },
    { json: true },
  )
}

/** `POST /admin/users/:username/certificates` with `{ "pem": "-----BEGIN CERTIFICATE-----..." }` */
export function attachCertificate(ctx: HttpContext): Handler {
  return guarded(
    ctx,
    'admin',
    async (event) => {
      await requireAdmin(ctx, event, true)
      const body = await readJsonObject(event)
      if (typeof body.pem !== 'string' || body.pem.length > 65_536)
        throw new OtpkiError('REQUEST_INVALID', 'no pem', { publicMessage: 'Send JSON: { "pem": "..." }.' })
      const certificate = await ctx.users.attach(username(event), body.pem)
      ctx.logger.info({ user: username(event), fingerprint: certificate.fingerprint }, 'certificate attached')
      return jsonResponse({ certificate }, { status: 201 })
    },
    { json: true },
  )
}

/** `DELETE /admin/users/:username/certificates/:fingerprint` */
export function detachCertificate(ctx: HttpContext): Handler {
  return guarded(
    ctx,
    'admin',
    async (event) => {
      await requireAdmin(ctx, event, true)
      await ctx.users.detach(username(event), event.context.params?.fingerprint ?? '')
      ctx.logger.info({ user: username(event), fingerprint: event.context.params?.fingerprint }, 'certificate detached')
      return jsonResponse({ detached: true })
    },
    { json: true },
  )
}
