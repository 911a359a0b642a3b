import { isOtpkiError } from '../../errors.ts'
import type { ActiveSession } from '../../sessions/session-service.ts'
import { guarded, sessionCookie, type Handler, type HttpContext } from '../http-context.ts'
import { jsonResponse } from '../respond.ts'

/** `GET /auth/me`: the current principal as JSON, or 401 JSON. */
export function me(ctx: HttpContext): Handler {
  const answer = (session: ActiveSession | undefined): Response => {
    if (!session) {
      return jsonResponse({ error: 'unauthenticated', message: 'No valid session.' }, { status: 401, headers: { 'www-authenticate': 'Cookie' } })
    }
    const { user, method, provider } = session.principal
    return jsonResponse({
      user: { username: user.username, firstName: user.firstName, lastName: user.lastName, email: user.email, roles: user.roles },
      method,
      provider,
      session: { expiresAt: new Date(session.expiresAt).toISOString() },
    })
  }
  return guarded(ctx, 'me', (event) => {
    const authorization = event.req.headers.get('authorization')
    if (authorization !== null) return bearer(ctx, authorization)
    const id = sessionCookie(ctx, event)
    const hit = ctx.sessions.peek(id)
    return hit ? answer(hit) : ctx.sessions.lookup(id).then(answer)
  }, { json: true })
}

/** `/auth/me` for an API caller: the principal of a bearer access token, or 401 with WWW-Authenticate. */
async function bearer(ctx: HttpContext, authorization: string): Promise<Response> {
  const match = /^Bearer ([\x21-\x7e]+)$/i.exec(authorization)
  const challenge = (description: string) =>
    jsonResponse({ error: 'invalid_token', message: description }, { status: 401, headers: { 'www-authenticate': `Bearer error="invalid_token", error_description="${description}"` } })
  if (!match) return challenge('The Authorization header must be Bearer and a token.')
  try {
    const principal = await ctx.bearer.authenticate(match[1]!)
    const { user, method, provider } = principal
    return jsonResponse({
      user: { username: user.username, firstName: user.firstName, lastName: user.lastName, email: user.email, roles: user.roles },
      method,
      provider,
      session: null,
    })
  } catch (error) {
    if (isOtpkiError(error) && (error.code === 'TOKEN_INVALID' || error.code.startsWith('CLAIM') || error.code === 'USER_UNKNOWN' || error.code === 'USERNAME_TAKEN' || error.code === 'LINKING_ONLY')) {
      ctx.logger.warn({ route: 'me', code: error.code, reason: error.message }, `bearer token refused: ${error.message}`)
      return challenge('The access token is not valid.')
    }
    throw error
  }
}
