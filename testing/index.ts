/**
 * `otpki/testing`: run claim mappers and flow steps on sample claims without
 * a provider, a server or a database, and the contract suite every built-in
 * mapper passes.
 *
 * @example
 * ```ts
 * import { runMappers, claimMapperContract } from 'otpki/testing'
 * const identity = await runMappers([[departmentRoles, { claim: 'department' }]], { department: 'Finance' })
 * claimMapperContract(departmentRoles, { options: { claim: 'department' }, claims: { department: 'Finance' } })
 * ```
 * @module
 */
import { describe, expect, it } from 'vitest'
import { runChain, type ChainLink } from '../core/claims/chain.ts'
import { resolveOptions } from '../core/config/fields.ts'
import { strategyTable, validateProvider } from '../core/config/provider-loader.ts'
import type {
  ClaimMapper,
  Claims,
  FlowDecision,
  FlowStep,
  MappedIdentity,
  AuthMethod,
  EnvelopeInput,
  ProviderDefinition,
  StoredUser,
} from '../core/index.ts'
import { field, isOtpkiError } from '../core/index.ts'
import { defaultMapping } from '../plugins/claims/default-mapping.ts'

export const TEST_ISSUER = 'https://idp.example.test'

const testStrategyFields = { issuer: field.url({ doc: 'The issuer of the test identities.', default: TEST_ISSUER }) }

/**
 * The strategy of {@link testProvider}: it signs no one in; it only gives a
 * provider envelope to run mappers, flow steps and user sync against.
 */
const testStrategy: AuthMethod<undefined, { issuer: string }, typeof testStrategyFields> = {
  strategy: 'test',
  optionsSchema: testStrategyFields,
  issuerOf: (options) => options.issuer,
  initialize: async () => undefined,
}

/**
 * A provider as a provider file would give it (the envelope with its
 * defaults applied, issuer {@link TEST_ISSUER}); override any envelope key,
 * or `issuer`.
 */
export function testProvider(
  input: Partial<Omit<EnvelopeInput, 'strategy'>> & { issuer?: string } = {},
): ProviderDefinition {
  const result = validateProvider({ strategy: 'test', ...input }, '/test/provider.json', {
    publicUrl: 'https://otpki.example.test',
    sessionMaxInactive: 1800,
    sessionMaxLength: 36000,
    strategies: strategyTable([testStrategy]),
  })
  if (!result.ok) throw new Error(`testProvider: ${result.issues.map((i) => `${i.key}: ${i.reason}`).join('; ')}`)
  return result.provider
}

/** Claims with the `iss` and `sub` every sign-in has, plus yours. */
export function sampleClaims(claims: Record<string, unknown> = {}): Claims {
  return { iss: TEST_ISSUER, sub: 'user-1', preferred_username: 'user1', ...claims }
}

/**
 * The options as the extension's code gets them at a sign-in (validated,
 * defaults applied); throws when they do not fit its options schema, naming
 * key and reason.
 */
export function checkOptions(
  extension: { name: string; optionsSchema?: ClaimMapper['optionsSchema'] },
  options: Record<string, unknown>,
): Record<string, unknown> {
  if (!extension.optionsSchema) return options
  const { value, issues } = resolveOptions(extension.optionsSchema, options)
  if (issues.length > 0)
    throw new Error(issues.map((i) => `${extension.name}: option ${i.key}: ${i.reason}`).join('\n'))
  return value
}

/**
 * Runs the default mapping and then `mappers` on sample claims, as a sign-in
 * would: the identity, with `provenance` (which mapper set each field).
 */
export async function runMappers(
  mappers: readonly (readonly [ClaimMapper, Record<string, unknown>?])[],
  claims: Record<string, unknown>,
  provider: ProviderDefinition = testProvider(),
): Promise<MappedIdentity> {
  const links: ChainLink[] = [{ mapper: defaultMapping, options: {}, label: defaultMapping.name }]
  mappers.forEach(([mapper, options = {}], i) => {
    links.push({ mapper, options: checkOptions(mapper, options), label: `${mapper.name}#${i + 1}` })
  })
  const all = sampleClaims(claims)
  return runChain(links, { claims: all, idTokenClaims: all, userinfo: undefined, provider })
}

/** Runs one flow step on sample claims and the identity the default mapping gives them. */
export async function runFlowStep(
  step: FlowStep,
  options: Record<string, unknown>,
  claims: Record<string, unknown>,
  context: { user?: StoredUser; provider?: ProviderDefinition } = {},
): Promise<FlowDecision> {
  const resolved = checkOptions(step, options)
  const provider = context.provider ?? testProvider()
  const identity = await runMappers([], claims, provider)
  const all = sampleClaims(claims)
  return step.run(
    {
      claims: all,
      idTokenClaims: all,
      userinfo: undefined,
      provider,
      identity,
      user: context.user,
      firstLogin: !context.user,
    },
    resolved,
  )
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const inner of Object.values(value)) deepFreeze(inner)
    Object.freeze(value)
  }
  return value
}

/**
 * The contract every claim mapper passes (the built-ins run it too): a name,
 * options its schema accepts, no mutation of what it is given, the fields it
 * does not own kept, the same answer twice, and only clear refusals
 * (`OtpkiError`) on claims it needs but does not find.
 */
export function claimMapperContract(
  mapper: ClaimMapper,
  sample: { options?: Record<string, unknown>; claims: Record<string, unknown> },
): void {
  const options = sample.options ?? {}
  describe(`claim mapper contract: ${mapper.name}`, () => {
    it('has a name usable as a type in mappers: [...]', () => {
      expect(mapper.name).toMatch(/^[a-z][a-z0-9-]*$/)
    })
    it('accepts the sample options', () => {
      expect(() => checkOptions(mapper, options)).not.toThrow()
    })
    it('does not change the claims or the identity it is given, and keeps the fields it does not set', async () => {
      const provider = testProvider()
      const claims = deepFreeze(sampleClaims(sample.claims))
      const before = deepFreeze({
        issuer: TEST_ISSUER,
        subject: 'user-1',
        username: 'user1',
        attributes: { kept: 'yes' },
      })
      const after = await mapper.map(
        { claims, idTokenClaims: claims, userinfo: undefined, provider },
        before,
        checkOptions(mapper, options),
      )
      expect(after).toBeTypeOf('object')
      expect(after.issuer).toBe(TEST_ISSUER)
      expect(after.subject).toBe('user-1')
      expect(after.attributes?.kept).toBe('yes')
    })
    it('gets its declared option defaults when the options leave them out', async () => {
      const defaults = Object.entries(mapper.optionsSchema ?? {}).filter(([, f]) => f.default !== undefined)
      const resolved = checkOptions(mapper, options)
      for (const [key, f] of defaults) expect(resolved[key], key).toEqual(key in options ? options[key] : f.default)
      // And it runs on them: a missing optional option is never a TypeError.
      await runMappers([[mapper, options]], sample.claims)
    })
    it('gives the same answer twice', async () => {
      expect(await runMappers([[mapper, options]], sample.claims)).toEqual(
        await runMappers([[mapper, options]], sample.claims),
      )
    })
    it('on claims without what it reads, passes the identity on or refuses clearly', async () => {
      try {
        const identity = await runMappers([[mapper, options]], {})
        expect(identity.subject).toBe('user-1')
      } catch (error) {
        expect(isOtpkiError(error), String(error)).toBe(true)
      }
    })
  })
}

export {
  authMethodContract,
  flowStepContract,
  requestAuthenticatorContract,
  testRequest,
  userSyncContract,
} from './contracts.ts'
export { testServices, type TestServices } from './services.ts'
