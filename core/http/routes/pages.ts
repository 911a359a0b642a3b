import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { getQuery } from 'h3'
import { BUILTIN_TEMPLATES } from '../../render/renderer.ts'
import { IdentitySchema } from '../../store/entities.ts'
import { guarded, page, sessionCookie, type Handler, type HttpContext } from '../http-context.ts'
import { redirectResponse, textResponse } from '../respond.ts'
import { renderSignIn } from './sign-in.ts'

/** `GET /`: who is signed in, with a Sign out button; else to the sign-in page. */
export function home(ctx: HttpContext): Handler {
  return guarded(ctx, 'home', async (event) => {
    const session = await ctx.sessions.lookup(sessionCookie(ctx, event))
    if (!session) return redirectResponse('/auth/sign-in')
    const displayName = (name: string) => ctx.registry.get(name)?.definition.displayName ?? name
    const identities = await ctx.orm.em
      .fork()
      .find(IdentitySchema, { user: session.principal.user.id }, { orderBy: { createdAt: 'asc' } })
    const linked = new Set(identities.map((i) => i.provider))
    // A method with a button of its own (a passkey) adds its credentials on a page of its own.
    const linkable = ctx.registry
      .list()
      .filter((e) => e.definition.enabled && !e.method.ownButton && !linked.has(e.definition.name))
    const justLinked = getQuery<{ linked?: string }>(event).linked
    const user = await ctx.services.users.findById(session.principal.user.id)
    const accountLinks = user
      ? await Promise.all(
          ctx.accountLinks
            .filter((l) => l.shown?.(user) ?? true)
            .map(async (l) => ({ label: l.label, path: l.path, note: await l.note?.(user, ctx.services) })),
        )
      : []
    return page(ctx, 'signed-in', {
      accountLinks,
      user: session.principal.user,
      provider: session.principal.provider ? displayName(session.principal.provider) : undefined,
      expiresAt: new Date(session.expiresAt).toISOString(),
      limits: sessionLimits(session, ctx.clock.now()),
      csrfToken: ctx.csrf.token(session.idHash, 'sign-out'),
      identities: identities.map((i) => ({ provider: displayName(i.provider), subject: i.subject })),
      linkable: linkable.map((e) => ({ name: e.definition.name, displayName: e.definition.displayName })),
      linkCsrfToken: ctx.csrf.token(session.idHash, 'link'),
      notice:
        justLinked && linked.has(justLinked) ? `Your ${displayName(justLinked)} account is now linked.` : undefined,
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

/** `GET /auth/static/provider-form.js`: the provider form's live check (the only script OTPKI serves). */
export function providerFormScript(ctx: HttpContext): Handler {
  const builtin = readFileSync(join(BUILTIN_TEMPLATES, 'static', 'provider-form.js'), 'utf8')
  return () => textResponse(ctx.renderer.asset('static/provider-form.js') ?? builtin, 'text/javascript; charset=utf-8')
}

/** A duration as people say it: "30 minutes", "10 hours", "1 hour 30 minutes", "2 days". */
export function spokenDuration(ms: number): string {
  const minutes = Math.max(1, Math.round(ms / 60_000))
  const unit = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`
  if (minutes < 60) return unit(minutes, 'minute')
  const hours = Math.floor(minutes / 60)
  const rest = minutes % 60
  if (hours < 48) return rest === 0 ? unit(hours, 'hour') : `${unit(hours, 'hour')} ${unit(rest, 'minute')}`
  return unit(Math.round(hours / 24), 'day')
}

/** A time in UTC to the minute, for a page (the exact instant goes in the `datetime` attribute). */
const utc = (ms: number) => `${new Date(ms).toISOString().replace('T', ' ').slice(0, 16)} UTC`

/** The session's idle and absolute limits, said plainly. */
function sessionLimits(session: { maxInactiveMs: number; endsAt: number; expiresAt: number }, now: number) {
  return {
    idle: spokenDuration(session.maxInactiveMs),
    idleEndsIso: new Date(session.expiresAt).toISOString(),
    idleEnds: utc(session.expiresAt),
    absoluteIso: new Date(session.endsAt).toISOString(),
    absolute: utc(session.endsAt),
    absoluteIn: spokenDuration(session.endsAt - now),
  }
}
