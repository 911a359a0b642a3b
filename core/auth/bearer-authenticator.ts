import { createHash } from 'node:crypto'
import { LRUCache } from 'lru-cache'
import { decodeJwt } from 'jose'
import type { Clock } from '../clock.ts'
import type { ProviderEntry, ProviderRegistry } from '../config/provider-registry.ts'
import { OtpkiError } from '../errors.ts'
import type { Logger } from '../logger.ts'
import type { Principal } from '../sessions/session-service.ts'
import type { SignInService } from '../sign-in-service.ts'

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
 * token's expiry. The principal is the user the identity maps to, as at sign-in.
 */
export class BearerAuthenticator {
  private readonly cache = new LRUCache<string, { principal: Principal; until: number }>({ max: 10_000 })

  constructor(
    private readonly registry: ProviderRegistry,
    private readonly signIn: SignInService,
    private readonly clock: Clock,
    private readonly logger: Logger,
  ) {}

  async authenticate(token: string): Promise<Principal> {
    if (token.length === 0 || token.length > 8192) throw unauthorized('empty or oversized token')
    const key = createHash('sha256').update(token).digest('base64url')
    const hit = this.cache.get(key)
    const now = this.clock.now()
    if (hit && now < hit.until) return hit.principal
    const entry = this.providerFor(token)
    let verified: Awaited<ReturnType<NonNullable<ProviderEntry['method']['verifyAccessToken']>>>
    try {
      verified = await entry.method.verifyAccessToken!(await entry.context(), entry.definition, token)
    } catch (cause) {
      if (cause instanceof OtpkiError && cause.code === 'PROVIDER_UNAVAILABLE') throw cause
      throw unauthorized(`token refused by ${entry.definition.name}: ${(cause as Error).message}`, cause)
    }
    if (!verified || verified.expiresAt <= now) throw unauthorized(`token not accepted by ${entry.definition.name}`)
    const { definition } = entry
    const subject = String(verified.claims.sub)
    const user =
      (await this.signIn.findUser(definition.issuer, subject)) ??
      (
        await this.signIn.resolveUser(definition, {
          claims: verified.claims,
          idTokenClaims: undefined,
          userinfo: undefined,
        })
      ).user
    const principal: Principal = {
      user: {
        id: user.id,
        username: user.username,
        firstName: user.firstName ?? null,
        lastName: user.lastName ?? null,
        email: user.email ?? null,
        roles: user.roles,
      },
      method: 'bearer',
      provider: definition.name,
    }
    this.cache.set(key, {
      principal,
      until: Math.min(verified.expiresAt, verified.reuseUntil ?? Number.POSITIVE_INFINITY, now + CACHE_MS),
    })
    this.logger.debug({ provider: definition.name, user: user.username }, 'bearer token accepted')
    return principal
  }

  /** Drops cached principals of a provider that was removed, disabled or changed its issuer. */
  invalidateProvider(name: string): void {
    for (const [key, value] of this.cache.entries()) if (value.principal.provider === name) this.cache.delete(key)
  }

  /** Drops cached principals of a user whose data changed. */
  invalidateUser(userId: number): void {
    for (const [key, value] of this.cache.entries()) if (value.principal.user.id === userId) this.cache.delete(key)
  }

  private providerFor(token: string): ProviderEntry {
    const usable = this.registry
      .list()
      .filter((e) => e.definition.enabled && !e.definition.accountLinkingOnly && e.method.verifyAccessToken)
    let issuer: string | undefined
    try {
      issuer = decodeJwt(token).iss
    } catch {
      issuer = undefined
    }
    if (issuer !== undefined) {
      const entry = usable.find((e) => e.definition.issuer === issuer)
      if (!entry) throw unauthorized('a token from an issuer that is not a configured provider')
      return entry
    }
    const introspecting = usable.find((e) => e.definition.introspectTokens)
    if (!introspecting) throw unauthorized('an opaque token, and no provider introspects tokens')
    return introspecting
  }
}
