import type { Clock } from '../clock.ts'
import type { AuthMethod, AuthMethodIO, ProviderCounters } from '../contracts/auth-method.ts'
import type { ProviderDefinition } from '../contracts/provider.ts'
import { OtpkiError } from '../errors.ts'

/** A provider in force, with its auth method and that method's prepared context. */
export interface ProviderEntry {
  readonly definition: ProviderDefinition
  readonly method: AuthMethod<unknown>
  /** The configuration generation this entry was created in. */
  readonly generation: number
  /** Current availability: `pending` until the method's initialize has run once. */
  status(): ProviderStatus
  /** The method's context, initializing (or retrying after backoff) as needed. */
  context(): Promise<unknown>
  /** What the method counts (key-set fetches), and how often preparing the provider failed. */
  counters(): ProviderCounters & { readonly failures: number }
}

export interface ProviderStatus {
  state: 'pending' | 'ready' | 'unavailable'
  error?: string
}

const MIN_RETRY_MS = 1_000
const MAX_RETRY_MS = 60_000

/**
 * A provider in force: its method's context is prepared on first use (or
 * ahead, at reload) and kept; a provider that cannot be prepared is
 * unavailable and tried again after 1 s, doubling up to a minute.
 */
export function providerEntry(
  definition: ProviderDefinition,
  method: AuthMethod<unknown>,
  generation: number,
  io: AuthMethodIO & { clock: Clock },
): ProviderEntry {
  let state: ProviderStatus = { state: 'pending' }
  let pending: Promise<unknown> | undefined
  let ready: { value: unknown } | undefined
  let failures = 0
  let failuresTotal = 0
  let retryAt = 0
  const attempt = () => {
    pending = method.initialize(definition, io).then(
      (value) => {
        ready = { value }
        failures = 0
        state = { state: 'ready' }
        io.logger.info({ issuer: definition.issuer }, 'provider ready')
        return value
      },
      (cause: unknown) => {
        failures += 1
        failuresTotal += 1
        const delay = Math.min(MAX_RETRY_MS, MIN_RETRY_MS * 2 ** (failures - 1))
        retryAt = io.clock.now() + delay
        const reason = cause instanceof Error ? cause.message : String(cause)
        state = { state: 'unavailable', error: reason }
        pending = undefined
        io.logger.warn({ issuer: definition.issuer, retryInMs: delay, reason }, 'provider unavailable')
        throw new OtpkiError('PROVIDER_UNAVAILABLE', `provider ${definition.name} is unavailable: ${reason}`, {
          publicMessage: `${definition.displayName} is not available right now. Please try again in a moment.`,
          cause,
        })
      },
    )
    pending.catch(() => undefined)
    return pending
  }
  return {
    definition,
    method,
    generation,
    status: () => state,
    counters: () => ({
      ...(ready && method.counters ? method.counters(ready.value) : {}),
      failures: failuresTotal,
    }),
    context: async () => {
      if (ready) return ready.value
      if (pending) return pending
      if (failures > 0 && io.clock.now() < retryAt) {
        throw new OtpkiError('PROVIDER_UNAVAILABLE', `provider ${definition.name} is unavailable: ${state.error}`, {
          publicMessage: `${definition.displayName} is not available right now. Please try again in a moment.`,
        })
      }
      return attempt()
    },
  }
}
