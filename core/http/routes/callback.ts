import { getCookie, type H3Event } from 'h3'
import { isOtpkiError, OtpkiError } from '../../errors.ts'
import type { StoredUser } from '../../contracts/user-sync.ts'
import { guarded, sessionCookie, type Handler, type HttpContext } from '../http-context.ts'
import { redirectResponse } from '../respond.ts'
import { readForm } from '../body.ts'
import { returnWithError } from './sign-in.ts'

/** The page a plugin requires this user to visit before going on (a required action), with where they were going. */
async function requiredPage(ctx: HttpContext, user: StoredUser, returnTo: string): Promise<string | undefined> {
  for (const link of ctx.accountLinks) {
    if (!link.required || !(link.shown?.(user) ?? true)) continue
    if (await link.required(user, ctx.services)) return `${link.path}?returnTo=${encodeURIComponent(returnTo)}`
  }
  return undefined
}

/**
 * `GET` and `POST /auth/callback`: consumes the browser's transaction, hands
 * the request (query, and form for a POST) to the method of the provider the
 * transaction went to, and starts a fresh session.
 */
export function callback(ctx: HttpContext): Handler {
  const handler: Handler = async (event) => {
    const started = performance.now()
    let provider: string | undefined
    try {
      const answer = await finishSignIn(event, (name) => {
        provider = name
      })
      ctx.metrics?.signInDuration(provider, (performance.now() - started) / 1000)
      return answer
    } catch (error) {
      // Every refused sign-in is in the audit trail with its reason; the page says why in neutral words.
      ctx.audit.record({
        kind: 'sign-in',
        outcome: 'failure',
        reason: isOtpkiError(error) ? error.code : 'INTERNAL',
        provider,
        detail: isOtpkiError(error) ? { message: error.message.slice(0, 500) } : undefined,
      })
      throw error
    }
  }
  const finishSignIn = async (event: H3Event, at: (provider: string) => void): Promise<Response> => {
    ctx.limits.callback.spend(ctx.clientAddress(event))
    const tx = await ctx.transactions.consume(getCookie(event, ctx.cookies.transaction))
    at(tx.provider)
    const entry = ctx.registry.get(tx.provider)
    const finish = entry?.method.finish?.bind(entry.method)
    if (!entry || !finish || !entry.definition.enabled || entry.definition.issuer !== tx.issuer) {
      throw new OtpkiError(
        'PROVIDER_CHANGED',
        `provider ${tx.provider} was removed, disabled or changed its issuer during the sign-in`,
        {
          publicMessage: 'The sign-in configuration changed while you were signing in. Please sign in again.',
        },
      )
    }
    const { definition } = entry
    const clearTx = ctx.cookies.clear(ctx.cookies.transaction)
    const form = event.req.method === 'POST' ? await readForm(event) : undefined
    const finished = await finish(
      await entry.context(),
      definition,
      { query: event.url.searchParams, form },
      { data: tx.data, prompt: tx.prompt },
    )
    if ('silentError' in finished) return returnWithError(ctx, tx.returnTo, finished.silentError)
    const { result } = finished
    if (tx.purpose === 'link') {
      const session = await ctx.sessions.lookup(sessionCookie(ctx, event))
      if (!session || session.principal.user.id !== tx.linkUserId) {
        throw new OtpkiError('SESSION_INVALID', 'link callback without the session that started it', {
          publicMessage: 'Your OTPKI session ended before the account could be linked. Please sign in and try again.',
        })
      }
      await ctx.signIn.link(definition, result, session.principal.user.id)
      return redirectResponse(`/?linked=${encodeURIComponent(definition.name)}`, { cookies: [clearTx] })
    }
    const { sessionId, user } = await ctx.signIn.signIn(definition, result)
    const next = (await requiredPage(ctx, user, tx.returnTo)) ?? tx.returnTo
    return redirectResponse(next, { cookies: [clearTx, ctx.cookies.set(ctx.cookies.session, sessionId)] })
  }
  return guarded(ctx, 'callback', handler, { clearOnError: [ctx.cookies.transaction] })
}
