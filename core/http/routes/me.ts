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
    const id = sessionCookie(ctx, event)
    const hit = ctx.sessions.peek(id)
    return hit ? answer(hit) : ctx.sessions.lookup(id).then(answer)
  }, { json: true })
}
