import { jsonResponse, OtpkiError, type RouteSpec } from '../../core/index.ts'

/** Refresh this long before the access token expires. */
const REFRESH_MARGIN_MS = 30_000

/**
 * `GET /auth/tokens`: the signed-in user's stored provider tokens (storeTokens),
 * refreshed with the refresh token when expired; 403 unless the provider has
 * storedTokensReadable.
 */
export const tokensRoute: RouteSpec = {
  method: 'GET',
  path: '/auth/tokens',
  async handler(event, { sessions, providers, clock }) {
    const session = await sessions.lookup(event)
    if (!session) throw new OtpkiError('SESSION_INVALID', 'no session', { publicMessage: 'No valid session.' })
    const entry = session.principal.provider ? providers.get(session.principal.provider) : undefined
    if (!entry?.definition.options.storedTokensReadable) {
      throw new OtpkiError('FORBIDDEN', 'stored tokens are not readable for this provider', {
        publicMessage: 'Stored tokens are not readable for this sign-in.',
      })
    }
    let stored = await sessions.storedTokens(session.idHash)
    if (!stored) {
      throw new OtpkiError('NOT_FOUND', 'no tokens stored for this session', {
        publicMessage: 'No tokens are stored for this session.',
      })
    }
    const expired = stored.expiresAt !== undefined && stored.expiresAt - REFRESH_MARGIN_MS <= clock.now()
    if (expired && stored.refreshToken && entry.method.refresh) {
      const fresh = await entry.method.refresh(await entry.context(), entry.definition, stored.refreshToken)
      stored = {
        ...stored,
        ...fresh,
        refreshToken: fresh.refreshToken ?? stored.refreshToken,
        idToken: fresh.idToken ?? stored.idToken,
      }
      await sessions.replaceTokens(session.idHash, stored)
    }
    return jsonResponse({
      tokenType: 'Bearer',
      accessToken: stored.accessToken,
      expiresAt: stored.expiresAt !== undefined ? new Date(stored.expiresAt).toISOString() : null,
      refreshToken: stored.refreshToken ?? null,
      idToken: stored.idToken ?? null,
      scope: stored.scope ?? null,
    })
  },
}
