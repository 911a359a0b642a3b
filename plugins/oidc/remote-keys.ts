import { createLocalJWKSet, errors, type FlattenedJWSInput, type JSONWebKeySet, type JWTHeaderParameters } from 'jose'
import type { Clock } from '../../core/index.ts'

type KeyResolver = ReturnType<typeof createLocalJWKSet>

/**
 * A provider's JWKS, cached. A token whose `kid` is unknown causes one
 * refetch, at most once per cooldown however many such tokens arrive (so a
 * flood of random `kid`s is not a flood of fetches); concurrent misses share
 * one fetch. The keys are also refetched after `maxAgeMs`.
 */
export class RemoteKeys {
  private keys: KeyResolver | undefined
  private fetchedAt = Number.NEGATIVE_INFINITY
  private inflight: Promise<void> | undefined
  /** How many times the JWKS was fetched (for logs and tests). */
  fetches = 0
  /** How many fetches failed. */
  fetchErrors = 0

  constructor(
    private readonly url: string,
    private readonly fetchImpl: typeof fetch,
    private readonly clock: Clock,
    private readonly options: { cooldownMs: number; maxAgeMs: number },
  ) {}

  /** Fetches the JWKS now; throws when it cannot be fetched or is not a JWKS. */
  load(): Promise<void> {
    this.inflight ??= this.fetchKeys()
      .catch((error: unknown) => {
        this.fetchErrors += 1
        throw error
      })
      .finally(() => {
        this.inflight = undefined
      })
    return this.inflight
  }

  /** The key for a token header, as jose's jwtVerify wants it. */
  readonly resolve = async (header: JWTHeaderParameters, token: FlattenedJWSInput) => {
    const now = this.clock.now()
    if (!this.keys || now - this.fetchedAt >= this.options.maxAgeMs) await this.load()
    try {
      return await this.keys!(header, token)
    } catch (error) {
      if (!(error instanceof errors.JWKSNoMatchingKey) || this.clock.now() - this.fetchedAt < this.options.cooldownMs)
        throw error
      await this.load()
      return this.keys!(header, token)
    }
  }

  private async fetchKeys(): Promise<void> {
    const response = await this.fetchImpl(this.url, { headers: { accept: 'application/json' } })
    if (!response.ok) throw new Error(`JWKS ${this.url} answered ${response.status}`)
    const body = (await response.json()) as JSONWebKeySet
    if (!body || !Array.isArray(body.keys)) throw new Error(`JWKS ${this.url} is not a JSON Web Key Set`)
    this.keys = createLocalJWKSet(body)
    this.fetchedAt = this.clock.now()
    this.fetches += 1
  }
}
