import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { getQuery } from 'h3'
import { BUILTIN_TEMPLATES } from '../../render/renderer.ts'
import { guarded, page, sessionCookie, type Handler, type HttpContext } from '../http-context.ts'
import { redirectResponse, textResponse } from '../respond.ts'
import { renderSignIn } from './sign-in.ts'

/** `GET /`: who is signed in, with a Sign out button; else to the sign-in page. */
export function home(ctx: HttpContext): Handler {
  return guarded(ctx, 'home', async (event) => {
    const session = await ctx.sessions.lookup(sessionCookie(ctx, event))
    if (!session) return redirectResponse('/auth/sign-in')
    const provider = session.principal.provider ? ctx.registry.get(session.principal.provider)?.definition.displayName : undefined
    return page(ctx, 'signed-in', {
      user: session.principal.user,
      provider: provider ?? session.principal.provider,
      expiresAt: new Date(session.expiresAt).toISOString(),
      csrfToken: ctx.csrf.token(session.idHash, 'sign-out'),
    })
  })
}

/** `GET /auth/signed-out`: the sign-in page, saying the user signed out. */
export function signedOut(ctx: HttpContext): Handler {
  return guarded(ctx, 'signed-out', (event) => {
    const kept = getQuery<{ provider?: string }>(event).provider === 'kept'
    const notice = kept
      ? 'You are signed out of OTPKI. Your identity provider offers no sign-out, so your session there may still be active.'
      : 'You are signed out.'
    return renderSignIn(ctx, event, { returnTo: '/', notice })
  })
}

/** `GET /auth/static/style.css` */
export function stylesheet(ctx: HttpContext): Handler {
  const builtin = readFileSync(join(BUILTIN_TEMPLATES, 'static', 'style.css'), 'utf8')
  return () => textResponse(ctx.renderer.asset('static/style.css') ?? builtin, 'text/css; charset=utf-8')
}
