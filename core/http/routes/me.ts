import { isOtpkiError } from '../../errors.ts'
import type { ActiveSession, Principal } from '../../sessions/session-service.ts'
import { authenticate } from '../authenticate.ts'
import { guarded, type Handler, type HttpContext } from '../http-context.ts'
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
      // Whatever every cache on the way can answer is answered without a promise.
      let found: ReturnType<typeof authenticate>
      try {
        found = authenticate(ctx, event)
      } catch (error) {
        return refused(ctx, error)
      }
      if (!(found instanceof Promise)) return answer(found?.principal, found?.session)
      return found.then(
        (authenticated) => answer(authenticated?.principal, authenticated?.session),
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
