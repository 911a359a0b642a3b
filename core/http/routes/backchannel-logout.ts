import { decodeJwt } from 'jose'
import { isOtpkiError } from '../../errors.ts'
import { errorHeaders, type Handler, type HttpContext } from '../http-context.ts'
import { jsonResponse } from '../respond.ts'
import { readForm } from '../body.ts'

/**
 * `POST /auth/backchannel-logout` (OIDC Back-Channel Logout 1.0): a logout
 * token from a provider with `backchannelLogout`, verified like an ID token
 * (section 2.6), ends that provider's matching sessions: by (issuer, sid) or
 * (issuer, subject). 400 on an invalid token, 200 otherwise; never cached.
 */
export function backchannelLogout(ctx: HttpContext): Handler {
  const refuse = (reason: string) => {
    ctx.logger.warn({ route: 'backchannel-logout', reason }, `back-channel logout refused: ${reason}`)
    return jsonResponse(
      { error: 'invalid_request', error_description: 'The logout token is not valid.' },
      { status: 400 },
    )
  }
  return async (event) => {
    let token: string | null
    try {
      token = (await readForm(event)).get('logout_token')
    } catch (error) {
      if (isOtpkiError(error, 'BODY_TOO_LARGE')) {
        ctx.logger.warn({ route: 'backchannel-logout' }, 'back-channel logout refused: body too large')
        return jsonResponse(
          { error: 'invalid_request', error_description: 'Request too large.' },
          { status: 413, headers: errorHeaders(error) },
        )
      }
      return refuse('not a form post')
    }
    if (!token) return refuse('no logout_token')
    let issuer: string | undefined
    try {
      issuer = decodeJwt(token).iss
    } catch {
      return refuse('logout_token is not a JWT')
    }
    // The token's issuer picks the provider; its keys then verify the token, so A can never end B's sessions.
    const entry = ctx.registry.list().find((e) => e.definition.issuer === issuer && e.definition.enabled)
    if (!entry?.definition.backchannelLogout || !entry.method.verifyLogoutToken)
      return refuse(`no provider with backchannelLogout for issuer ${String(issuer).slice(0, 200)}`)
    try {
      const subject = await entry.method.verifyLogoutToken(await entry.context(), entry.definition, token)
      if (!(await ctx.sessions.useLogoutToken(entry.definition.issuer, subject.jti, subject.expiresAt))) {
        return refuse(`${entry.definition.name}: the logout token ${subject.jti.slice(0, 64)} was used before (replay)`)
      }
      const ended = await ctx.sessions.endByLogout(entry.definition.issuer, subject)
      ctx.logger.info(
        { provider: entry.definition.name, sid: subject.sid, sub: subject.sub, ended },
        'back-channel logout',
      )
      return jsonResponse({}, { status: 200 })
    } catch (error) {
      return refuse(`${entry.definition.name}: ${(error as Error).message}`)
    }
  }
}
