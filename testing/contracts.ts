import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type {
  AuthMethod,
  CallbackRequest,
  FlowStep,
  ProviderDefinition,
  RequestAuthenticator,
  RequestInfo,
  UserSync,
} from '../core/index.ts'
import { envelopeFields, isOtpkiError } from '../core/index.ts'
import { systemClock } from '../core/clock.ts'
import { strategyTable, validateProvider } from '../core/config/provider-loader.ts'
import { createLogger } from '../core/logger.ts'
import { ERROR_TABLE } from '../core/http/error-table.ts'
import { OrmUserStore } from '../core/store/user-store.ts'
import { testServices, type TestServices } from './services.ts'

/** A request as a request authenticator sees it: headers (repeatable), the TCP peer, no TLS. */
export function testRequest(
  headers: readonly (readonly [string, string])[] = [],
  remoteAddress = '127.0.0.1',
): RequestInfo {
  const parsed = new Headers()
  for (const [name, value] of headers) {
    try {
      parsed.append(name, value)
    } catch {
      // A value no HTTP parser would pass on: only the raw headers hold it.
    }
  }
  return {
    headers: parsed,
    headerValues: (name) => headers.filter(([n]) => n.toLowerCase() === name.toLowerCase()).map(([, v]) => v),
    remoteAddress,
    tls: undefined,
  }
}

/**
 * The contract every request authenticator passes (the built-in bearer and
 * client-certificate ones run it too): a name; `carries` cheap and exact
 * (false for a request without its credential, true with one); no answer for a
 * request it does not carry; a malformed credential refused with a reason
 * that the edge answers 401 (never a crash, never a principal).
 */
export function requestAuthenticatorContract(
  name: string,
  setup: {
    /** Builds the authenticator over the services (a fresh in-memory database). */
    build: (services: TestServices) => RequestAuthenticator | Promise<RequestAuthenticator>
    /** Headers of a request that carries a malformed credential of this method. */
    malformed: readonly (readonly [string, string])[]
    /** Entities and migrations the authenticator needs. */
    extensions?: Parameters<typeof testServices>[0]
  },
): void {
  describe(`request authenticator contract: ${name}`, () => {
    let services: TestServices
    let authenticator: RequestAuthenticator
    beforeAll(async () => {
      services = await testServices(setup.extensions)
      authenticator = await setup.build(services)
    })
    afterAll(() => services.close())

    it('has a name', () => {
      expect(authenticator.name).toMatch(/^[a-z][a-z0-9-]*$/)
    })
    it('says cheaply whether a request carries its credential', () => {
      expect(authenticator.carries({ headers: new Headers(), tls: false })).toBe(false)
      expect(authenticator.carries({ headers: new Headers(setup.malformed as [string, string][]), tls: false })).toBe(
        true,
      )
    })
    it('answers nothing for a request without its credential', async () => {
      expect(await authenticator.authenticate(testRequest())).toBeUndefined()
    })
    it('refuses a malformed credential with a reason the edge answers 401', async () => {
      const outcome = await Promise.resolve()
        .then(() => authenticator.authenticate(testRequest(setup.malformed)))
        .then(
          (principal) => ({ principal }),
          (error: unknown) => ({ error }),
        )
      expect('error' in outcome, 'a malformed credential must be refused').toBe(true)
      const error = (outcome as { error: unknown }).error
      expect(isOtpkiError(error), String(error)).toBe(true)
      if (isOtpkiError(error)) expect(ERROR_TABLE[error.code].status).toBe(401)
    })
  })
}

/**
 * The contract every user sync passes (the default one runs it too): the
 * first sign-in of an identity creates its user; the next finds the same
 * user by (issuer, subject); another identity with a taken username is never
 * signed in as that user; without createUnknownUsers, a refusal with a code.
 */
export function userSyncContract(sync: UserSync, provider: Parameters<UserSync['sync']>[1]): void {
  describe('user sync contract', () => {
    let services: TestServices
    beforeAll(async () => {
      services = await testServices()
    })
    afterAll(() => services.close())
    const identity = (subject: string, username: string) => ({
      issuer: provider.issuer,
      subject,
      username,
      firstName: 'Ada',
      lastName: undefined,
      email: undefined,
      emailVerified: false,
      roles: undefined,
      attributes: {},
    })
    const run = (subject: string, username: string, p = provider) =>
      services
        .em()
        .transactional((em) => sync.sync(identity(subject, username), p, new OrmUserStore(em as never, services.clock)))

    it('creates the user at the first sign-in, and finds the same one by (issuer, subject) after', async () => {
      const first = await run('subject-1', 'ada')
      expect(first.username).toBe('ada')
      const again = await run('subject-1', 'ada')
      expect(again.id).toBe(first.id)
    })
    it('never signs another identity in as the user whose username it brings', async () => {
      const owner = await services.users.findByUsername('ada')
      const other = await run('subject-2', 'ada').catch((error: unknown) => error)
      if (isOtpkiError(other)) expect(['USERNAME_TAKEN', 'USER_UNKNOWN']).toContain(other.code)
      else expect((other as { id: number }).id).not.toBe(owner!.id)
    })
    it('refuses an unknown identity with a code when it may not create users', async () => {
      const refused = await run('subject-3', 'grace', { ...provider, createUnknownUsers: false }).catch(
        (error: unknown) => error,
      )
      expect(isOtpkiError(refused, 'USER_UNKNOWN'), String(refused)).toBe(true)
    })
  })
}

/**
 * The contract every flow step passes (the built-ins run it too): a name
 * usable as a type, a decision of a known kind, the same decision twice, and
 * no change to what it is given.
 */
export function flowStepContract(
  step: FlowStep,
  sample: { options?: Record<string, unknown>; input: Parameters<FlowStep['run']>[0] },
): void {
  describe(`flow step contract: ${step.name}`, () => {
    const options = sample.options ?? {}
    it('has a name usable as a type in flows: [...]', () => {
      expect(step.name).toMatch(/^[a-z][a-z0-9-]*$/)
    })
    it('decides allow, deny (with a message) or amend, the same way twice, changing nothing it is given', async () => {
      const input = structuredClone(sample.input)
      const first = await step.run(input, options)
      expect(['allow', 'deny', 'amend']).toContain(first.action)
      if (first.action === 'deny') expect(first.message).toEqual(expect.any(String))
      expect(await step.run(input, options)).toEqual(first)
      expect(input).toEqual(sample.input)
    })
  })
}

/**
 * The contract every interactive auth method passes (the built-in OIDC one
 * runs it too): a valid strategy name whose option keys are not the
 * envelope's; a provider file of the strategy validates, strictly (an unknown
 * key is refused by name); `start` then `finish` sign a user in, with claims
 * that carry a subject; a callback is finished once, only with the sign-in it
 * belongs to, and a malformed one is refused with an error code (never a crash).
 */
export function authMethodContract<C, O>(
  name: string,
  setup: {
    method: AuthMethod<C, O>
    /** The strategy's keys of a provider file that signs in (called once, after `before` if any). */
    options: () => Record<string, unknown>
    /** Starts what the method talks to (a test provider, say). */
    before?: () => Promise<void>
    after?: () => Promise<void>
    /** What the browser and the provider do: from the URL `start` gave to the callback request. */
    complete: (url: URL) => Promise<CallbackRequest>
    /** The public URL the provider is configured under. */
    publicUrl?: string
  },
): void {
  describe(`auth method contract: ${name}`, () => {
    const { method } = setup
    const io = { logger: createLogger('silent'), clock: systemClock }
    let provider: ProviderDefinition<O>
    let context: C
    const load = (extra: Record<string, unknown> = {}) =>
      validateProvider({ strategy: method.strategy, ...setup.options(), ...extra }, `/test/${name}.json`, {
        publicUrl: setup.publicUrl ?? 'https://otpki.example.test',
        sessionMaxInactive: 1800,
        sessionMaxLength: 36000,
        strategies: strategyTable([method as AuthMethod<unknown>]),
      })
    beforeAll(async () => {
      await setup.before?.()
      const result = load()
      if (!result.ok) throw new Error(result.issues.map((i) => `${i.key}: ${i.reason}`).join('; '))
      provider = result.provider as ProviderDefinition<O>
      context = await method.initialize(provider, io)
    })
    afterAll(async () => {
      if (context !== undefined) await method.dispose?.(context)
      await setup.after?.()
    })
    const signIn = async () => {
      const started = await method.start!(context, provider)
      return { pending: { data: started.data, prompt: undefined }, request: await setup.complete(started.url) }
    }
    const refusal = async (run: () => Promise<unknown>) => {
      const outcome = await run().then(
        (value) => ({ value }),
        (error: unknown) => ({ error }),
      )
      if ('value' in outcome) {
        // A silent sign-in may end in an error code for returnTo; anything else is a sign-in.
        expect(outcome.value, 'must be refused').toHaveProperty('silentError')
        return
      }
      expect(isOtpkiError(outcome.error), String(outcome.error)).toBe(true)
    }

    it('names a strategy and owns keys of its own', () => {
      expect(method.strategy).toMatch(new RegExp(envelopeFields.strategy.pattern!))
      for (const key of Object.keys(method.optionsSchema)) expect(Object.hasOwn(envelopeFields, key), key).toBe(false)
      expect(typeof method.start).toBe('function')
      expect(typeof method.finish).toBe('function')
    })
    it('validates its provider files strictly, with the envelope', () => {
      expect(provider.strategy).toBe(method.strategy)
      expect(provider.issuer).toEqual(expect.any(String))
      expect(provider.issuer).not.toBe('')
      const unknown = load({ notAnOptionOfThisStrategy: true })
      expect(unknown.ok).toBe(false)
      if (!unknown.ok) expect(unknown.issues.map((i) => i.key)).toContain('notAnOptionOfThisStrategy')
    })
    it('signs a user in: start, then finish with what start kept', async () => {
      const { pending, request } = await signIn()
      const finished = await method.finish!(context, provider, request, pending)
      expect('result' in finished).toBe(true)
      if ('result' in finished) expect(finished.result.claims.sub).toEqual(expect.any(String))
    })
    it('finishes a callback once', async () => {
      const { pending, request } = await signIn()
      await method.finish!(context, provider, request, pending)
      await refusal(() => method.finish!(context, provider, request, pending))
    })
    it('finishes a callback only with the sign-in it belongs to', async () => {
      const first = await signIn()
      const second = await signIn()
      await refusal(() => method.finish!(context, provider, first.request, second.pending))
    })
    it('refuses a malformed callback with an error code', async () => {
      const { pending } = await signIn()
      await refusal(() =>
        method.finish!(context, provider, { query: new URLSearchParams('x=%00'), form: undefined }, pending),
      )
      await refusal(() =>
        method.finish!(context, provider, { query: new URLSearchParams(), form: new URLSearchParams('a=1') }, pending),
      )
    })
  })
}
