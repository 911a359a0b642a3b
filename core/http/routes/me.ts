import { isOtpkiError } from '../../errors.ts'
import type { ActiveSession, Principal } from '../../sessions/session-service.ts'
import { authenticate, carried } from '../authenticate.ts'
import { guarded, sessionCookie, type Handler, type HttpContext } from '../http-context.ts'
import { statusOf } from '../error-table.ts'
import { jsonResponse, jsonTextResponse } from '../respond.ts'

/**
 * The answer's JSON up to its `session` key, per principal: a cached session
 * keeps its principal, so the JSON of who it is is written once.
 */
const principalJsons = new WeakMap<Principal, string>()
function principalJson(principal: Principal): string {
  let json = principalJsons.get(principal)
  if (json === undefined) {
    const { user, method, provider } = principal
    const { username, firstName, lastName, email, roles } = user
    json = JSON.stringify({ user: { username, firstName, lastName, email, roles }, method, provider }).slice(0, -1)
    principalJsons.set(principal, json)
  }
  return json
}

/** `GET /auth/me`: the current principal as JSON, or 401 JSON. */
export function me(ctx: HttpContext): Handler {
  const answer = (principal: Principal | undefined, session: ActiveSession | undefined): Response => {
    if (!principal) {
      return jsonResponse(
        { error: 'unauthenticated', message: 'No valid session.' },
        { status: 401, headers: { 'www-authenticate': 'Cookie' } },
      )
    }
    const expiresAt = session ? `{"expiresAt":"${new Date(session.expiresAt).toISOString()}"}` : 'null'
    return jsonTextResponse(`${principalJson(principal)},"session":${expiresAt}}`)
  }
  return guarded(
    ctx,
    'me',
    (event) => {
      // The cache-hit path of a session: no promise, no other credential to look at.
      if (carried(ctx, event).length === 0) {
        const hit = ctx.sessions.peek(sessionCookie(ctx, event))
        if (hit) return answer(hit.principal, hit)
      }
      return authenticate(ctx, event).then(
        (found) => answer(found?.principal, found?.session),
        (error: unknown) => refused(ctx, error),
      )
    },
    { json: true },
  )
}

/** A refused credential: 401 with the reason; for bearer tokens with WWW-Authenticate. */
function refused(ctx: HttpContext, error: unknown): Response {
  if (!isOtpkiError(error) || statusOf(error) !== 401) throw error
  ctx.logger.warn({ route: 'me', code: error.code, reason: error.message }, `credential refused: ${error.message}`)
  if (error.code === 'TOKEN_INVALID') {
    const description = 'The access token is not valid.'
    return jsonResponse(
      { error: 'invalid_token', message: description },
      {
        status: 401,
        headers: { 'www-authenticate': `Bearer error="invalid_token", error_description="${description}"` },
      },
    )
  }
  return jsonResponse(
    { error: 'unauthenticated', message: error.publicMessage ?? 'Not authenticated.' },
    { status: 401 },
  )
}
