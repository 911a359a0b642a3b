import { getCookie } from 'h3'
import { OtpkiError } from '../../errors.ts'
import { guarded, sessionCookie, type Handler, type HttpContext } from '../http-context.ts'
import { redirectResponse } from '../respond.ts'
import { SILENT_ERRORS, returnWithError } from './sign-in.ts'

/**
 * `GET /auth/callback`: consumes the browser's transaction, finishes the flow
 * at the provider the transaction went to, and starts a fresh session.
 */
export function callback(ctx: HttpContext): Handler {
  const handler: Handler = async (event) => {
    ctx.limits.callback.spend(ctx.clientAddress(event))
    const tx = await ctx.transactions.consume(getCookie(event, ctx.cookies.transaction))
    const entry = ctx.registry.get(tx.provider)
    const finish = entry?.method.callback?.bind(entry.method)
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
    // A silent sign-in the provider could not complete goes back to returnTo (when the state is ours).
    const error = event.url.searchParams.get('error')
    if (
      tx.prompt === 'none' &&
      error &&
      SILENT_ERRORS.has(error) &&
      event.url.searchParams.get('state') === tx.data.state
    ) {
      return returnWithError(ctx, tx.returnTo, error)
    }
    // The redirect URI is the configured one; only the query comes from the request.
    const callbackUrl = new URL(definition.redirectUrl)
    callbackUrl.search = event.url.search
    const result = await finish(await entry.context(), definition, callbackUrl, tx.data)
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
    const { sessionId } = await ctx.signIn.signIn(definition, result)
    return redirectResponse(tx.returnTo, { cookies: [clearTx, ctx.cookies.set(ctx.cookies.session, sessionId)] })
  }
  return guarded(ctx, 'callback', handler, { clearOnError: [ctx.cookies.transaction] })
}
