import { guarded, sessionCookie, type Handler, type HttpContext } from '../http-context.ts'
import { jsonResponse } from '../respond.ts'

/** `GET /auth/me`: the current principal as JSON, or 401 JSON. */
export function me(ctx: HttpContext): Handler {
  return guarded(ctx, 'me', async (event) => {
    const session = await ctx.sessions.lookup(sessionCookie(ctx, event))
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
  })
}
