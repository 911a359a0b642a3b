import { OtpkiError } from '../../errors.ts'
import { guarded, sessionCookie, type Handler, type HttpContext } from '../http-context.ts'
import { redirectResponse } from '../respond.ts'
import { readForm } from '../body.ts'

/**
 * `POST /auth/sign-out` (form: csrf): ends the local session for good, then
 * sends the browser to the provider's end-session endpoint, or back to the
 * sign-in page saying the provider session may still be active.
 */
export function signOut(ctx: HttpContext): Handler {
  return guarded(ctx, 'sign-out', async (event) => {
    const form = await readForm(event)
    const id = sessionCookie(ctx, event)
    const session = await ctx.sessions.lookup(id)
    const clear = ctx.cookies.clear(ctx.cookies.session)
    if (!session || !id) return redirectResponse('/auth/sign-in', { cookies: [clear] })
    if (!ctx.csrf.verify(form.get('csrf'), session.idHash, 'sign-out')) {
      throw new OtpkiError('CSRF_INVALID', 'sign-out without a valid CSRF token', {
        publicMessage: 'This sign-out form has expired. Please reload the page and try again.',
      })
    }
    const ended = await ctx.sessions.revoke(id)
    ctx.audit.record({
      kind: 'sign-out',
      outcome: 'success',
      username: session.principal.user.username,
      provider: ended?.provider ?? undefined,
      method: session.principal.method,
    })
    const entry = ended?.provider ? ctx.registry.get(ended.provider) : undefined
    if (entry?.method.signOutByServer) {
      // The provider's session ends by a request of OTPKI's own; the browser stays here.
      try {
        if (await entry.method.signOutByServer(await entry.context(), entry.definition, ended?.idToken))
          return redirectResponse('/auth/signed-out', { cookies: [clear] })
      } catch (error) {
        const reason = error instanceof Error ? error.message : String(error)
        ctx.logger.warn(
          { provider: entry.definition.name, user: session.principal.user.username, reason },
          `sign-out at provider ${entry.definition.name} failed: ${reason}`,
        )
        ctx.audit.record({
          kind: 'sign-out',
          outcome: 'failure',
          reason: 'provider-sign-out-failed',
          username: session.principal.user.username,
          provider: entry.definition.name,
          method: session.principal.method,
          detail: { error: reason },
        })
        return redirectResponse('/auth/signed-out?provider=kept', { cookies: [clear] })
      }
    }
    if (entry?.method.signOutUrl) {
      try {
        const url = entry.method.signOutUrl(await entry.context(), entry.definition, ended?.idToken)
        if (url) return redirectResponse(url.href, { cookies: [clear] })
      } catch (error) {
        ctx.logger.warn({ provider: entry.definition.name, err: error }, 'provider sign-out unavailable')
      }
    }
    return redirectResponse('/auth/signed-out?provider=kept', { cookies: [clear] })
  })
}
