import { decodeJwt } from 'jose'
import { isOtpkiError, jsonResponse, readForm, type RouteSpec } from '../../core/index.ts'

/**
 * `POST /auth/backchannel-logout` (OIDC Back-Channel Logout 1.0): a logout
 * token from a provider with `backchannelLogout`, verified like an ID token
 * (section 2.6), ends that provider's matching sessions: by (issuer, sid) or
 * (issuer, subject). Each token is used once. 400 on an invalid token, 200
 * otherwise; never cached.
 */
export const backchannelLogoutRoute: RouteSpec = {
  method: 'POST',
  path: '/auth/backchannel-logout',
  async handler(event, { providers, sessions, logger }) {
    const refuse = (reason: string) => {
      logger.warn({ route: 'backchannel-logout', reason }, `back-channel logout refused: ${reason}`)
      return jsonResponse(
        { error: 'invalid_request', error_description: 'The logout token is not valid.' },
        { status: 400 },
      )
    }
    let token: string | null
    try {
      token = (await readForm(event)).get('logout_token')
    } catch (error) {
      if (isOtpkiError(error, 'BODY_TOO_LARGE')) throw error
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
    const entry = providers.list().find((e) => e.definition.issuer === issuer && e.definition.enabled)
    if (!entry?.definition.options.backchannelLogout || !entry.method.verifyLogoutToken)
      return refuse(`no provider with backchannelLogout for issuer ${String(issuer).slice(0, 200)}`)
    try {
      const subject = await entry.method.verifyLogoutToken(await entry.context(), entry.definition, token)
      if (!(await sessions.useOnce(entry.definition.issuer, subject.jti, subject.expiresAt))) {
        return refuse(`${entry.definition.name}: the logout token ${subject.jti.slice(0, 64)} was used before (replay)`)
      }
      const ended = await sessions.endByLogout(entry.definition.issuer, subject)
      logger.info({ provider: entry.definition.name, sid: subject.sid, sub: subject.sub, ended }, 'back-channel logout')
      return jsonResponse({}, { status: 200 })
    } catch (error) {
      return refuse(`${entry.definition.name}: ${(error as Error).message}`)
    }
  },
}
