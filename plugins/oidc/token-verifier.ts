import { createPublicKey, type KeyObject } from 'node:crypto'
import {
  jwtVerify,
  type FlattenedJWSInput,
  type JWTHeaderParameters,
  type JWTPayload,
  type JWTVerifyOptions,
} from 'jose'
import type { Clock } from '../../core/index.ts'
import type { OidcProvider } from './options.ts'
import { RemoteKeys } from './remote-keys.ts'

/** After a JWKS fetch, no other for this long: a flood of unknown `kid`s is not a flood of fetches. */
export const JWKS_COOLDOWN_MS = 30_000
/** A cached JWKS is fetched again after this long, so rotation is seen without an unknown `kid`. */
export const JWKS_MAX_AGE_MS = 10 * 60_000

const ASYMMETRIC = /^(RS|PS|ES)(256|384|512)$|^(EdDSA|Ed25519)$/

export interface TokenVerifier {
  /** Algorithms accepted for this provider's tokens (never none). */
  readonly algorithms: readonly string[]
  verify(
    jwt: string,
    options: Omit<JWTVerifyOptions, 'algorithms'>,
  ): Promise<{ payload: JWTPayload; protectedHeader: JWTHeaderParameters }>
  /** Fetches the JWKS now (at initialize: an unreachable JWKS makes the provider unavailable). */
  load(): Promise<void>
  /** The JWKS cache, when keys come from the JWKS URL. */
  readonly remote: RemoteKeys | undefined
}

/**
 * Verifies the signatures of a provider's tokens with jose: keys from the
 * JWKS URL (cached, one rate-limited refetch on an unknown kid) or the
 * configured public key; HMAC algorithms only with the client secret, never
 * with public key text; `none` never.
 */
export function tokenVerifier(
  provider: OidcProvider,
  jwksUri: string | undefined,
  metadataAlgorithms: readonly string[] | undefined,
  fetchImpl: typeof fetch,
  clock: Clock,
): TokenVerifier {
  const algorithms = (provider.options.signatureAlgorithms ?? metadataAlgorithms ?? ['RS256']).filter(
    (alg) => ASYMMETRIC.test(alg) || (alg.startsWith('HS') && provider.options.clientSecret !== undefined),
  )
  const secret = provider.options.clientSecret ? new TextEncoder().encode(provider.options.clientSecret) : undefined
  let staticKey: KeyObject | undefined
  let remote: RemoteKeys | undefined
  if (provider.options.useJwksUrl) {
    if (!jwksUri)
      throw new Error(
        'the provider publishes no jwks_uri (set endpoints.jwks, or useJwksUrl: false with validatingPublicKey)',
      )
    remote = new RemoteKeys(jwksUri, fetchImpl, clock, { cooldownMs: JWKS_COOLDOWN_MS, maxAgeMs: JWKS_MAX_AGE_MS })
  } else if (provider.options.validatingPublicKey) {
    staticKey = createPublicKey(provider.options.validatingPublicKey)
  }
  const key = async (header: JWTHeaderParameters, token: FlattenedJWSInput) => {
    if (header.alg.startsWith('HS')) {
      if (!secret) throw new Error('HMAC-signed token, but the provider has no client secret')
      return secret
    }
    if (staticKey) {
      if (
        provider.options.validatingPublicKeyId !== undefined &&
        header.kid !== provider.options.validatingPublicKeyId
      ) {
        throw new Error(`token kid ${JSON.stringify(header.kid)} is not validatingPublicKeyId`)
      }
      return staticKey
    }
    if (!remote) throw new Error('no key to verify with')
    return remote.resolve(header, token)
  }
  return {
    algorithms,
    remote,
    verify: (jwt, options) =>
      jwtVerify(jwt, key, {
        ...options,
        algorithms: [...algorithms],
        clockTolerance: options.clockTolerance ?? provider.options.clockTolerance,
        currentDate: new Date(clock.now()),
      }),
    async load() {
      await remote?.load()
    },
  }
}
