import { decodeJwt } from 'jose'
import { LRUCache } from 'lru-cache'
import {
  isOtpkiError,
  readClaim,
  OtpkiError,
  type PluginServices,
  type ProviderEntry,
  type RequestAuthenticator,
  type RequestPrincipal,
} from '../../core/index.ts'

/** How long a positive result is reused at most (never past the token's expiry). */
const CACHE_MS = 60_000

function unauthorized(reason: string, cause?: unknown): OtpkiError {
  return new OtpkiError('TOKEN_INVALID', reason, { publicMessage: 'The bearer token is not valid.', cause })
}

/**
 * Authenticates `Authorization: Bearer` access tokens. A JWT goes to the
 * provider whose issuer it names and is verified with that provider's keys;
 * an opaque token is introspected only at the one provider configured to,
 * never sent elsewhere. Positive results are cached, bounded, never past the
 * token's expiry, and dropped when their user changes or their provider is
 * revoked. The principal is the user the identity maps to, as at sign-in.
 */
export function bearerAuthenticator(services: PluginServices): RequestAuthenticator {
  const { providers, identities, clock, logger } = services
  // Keyed by the token itself (process memory only, like the request), bounded by count and by the tokens' total size.
  const cache = new LRUCache<string, { principal: RequestPrincipal; until: number }>({
    max: 10_000,
    maxSize: 16 << 20,
    sizeCalculation: (_value, token) => token.length,
  })
  services.users.onChange((userId) => {
    for (const [key, value] of cache.entries())
      if (userId === undefined || value.principal.user.id === userId) cache.delete(key)
  })
  providers.onRevoked((name) => {
    for (const [key, value] of cache.entries()) if (value.principal.provider === name) cache.delete(key)
  })

  const providerFor = (token: string): ProviderEntry => {
    const usable = providers
      .list()
      .filter((e) => e.definition.enabled && !e.definition.accountLinkingOnly && e.method.verifyAccessToken)
    let issuer: string | undefined
    try {
      issuer = decodeJwt(token).iss
    } catch {
      issuer = undefined
    }
    if (issuer !== undefined) {
      const entry = usable.find((e) => e.definition.issuer === issuer || tenantOf(e, issuer))
      if (!entry) throw unauthorized('a token from an issuer that is not a configured provider')
      return entry
    }
    const introspecting = usable.find((e) => e.definition.options.introspectTokens)
    if (!introspecting) throw unauthorized('an opaque token, and no provider introspects tokens')
    return introspecting
  }

  /** A cached answer for a token, if one is still good. */
  const cached = (token: string): RequestPrincipal | undefined => {
    const hit = cache.get(token)
    return hit && clock.now() < hit.until ? hit.principal : undefined
  }

  const verify = async (token: string): Promise<RequestPrincipal> => {
    const now = clock.now()
    const entry = providerFor(token)
    let verified: Awaited<ReturnType<NonNullable<ProviderEntry['method']['verifyAccessToken']>>>
    try {
      verified = await entry.method.verifyAccessToken!(await entry.context(), entry.definition, token)
    } catch (cause) {
      if (isOtpkiError(cause, 'PROVIDER_UNAVAILABLE')) throw cause
      throw unauthorized(`token refused by ${entry.definition.name}: ${(cause as Error).message}`, cause)
    }
    if (!verified || verified.expiresAt <= now) throw unauthorized(`token not accepted by ${entry.definition.name}`)
    const { definition } = entry
    const user =
      (await identities.find(
        verified.issuer ?? definition.issuer,
        String(readClaim(verified.claims, definition.claims.subject) ?? ''),
      )) ??
      (await identities.resolve(definition, {
        claims: verified.claims,
        idTokenClaims: undefined,
        userinfo: undefined,
        issuer: verified.issuer,
      }))
    if (user.disabled) throw unauthorized(`user ${user.username} is disabled`)
    const principal: RequestPrincipal = { user, method: 'bearer', provider: definition.name }
    cache.set(token, {
      principal,
      until: Math.min(verified.expiresAt, verified.reuseUntil ?? Number.POSITIVE_INFINITY, now + CACHE_MS),
    })
    logger.debug({ provider: definition.name, user: user.username }, 'bearer token accepted')
    return principal
  }

  return {
    name: 'bearer',
    carries: ({ headers }) => headers.has('authorization'),
    authenticate(request) {
      const authorization = request.headers.get('authorization')
      if (authorization === null) return undefined
      const match = /^Bearer ([\x21-\x7e]+)$/i.exec(authorization)
      if (!match) {
        throw new OtpkiError('TOKEN_INVALID', 'Authorization header is not Bearer and a token', {
          publicMessage: 'The Authorization header must be Bearer and a token.',
        })
      }
      const token = match[1]!
      if (token.length > 8192) throw unauthorized('oversized token')
      return cached(token) ?? verify(token).catch(asRefusal)
    },
  }
}

/** Whether a multi-tenant Entra ID provider allows the tenant whose issuer this is (its method checks the rest). */
function tenantOf(entry: ProviderEntry, issuer: string): boolean {
  const tenants = entry.definition.options.tenants
  return Array.isArray(tenants) && tenants.some((t) => issuer === `https://login.microsoftonline.com/${t}/v2.0`)
}

/** Whatever refused the token (its claims, user sync), the caller learns only that it is not valid. */
function asRefusal(error: unknown): never {
  if (isOtpkiError(error) && error.code !== 'PROVIDER_UNAVAILABLE' && error.code !== 'TOKEN_INVALID') {
    throw new OtpkiError('TOKEN_INVALID', error.message, { cause: error })
  }
  throw error
}
